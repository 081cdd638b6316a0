import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importSigningKey, jwks, loadOrCreateSigningKey, SIGNING_KEY_FILE } from './keys.ts';

const run = promisify(execFile);
let root: string;
let n = 0;
const freshDir = () => path.join(root, `d${++n}`);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-keys-'));
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

const rsaPem = (bits = 2048, type: 'pkcs8' | 'pkcs1' = 'pkcs8') =>
  crypto.generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type, format: 'pem' }).toString();

describe('loadOrCreateSigningKey', () => {
  it('creates a 0600 private JWK whose kid is its thumbprint, then loads the same key', async () => {
    const dir = freshDir();
    const created = await loadOrCreateSigningKey(dir);
    expect(created.source).toBe('generated');
    const file = path.join(dir, SIGNING_KEY_FILE);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(stored).toMatchObject({ kty: 'RSA', kid: created.kid, alg: 'RS256', use: 'sig' });
    expect(typeof stored.d).toBe('string');
    expect(created.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: stored.n, e: stored.e }));

    const loaded = await loadOrCreateSigningKey(dir);
    expect(loaded.source).toBe('file');
    expect(loaded.kid).toBe(created.kid);
    expect(await fs.readdir(dir)).toEqual([SIGNING_KEY_FILE]);
  });

  it('ends with one key when many start at once in one process', async () => {
    const dir = freshDir();
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dir)));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(keys.filter((key) => key.source === 'generated')).toHaveLength(1);
    expect(await fs.readdir(dir)).toEqual([SIGNING_KEY_FILE]); // no temp files left
  });

  it('ends with one key when several processes start at once', async () => {
    const dir = freshDir();
    const moduleUrl = new URL('./keys.ts', import.meta.url).href;
    const script = `const { loadOrCreateSigningKey } = await import(${JSON.stringify(moduleUrl)});
      process.stdout.write((await loadOrCreateSigningKey(${JSON.stringify(dir)})).kid);`;
    const outputs = await Promise.all(
      Array.from({ length: 4 }, () => run(process.execPath, ['--input-type=module', '-e', script])),
    );
    const kids = new Set(outputs.map((output) => output.stdout));
    expect(kids.size).toBe(1);
    expect((await loadOrCreateSigningKey(dir)).kid).toBe([...kids][0]);
    expect(await fs.readdir(dir)).toEqual([SIGNING_KEY_FILE]);
  });

  it('tightens a key file readable by others to 0600', async () => {
    const dir = freshDir();
    await loadOrCreateSigningKey(dir);
    const file = path.join(dir, SIGNING_KEY_FILE);
    await fs.chmod(file, 0o644);
    await loadOrCreateSigningKey(dir);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a corrupt key file without quoting it', async () => {
    const dir = freshDir();
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, SIGNING_KEY_FILE), '{"kty":"RSA","d":"SECRET-MATERIAL"', { mode: 0o600 });
    const error = await loadOrCreateSigningKey(dir).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).not.toContain('SECRET-MATERIAL');
  });

  it('uses a provided key and leaves the directory alone', async () => {
    const dir = freshDir();
    const pem = rsaPem();
    const key = await loadOrCreateSigningKey(dir, pem);
    expect(key.source).toBe('provided');
    expect(key.kid).toBe((await importSigningKey(pem)).kid);
    await expect(fs.stat(dir)).rejects.toThrow();
    // An empty value (unset in a compose file) falls back to the file.
    expect((await loadOrCreateSigningKey(dir, '  ')).source).toBe('generated');
  });
});

describe('importSigningKey', () => {
  it('accepts PKCS#8 PEM, PKCS#1 PEM, a JWK, and PEM with literal \\n, all to one kid', async () => {
    const privateKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const forms = [
      pkcs8,
      privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      JSON.stringify(privateKey.export({ format: 'jwk' })),
      pkcs8.trim().replaceAll('\n', '\\n'),
    ];
    const kids = await Promise.all(forms.map(async (form) => (await importSigningKey(form)).kid));
    expect(new Set(kids).size).toBe(1);
  });

  it('refuses a public key, an EC key, a 1024-bit key and garbage, without quoting them', async () => {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const bad = [
      rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      JSON.stringify(rsa.publicKey.export({ format: 'jwk' })),
      ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      rsaPem(1024),
      'not a key SECRET-MATERIAL',
      '{"kty":"RSA", SECRET-MATERIAL',
    ];
    for (const material of bad) {
      const error = await importSigningKey(material).then(
        () => new Error('accepted'),
        (caught: unknown) => caught as Error,
      );
      expect(error.message).not.toBe('accepted');
      expect(error.message).toMatch(/^JWT signing key: /);
      expect(error.message).not.toContain('SECRET-MATERIAL');
    }
  });
});

describe('jwks', () => {
  it('publishes the public half only, with kid, alg RS256 and use sig', async () => {
    const key = await importSigningKey(rsaPem());
    const document = key.jwks();
    expect(document).toEqual(jwks(key));
    expect(document.keys).toHaveLength(1);
    const [published] = document.keys;
    expect(published).toEqual({ kty: 'RSA', n: expect.any(String), e: 'AQAB', kid: key.kid, alg: 'RS256', use: 'sig' });
    expect(Object.keys(published ?? {}).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('lists several keys for a rollover', async () => {
    const [a, b] = await Promise.all([importSigningKey(rsaPem()), importSigningKey(rsaPem())]);
    expect(jwks(a, b).keys.map((key) => key.kid)).toEqual([a.kid, b.kid]);
  });
});
