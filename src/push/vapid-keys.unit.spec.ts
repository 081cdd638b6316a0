import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { loadOrCreateVapidKeys, VAPID_KEY_FILE, vapidKeyWarning } from './vapid-keys.ts';

describe('the VAPID keys', () => {
  it('takes a configured private key and derives its public key, as web-push made them', async () => {
    const made = webpush.generateVAPIDKeys();
    expect(await loadOrCreateVapidKeys('/nonexistent', made.privateKey)).toEqual(made);
  });

  it('refuses a configured key that is not one, without quoting it', async () => {
    await expect(loadOrCreateVapidKeys('/nonexistent', 'c2VjcmV0')).rejects.toThrow(/^VAPID private key: not a 32-byte/);
    await expect(loadOrCreateVapidKeys('/nonexistent', 'c2VjcmV0')).rejects.not.toThrow(/c2VjcmV0/);
  });

  it('without one, generates a pair once in the data dir and keeps it (private to the owner)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-vapid-'));
    const first = await loadOrCreateVapidKeys(dir);
    const again = await loadOrCreateVapidKeys(dir);
    expect(again).toEqual(first);
    expect(Buffer.from(first.publicKey, 'base64url')).toHaveLength(65);
    expect(((await fs.stat(path.join(dir, VAPID_KEY_FILE))).mode & 0o077) === 0).toBe(true);
    // The pair signs and verifies: web-push accepts it.
    const headers = webpush.getVapidHeaders(
      'https://fcm.googleapis.com',
      'mailto:ops@example.com',
      first.publicKey,
      first.privateKey,
      'aes128gcm',
    );
    expect(headers.Authorization).toMatch(/^vapid t=.+, k=/);
    const ecdh = crypto.createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(first.privateKey, 'base64url'));
    expect(ecdh.getPublicKey('base64url')).toBe(first.publicKey);
    await fs.rm(dir, { recursive: true });
  });

  it('warns a distributed instance that has no shared key, and nobody else', () => {
    expect(vapidKeyWarning({ KAFKA_BROKERS: 'kafka:9092' })).toMatch(/PARLEY_VAPID_PRIVATE_KEY is not set/);
    expect(vapidKeyWarning({ KAFKA_BROKERS: 'kafka:9092', PARLEY_VAPID_PRIVATE_KEY: '  ' })).toMatch(/not set/);
    expect(vapidKeyWarning({ KAFKA_BROKERS: 'kafka:9092', PARLEY_VAPID_PRIVATE_KEY: 'abc' })).toBeUndefined();
    expect(vapidKeyWarning({})).toBeUndefined(); // embedded: one process, one data dir
  });
});
