// Uploads end to end against a real Parley process on the local storage adapter
// (API.md "Uploads"; reliability plan J1–J4, J7, J8): sign → send the bytes to
// the returned URL → the upload is ready → the file is served; refused uploads;
// the notification webhook refusing tampered, unsigned and stale calls and
// taking a replay as a no-op; signing outside my rooms; the signing rate limit.
//
// The webhook tests play the storage provider: they sign notifications with the
// local adapter's key, read from the process's data dir as an operator could.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRoom } from '../support/chat.ts';
import { registerUser, request, type TestUser } from '../support/client.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { ErrorBody, JsonObject } from '../support/wire.ts';

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), crypto.randomBytes(200)]);

interface Signed {
  provider: string;
  upload_url: string;
  fields: Record<string, string>;
  upload_id: string;
  expires_at: number;
}

let parley: ParleyProcess;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;
let roomId: string;

beforeAll(async () => {
  parley = await startParley({ env: { PARLEY_REGISTER_MAX_PER_IP: '10000' } });
  return () => parley.stop();
});
beforeAll(async () => {
  [alice, bob, carol] = [
    await registerUser(parley.url, 'alice'),
    await registerUser(parley.url, 'bob'),
    await registerUser(parley.url, 'carol'),
  ];
  roomId = await createRoom(parley.url, alice, [bob], 'uploads');
});

// ── helpers ───────────────────────────────────────────────────────────────

const sign = <T = JsonObject>(baseUrl: string, user: TestUser, body: Record<string, unknown>) =>
  request<T>(baseUrl, 'POST', '/api/v1/uploads/sign', { token: user.token, body });

async function signPng(user = alice, room = roomId, baseUrl = parley.url): Promise<Signed> {
  const response = await sign<Signed>(baseUrl, user, {
    purpose: 'attachment',
    room_id: room,
    mime_type: 'image/png',
    bytes: PNG.length,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** Sends the bytes as a client does: to upload_url, the fields as query parameters. */
async function upload(signed: Signed, file: Buffer, contentType: string | undefined, fields = signed.fields) {
  const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
  const response = await fetch(`${signed.upload_url}?${new URLSearchParams(fields).toString()}`, {
    method: 'POST',
    headers,
    body: file,
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const status = async (user: TestUser, uploadId: string) =>
  (await request(parley.url, 'GET', `/api/v1/uploads/${uploadId}`, { token: user.token })).body;

const uploadKey = () => Buffer.from(fs.readFileSync(path.join(parley.dataDir, 'upload-signing-key'), 'utf8').trim(), 'hex');

/** Signs a notification as the local storage does. */
function signNotification(raw: Buffer, timestampS = Math.floor(Date.now() / 1000), key = uploadKey()) {
  const signature = crypto.createHmac('sha256', key).update(`parley-notify-v1\n${timestampS}\n`).update(raw).digest('hex');
  return { 'x-parley-timestamp': String(timestampS), 'x-parley-signature': signature };
}

const uploadNotification = (user: TestUser, uploadId: string) =>
  Buffer.from(
    JSON.stringify({
      notification_type: 'upload',
      public_id: `parley/${user.id}/attachment/${uploadId}`,
      asset_id: `asset-${uploadId}`,
      version: Math.floor(Date.now() / 1000),
      bytes: PNG.length,
      format: 'png',
      resource_type: 'image',
      secure_url: `${parley.url}/uploads/${user.id}/attachment/${uploadId}.png`,
    }),
  );

const notify = <T = JsonObject>(raw: Buffer, headers: Record<string, string>) =>
  request<T>(parley.url, 'POST', '/api/v1/uploads/notify', {
    rawBody: raw.toString('utf8'),
    headers: { 'content-type': 'application/json', ...headers },
  });

// ── the flow ──────────────────────────────────────────────────────────────

describe('a direct upload', () => {
  it('sign → upload the bytes → ready → fetched by a room member (J1)', async () => {
    const signed = await signPng();
    expect(signed.provider).toBe('local');
    expect(signed.upload_url).toBe(`${parley.url}/api/v1/uploads/local/${signed.upload_id}`);
    expect(await status(alice, signed.upload_id)).toMatchObject({ status: 'pending', url: null });

    const uploaded = await upload(signed, PNG, 'image/png');
    expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
    const url = `${parley.url}/uploads/${alice.id}/attachment/${signed.upload_id}.png`;
    expect(uploaded.body).toEqual({
      upload_id: signed.upload_id,
      status: 'ready',
      url,
      mime_type: 'image/png',
      bytes: PNG.length,
    });
    expect(await status(alice, signed.upload_id)).toMatchObject({ status: 'ready', url, room_id: roomId, bytes: PNG.length });

    const file = await fetch(url);
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(PNG)).toBe(true);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('a text file is served as a download, never inline', async () => {
    const text = Buffer.from('<script>alert(1)</script>\n');
    const response = await sign<Signed>(parley.url, alice, {
      purpose: 'attachment',
      room_id: roomId,
      mime_type: 'text/plain',
      bytes: text.length,
    });
    const uploaded = await upload(response.body, text, 'text/plain; charset=utf-8');
    expect(uploaded.status).toBe(201);
    const file = await fetch(uploaded.body.url);
    expect(file.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });

  it('only its owner sees its status', async () => {
    const signed = await signPng();
    expect((await request(parley.url, 'GET', `/api/v1/uploads/${signed.upload_id}`, { token: bob.token })).status).toBe(404);
  });
});

describe('an avatar', () => {
  it('asked for at signing becomes my avatar_url once ready, as a square of PARLEY_AVATAR_SIZE_PX without metadata', async () => {
    const photo = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#3a6ea5' } })
      .jpeg()
      .withExif({ IFD0: { ImageDescription: 'where it was taken' } })
      .toBuffer();
    const signed = await sign<Signed>(parley.url, carol, {
      purpose: 'avatar',
      mime_type: 'image/jpeg',
      bytes: photo.length,
      set_avatar: true,
    });
    expect(signed.status).toBe(200);
    const uploaded = await upload(signed.body, photo, 'image/jpeg');
    expect(uploaded.status).toBe(201);
    const url = (uploaded.body as { url: string }).url;

    const me = await request(parley.url, 'GET', '/api/v1/users/me', { token: carol.token });
    expect(me.body.avatar_url).toBe(url);
    // Others see it too.
    const seen = await request(parley.url, 'GET', `/api/v1/users/${carol.id}`, { token: alice.token });
    expect(seen.body.avatar_url).toBe(url);
    const file = await sharp(Buffer.from(await (await fetch(url)).arrayBuffer())).metadata();
    expect({ width: file.width, height: file.height, format: file.format, exif: file.exif }).toEqual({
      width: 256,
      height: 256,
      format: 'jpeg',
      exif: undefined,
    });
  });
});

describe('an upload is refused, and stays pending, when', () => {
  const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
  it.each([
    ['its type is not the signed one', 415, (s: Signed) => upload(s, PNG, 'image/jpeg')],
    ['it is larger than signed', 413, (s: Signed) => upload(s, Buffer.concat([PNG, Buffer.from('!')]), 'image/png')],
    ['its bytes are not the signed type', 415, (s: Signed) => upload(s, Buffer.alloc(PNG.length, 0x41), 'image/png')],
    ['it is unsigned', 403, (s: Signed) => upload(s, PNG, 'image/png', {})],
    [
      'a signed field was tampered with',
      403,
      (s: Signed) => upload(s, PNG, 'image/png', { ...s.fields, bytes: String(10 * PNG.length) }),
    ],
    [
      'the signature was tampered with',
      403,
      (s: Signed) => upload(s, PNG, 'image/png', { ...s.fields, signature: flip(s.fields.signature!) }),
    ],
  ])('%s → %i', async (_name, expected, attempt) => {
    const signed = await signPng();
    const response = await attempt(signed);
    expect(response.status, JSON.stringify(response.body)).toBe(expected);
    expect((await status(alice, signed.upload_id)).status).toBe('pending');
  });

  it('the signature is used again after a successful upload → 409', async () => {
    const signed = await signPng();
    expect((await upload(signed, PNG, 'image/png')).status).toBe(201);
    expect((await upload(signed, PNG, 'image/png')).status).toBe(409);
  });
});

describe('signing', () => {
  it('for a room I am not in → 404 room_not_found', async () => {
    const response = await sign<ErrorBody>(parley.url, carol, {
      purpose: 'attachment',
      room_id: roomId,
      mime_type: 'image/png',
      bytes: 10,
    });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('room_not_found');
  });

  it('client-chosen storage parameters are refused (J4)', async () => {
    const response = await sign<ErrorBody>(parley.url, alice, {
      purpose: 'avatar',
      mime_type: 'image/png',
      bytes: 10,
      folder: `parley/${bob.id}/avatar`,
    });
    expect(response.status).toBe(400);
    expect(response.body.error.details).toContainEqual({ path: 'folder', message: 'unknown field' });
  });

  it('SVG is not an upload type', async () => {
    const response = await sign(parley.url, alice, { purpose: 'avatar', mime_type: 'image/svg+xml', bytes: 10 });
    expect(response.status).toBe(400);
  });
});

describe('the notification webhook', () => {
  const tamperOneByte = (raw: Buffer) => {
    const tampered = Buffer.from(raw);
    const at = raw.indexOf('"bytes":') + 8;
    tampered[at] = tampered[at] === 0x39 ? 0x38 : 0x39; // another digit: still JSON, one byte off
    return tampered;
  };

  it.each([
    ['a body changed by one byte', (raw: Buffer) => [tamperOneByte(raw), signNotification(raw)] as const],
    [
      'a signature made with the wrong secret',
      (raw: Buffer) => [raw, signNotification(raw, undefined, crypto.randomBytes(32))] as const,
    ],
    ['no signature headers', (raw: Buffer) => [raw, {}] as const],
    ['only a timestamp', (raw: Buffer) => [raw, { 'x-parley-timestamp': String(Math.floor(Date.now() / 1000)) }] as const],
    [
      'a stale timestamp (11 minutes old)',
      (raw: Buffer) => [raw, signNotification(raw, Math.floor(Date.now() / 1000) - 660)] as const,
    ],
  ])('refuses %s → 401, and the upload stays pending (J2, J3)', async (_name, make) => {
    const signed = await signPng();
    const [raw, headers] = make(uploadNotification(alice, signed.upload_id));
    const response = await notify<ErrorBody>(raw, headers);
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('invalid_signature');
    expect((await status(alice, signed.upload_id)).status).toBe('pending');
  });

  it('a valid notification makes the upload ready; a replay is 200 and changes nothing (J1, J3)', async () => {
    const signed = await signPng();
    const raw = uploadNotification(alice, signed.upload_id);
    const headers = signNotification(raw);
    const first = await notify(raw, headers);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'processed' });
    const ready = await status(alice, signed.upload_id);
    expect(ready.status).toBe('ready');

    const replay = await notify(raw, headers);
    expect(replay.status).toBe(200);
    expect(replay.body).toEqual({ status: 'duplicate' });
    expect(await status(alice, signed.upload_id)).toEqual(ready);
  });
});

describe('with tight limits', () => {
  let tight: ParleyProcess;
  let dave: TestUser;
  let daveRoom: string;
  beforeAll(async () => {
    tight = await startParley({
      env: { PARLEY_UPLOAD_TTL_S: '1', PARLEY_UPLOAD_SIGN_MAX: '3', PARLEY_UPLOAD_SIGN_WINDOW_S: '60' },
    });
    return () => tight.stop();
  });
  beforeAll(async () => {
    dave = await registerUser(tight.url, 'dave');
    daveRoom = await createRoom(tight.url, dave, [], 'mine');
  });

  it('an expired upload URL is refused (403 upload_expired); signing is limited per user (429, J8)', async () => {
    const signed = await signPng(dave, daveRoom, tight.url);
    await new Promise((resolve) => setTimeout(resolve, signed.expires_at - Date.now() + 50));
    const late = await upload(signed, PNG, 'image/png');
    expect(late.status).toBe(403);
    expect(late.body.error.code).toBe('upload_expired');

    // One signature used above; two more fit in the window, the next is refused.
    for (let i = 0; i < 2; i++) await signPng(dave, daveRoom, tight.url);
    const limited = await sign<ErrorBody>(tight.url, dave, {
      purpose: 'attachment',
      room_id: daveRoom,
      mime_type: 'image/png',
      bytes: 10,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('with CLOUDINARY_URL set', () => {
  // Cloudinary itself is never reached: the test signs its notification as Cloudinary documents.
  const secret = 'e2e_Secret-value_123';
  let cloud: ParleyProcess;
  let erin: TestUser;
  beforeAll(async () => {
    cloud = await startParley({
      env: { CLOUDINARY_URL: `cloudinary://1234567890:${secret}@parley-e2e`, PARLEY_PUBLIC_URL: 'https://chat.example.com' },
    });
    return () => cloud.stop();
  });
  beforeAll(async () => {
    erin = await registerUser(cloud.url, 'erin');
  });

  it('signs Cloudinary direct uploads and verifies X-Cld-Signature notifications; the avatar asked for at signing is set', async () => {
    const signed = await sign<Signed>(cloud.url, erin, {
      purpose: 'avatar',
      mime_type: 'image/jpeg',
      bytes: 1000,
      set_avatar: true,
    });
    expect(signed.status).toBe(200);
    expect(signed.body.provider).toBe('cloudinary');
    expect(signed.body.upload_url).toBe('https://api.cloudinary.com/v1_1/parley-e2e/image/upload');
    const publicId = `parley/${erin.id}/avatar/${signed.body.upload_id}`;
    expect(signed.body.fields).toMatchObject({
      public_id: publicId,
      notification_url: 'https://chat.example.com/api/v1/uploads/notify',
      allowed_formats: 'jpg',
    });
    expect(JSON.stringify(signed.body)).not.toContain(secret);

    const secureUrl = `https://res.cloudinary.com/parley-e2e/image/upload/v1/${publicId}.jpg`;
    const raw = JSON.stringify({
      notification_type: 'upload',
      public_id: publicId,
      asset_id: 'a1',
      version: 1,
      bytes: 900,
      format: 'jpg',
      secure_url: secureUrl,
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = crypto
      .createHash('sha1')
      .update(raw + timestamp + secret)
      .digest('hex');
    const cldNotify = (body: string, headers: Record<string, string>) =>
      request(cloud.url, 'POST', '/api/v1/uploads/notify', {
        rawBody: body,
        headers: { 'content-type': 'application/json', ...headers },
      });

    expect(
      (await cldNotify(raw.replace('"bytes":900', '"bytes":901'), { 'x-cld-timestamp': timestamp, 'x-cld-signature': signature }))
        .status,
    ).toBe(401);
    const ok = await cldNotify(raw, { 'x-cld-timestamp': timestamp, 'x-cld-signature': signature });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ status: 'processed' });
    // An avatar is delivered as a square rendition, not as the stored original.
    const avatarUrl = `https://res.cloudinary.com/parley-e2e/image/upload/c_fill,g_auto,h_256,w_256/f_auto,q_auto/v1/${publicId}.jpg`;
    const upload = await request(cloud.url, 'GET', `/api/v1/uploads/${signed.body.upload_id}`, { token: erin.token });
    expect(upload.body).toMatchObject({ status: 'ready', url: avatarUrl, bytes: 900, set_avatar: true });
    const me = await request(cloud.url, 'GET', '/api/v1/users/me', { token: erin.token });
    expect(me.body.avatar_url).toBe(avatarUrl);
    expect(JSON.stringify(cloud.logs)).not.toContain(secret);
  });
});

it('the upload key never appears in the process’s logs (J7)', () => {
  const key = uploadKey().toString('hex');
  expect(JSON.stringify(parley.logs)).not.toContain(key);
});
