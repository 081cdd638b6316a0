// The RS256 key that signs access tokens. One instance generates it on first
// start and keeps it in the data dir; several instances share one key passed in
// through PARLEY_JWT_PRIVATE_KEY (PEM or JWK). Verifiers only ever use this
// local key: nothing a token's header says (kid, jwk, jku, x5u) selects a key.

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';
import { createFileOnce } from '../infra/durable-files.ts';

export const SIGNING_KEY_FILE = 'jwt-signing-key.json';
/** RFC 7518 §3.3 floor; generated keys use exactly this. */
export const MIN_RSA_BITS = 2048;

export interface PublicJwk {
  kty: 'RSA';
  n: string;
  e: string;
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

export interface Jwks {
  keys: PublicJwk[];
}

export interface SigningKey {
  /** RFC 7638 SHA-256 thumbprint of the public key: the same on every instance. */
  kid: string;
  alg: 'RS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: PublicJwk;
  /** Where the key came from, for a start-up log line (never log the key). */
  source: 'provided' | 'file' | 'generated';
  /** The JWKS document served at /.well-known/jwks.json. */
  jwks(): Jwks;
}

/** The JWKS document for one or more keys (several during a key rollover). */
export const jwks = (...keys: SigningKey[]): Jwks => ({ keys: keys.map((key) => ({ ...key.publicJwk })) });

class KeyMaterialError extends Error {
  override name = 'KeyMaterialError';
}

/**
 * Imports an RSA private key given as PEM (PKCS#8 or PKCS#1) or as a JWK JSON
 * string. Error messages never quote the material.
 */
export async function importSigningKey(material: string): Promise<SigningKey> {
  return fromKeyObject(parsePrivateKey(material), 'provided');
}

/**
 * The signing key: `provided` (PARLEY_JWT_PRIVATE_KEY) when given, else the
 * key in `<dir>/jwt-signing-key.json`, created on first start — atomically and
 * never replacing one (`createFileOnce`), so processes starting at once all end
 * with the one key in the file.
 */
export async function loadOrCreateSigningKey(dir: string, provided?: string): Promise<SigningKey> {
  if (provided !== undefined && provided.trim() !== '') return importSigningKey(provided);

  const file = path.join(dir, SIGNING_KEY_FILE);
  const existing = await readKeyFile(file);
  if (existing) return existing;

  const generated = await generatePrivateJwk();
  const created = await createFileOnce(file, `${JSON.stringify(generated, null, 2)}\n`);
  const stored = await readKeyFile(file);
  if (!stored) throw new Error(`${file} vanished right after it was created`);
  return created ? { ...stored, source: 'generated' } : stored;
}

async function readKeyFile(file: string): Promise<SigningKey | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  // A private key readable by group or others is tightened, not trusted less:
  // it may have been copied in by hand.
  const { mode } = await fs.stat(file);
  if ((mode & 0o077) !== 0) await fs.chmod(file, 0o600).catch(() => undefined);
  try {
    return await fromKeyObject(parsePrivateKey(text), 'file');
  } catch (error) {
    if (error instanceof KeyMaterialError) throw new Error(`${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

function parsePrivateKey(material: string): crypto.KeyObject {
  let text = material.trim();
  try {
    if (text.startsWith('{')) {
      // JSON.parse's error quotes the input: do not let it reach a log.
      let jwk: crypto.JsonWebKey;
      try {
        jwk = JSON.parse(text) as crypto.JsonWebKey;
      } catch {
        throw new KeyMaterialError('JWT signing key: not valid JSON');
      }
      return crypto.createPrivateKey({ key: jwk, format: 'jwk' });
    }
    // PEM in an environment variable often arrives with literal "\n".
    if (!text.includes('\n') && text.includes('\\n')) text = text.replaceAll('\\n', '\n');
    return crypto.createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    if (error instanceof KeyMaterialError) throw error;
    throw new KeyMaterialError('JWT signing key: not an RSA private key in PEM or JWK form');
  }
}

async function fromKeyObject(key: crypto.KeyObject, source: SigningKey['source']): Promise<SigningKey> {
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new KeyMaterialError('JWT signing key: must be an RSA private key (RS256)');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) throw new KeyMaterialError(`JWT signing key: RSA key must be at least ${MIN_RSA_BITS} bits`);

  const exported = key.export({ format: 'jwk' });
  if (typeof exported.n !== 'string' || typeof exported.e !== 'string') {
    throw new KeyMaterialError('JWT signing key: RSA key without modulus or exponent');
  }
  const publicParts = { kty: 'RSA' as const, n: exported.n, e: exported.e };
  const kid = await calculateJwkThumbprint(publicParts, 'sha256');
  const privateKey = await importJWK({ ...(exported as JWK), alg: 'RS256' }, 'RS256', { extractable: false });
  const publicKey = await importJWK({ ...publicParts, alg: 'RS256' }, 'RS256', { extractable: true });
  if (!isCryptoKey(privateKey) || !isCryptoKey(publicKey)) throw new KeyMaterialError('JWT signing key: import failed');
  const publicJwk: PublicJwk = { ...publicParts, kid, alg: 'RS256', use: 'sig' };
  const signingKey: SigningKey = {
    kid,
    alg: 'RS256',
    privateKey,
    publicKey,
    publicJwk,
    source,
    jwks: () => jwks(signingKey),
  };
  return signingKey;
}

const isCryptoKey = (value: unknown): value is CryptoKey => !(value instanceof Uint8Array);

const generateRsa = promisify(crypto.generateKeyPair);

async function generatePrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateRsa('rsa', { modulusLength: MIN_RSA_BITS, publicExponent: 0x10001 });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n ?? '', e: jwk.e ?? '' }, 'sha256');
  return { ...(jwk as JWK), kid, alg: 'RS256', use: 'sig' };
}
