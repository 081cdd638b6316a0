// The VAPID key pair (RFC 8292) that signs this server's pushes: clients pass
// its public key to `pushManager.subscribe`, and push services accept pushes to
// those subscriptions only when signed by its private key — so every instance
// must use the same pair, and it must not change (every subscription would
// stop working). Only the private key is kept; the public key follows from it.

import crypto from 'node:crypto';
import path from 'node:path';
import { loadOrCreateSecret } from '../infra/durable-files.ts';

export const VAPID_KEY_FILE = 'vapid-private-key';

export interface VapidKeys {
  /** base64url of the uncompressed P-256 point (65 bytes): what clients subscribe with. */
  publicKey: string;
  /** base64url of the 32-byte private scalar. Never logged. */
  privateKey: string;
}

/** The key pair of a private key (32 bytes); throws on anything that is not one, never quoting it. */
export function vapidKeysOf(privateKey: Buffer): VapidKeys {
  const ecdh = crypto.createECDH('prime256v1');
  try {
    if (privateKey.length !== 32) throw new Error('length');
    ecdh.setPrivateKey(privateKey);
  } catch {
    throw new Error('VAPID private key: not a 32-byte P-256 private key in base64url');
  }
  return { publicKey: ecdh.getPublicKey().toString('base64url'), privateKey: privateKey.toString('base64url') };
}

/**
 * PARLEY_VAPID_PRIVATE_KEY when given, else the key in `<dir>/vapid-private-key`,
 * created once (atomically: instances starting together end with one key).
 */
export async function loadOrCreateVapidKeys(dir: string, provided?: string): Promise<VapidKeys> {
  if (provided !== undefined && provided.trim() !== '') return vapidKeysOf(Buffer.from(provided.trim(), 'base64url'));
  // 32 random bytes are a valid P-256 scalar but with odds of 2^-32 against.
  return vapidKeysOf(await loadOrCreateSecret(path.join(dir, VAPID_KEY_FILE)));
}

/**
 * What to warn of at start: a distributed instance (Kafka) without
 * PARLEY_VAPID_PRIVATE_KEY signs with a key of its own data dir, so a
 * subscription made through one instance fails when another pushes to it.
 */
export function vapidKeyWarning(config: { KAFKA_BROKERS?: string; PARLEY_VAPID_PRIVATE_KEY?: string }): string | undefined {
  const distributed = config.KAFKA_BROKERS !== undefined && config.KAFKA_BROKERS !== '';
  const shared = config.PARLEY_VAPID_PRIVATE_KEY !== undefined && config.PARLEY_VAPID_PRIVATE_KEY.trim() !== '';
  if (!distributed || shared) return undefined;
  return (
    'PARLEY_VAPID_PRIVATE_KEY is not set: this instance signs Web Push with a key from its own data dir. ' +
    'Give every instance the same key, or pushes to devices subscribed through another instance are refused'
  );
}
