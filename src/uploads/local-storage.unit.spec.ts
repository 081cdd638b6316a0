// The local adapter's key, upload signing and notification checks. Its HTTP
// routes (upload target, file serving) run in uploads.int.spec.ts and the e2e suite.

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LOCAL_SIGNATURE_HEADER,
  LOCAL_TIMESTAMP_HEADER,
  UPLOAD_KEY_FILE,
  createLocalStorage,
  type LocalStorage,
} from './local-storage.ts';
import { NotificationRejected, type SignRequest } from './storage.ts';

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const TTL_S = 900;
const MAX_AGE_S = 600;
const USER = '0195d0c4-7a1e-7b5e-9a1f-1c2d3e4f5a6b';
const UPLOAD = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';

let root: string;
let n = 0;
const freshDir = () => path.join(root, `d${++n}`);
const open = (dataDir: string, origin = 'http://127.0.0.1:4321') =>
  createLocalStorage({ dataDir, origin: () => origin, ttlS: TTL_S, notifyMaxAgeS: MAX_AGE_S, now: () => NOW });

const request = (over: Partial<SignRequest> = {}): SignRequest => ({
  uploadId: UPLOAD,
  userId: USER,
  purpose: 'attachment',
  mimeType: 'image/png',
  bytes: 1000,
  now: NOW,
  ...over,
});

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-local-storage-'));
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('the upload key', () => {
  it('is created once, 0600, and the same key signs after a restart', async () => {
    const dir = freshDir();
    const first = await open(dir);
    const file = path.join(dir, UPLOAD_KEY_FILE);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.readFile(file, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = await open(dir);
    expect(again.sign(request()).fields.signature).toBe(first.sign(request()).fields.signature);
  });

  it('processes starting at once end with one key', async () => {
    const dir = freshDir();
    const all = await Promise.all(Array.from({ length: 8 }, () => open(dir)));
    const signatures = new Set(all.map((storage) => storage.sign(request()).fields.signature));
    expect(signatures.size).toBe(1);
    expect((await fs.readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a file that is not a key stops the start instead of being replaced', async () => {
    const dir = freshDir();
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, UPLOAD_KEY_FILE), 'not a key\n');
    await expect(open(dir)).rejects.toThrow(/not a 32-byte hex key/);
  });
});

describe('signing an upload', () => {
  let storage: LocalStorage;
  beforeAll(async () => {
    storage = await open(freshDir());
  });

  it('points at this server and signs user, purpose, type, size and expiry', () => {
    const signed = storage.sign(request());
    expect(signed).toMatchObject({
      provider: 'local',
      upload_url: `http://127.0.0.1:4321/api/v1/uploads/local/${UPLOAD}`,
      upload_id: UPLOAD,
      expires_at: NOW + TTL_S * 1000,
    });
    expect(signed.fields).toEqual({
      user_id: USER,
      purpose: 'attachment',
      mime_type: 'image/png',
      bytes: '1000',
      expires_at: String(NOW + TTL_S * 1000),
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('points upload and file URLs at the origin it is given (PARLEY_PUBLIC_URL or the listening address)', async () => {
    const configured = await open(freshDir(), 'https://chat.example.com');
    expect(configured.sign(request()).upload_url).toBe(`https://chat.example.com/api/v1/uploads/local/${UPLOAD}`);
    expect(
      configured.publicUrl({ publicId: `parley/${USER}/avatar/${UPLOAD}`, format: 'png', resourceType: 'image', version: 1 }),
    ).toBe(`https://chat.example.com/uploads/${USER}/avatar/${UPLOAD}.png`);
  });

  it('every signed value changes the signature', () => {
    const base = storage.sign(request()).fields.signature;
    for (const over of [
      { uploadId: '00000000-0000-4000-8000-000000000000' },
      { userId: '00000000-0000-4000-8000-000000000001' },
      { purpose: 'avatar' as const },
      { mimeType: 'image/jpeg' as const },
      { bytes: 1001 },
      { now: NOW + 1 },
    ]) {
      expect(storage.sign(request(over)).fields.signature).not.toBe(base);
    }
  });
});

describe('verifying a notification', () => {
  let storage: LocalStorage;
  let storageDir: string;
  let other: LocalStorage;
  const body = Buffer.from(
    JSON.stringify({
      notification_type: 'upload',
      public_id: `parley/${USER}/attachment/${UPLOAD}`,
      asset_id: UPLOAD,
      version: NOW / 1000,
      bytes: 10,
      format: 'png',
      resource_type: 'image',
      secure_url: `http://127.0.0.1:4321/uploads/${USER}/attachment/${UPLOAD}.png`,
    }),
  );
  beforeAll(async () => {
    storageDir = freshDir();
    storage = await open(storageDir);
    other = await open(freshDir());
  });

  it('accepts its own signature and parses the body', () => {
    expect(storage.verifyNotification(body, storage.signNotification(body, NOW), NOW)).toMatchObject({
      type: 'upload',
      publicId: `parley/${USER}/attachment/${UPLOAD}`,
      assetId: UPLOAD,
      bytes: 10,
    });
  });

  it('is HMAC-SHA256 over a prefix, the timestamp and the raw body', async () => {
    const key = Buffer.from((await fs.readFile(path.join(storageDir, UPLOAD_KEY_FILE), 'utf8')).trim(), 'hex');
    const timestamp = String(NOW / 1000);
    const expected = crypto.createHmac('sha256', key).update(`parley-notify-v1\n${timestamp}\n`).update(body).digest('hex');
    expect(storage.signNotification(body, NOW)).toEqual({
      [LOCAL_TIMESTAMP_HEADER]: timestamp,
      [LOCAL_SIGNATURE_HEADER]: expected,
    });
  });

  const refusals: Array<[string, () => [Buffer | undefined, Record<string, string>, number?]]> = [
    [
      'a body changed by one byte',
      () => [Buffer.from(body.toString().replace('"bytes":10', '"bytes":11')), storage.signNotification(body, NOW)],
    ],
    ['a signature with another key', () => [body, other.signNotification(body, NOW)]],
    ['no signature', () => [body, { [LOCAL_TIMESTAMP_HEADER]: String(NOW / 1000) }]],
    ['no timestamp', () => [body, { [LOCAL_SIGNATURE_HEADER]: storage.signNotification(body, NOW)[LOCAL_SIGNATURE_HEADER]! }]],
    ['no body', () => [undefined, storage.signNotification(body, NOW)]],
    ['a stale notification', () => [body, storage.signNotification(body, NOW - (MAX_AGE_S + 1) * 1000)]],
    ['Cloudinary headers', () => [body, { 'x-cld-timestamp': String(NOW / 1000), 'x-cld-signature': 'ab'.repeat(20) }]],
  ];
  it.each(refusals)('refuses %s', (_name, make) => {
    const [raw, headers] = make();
    expect(() => storage.verifyNotification(raw, headers, NOW)).toThrow(NotificationRejected);
  });

  it('an upload signature never passes as a notification signature', () => {
    const { fields } = storage.sign(request());
    const headers = { [LOCAL_TIMESTAMP_HEADER]: String(NOW / 1000), [LOCAL_SIGNATURE_HEADER]: fields.signature! };
    expect(() => storage.verifyNotification(body, headers, NOW)).toThrow(NotificationRejected);
  });
});
