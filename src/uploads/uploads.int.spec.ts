// The upload flow through a real HTTP server with the local adapter, on every
// read-model engine: sign → upload the bytes → the signed notification makes the
// upload ready → the file is served; and every refusal the reliability plan
// asks for (J1–J4, J6, J8). The clock is the test's, so expiry and staleness
// are exact. test/e2e/uploads.e2e.spec.ts runs the same flow against a real
// Parley process.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely } from 'kysely';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../config.ts';
import { requireUser } from '../http/auth-middleware.ts';
import { startTestServer, type TestServer } from '../http/testing/harness.ts';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { localStorageRoutes } from './local-storage-routes.ts';
import { createLocalStorage, type LocalStorage } from './local-storage.ts';
import { createMemoryRateLimiter } from '../infra/rate-limiter.ts';
import { uploadRoutes } from './routes.ts';
import { confirmedUpload } from './uploads.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const ROOM = '33333333-3333-4333-8333-333333333333';
const BOBS_ROOM = '44444444-4444-4444-8444-444444444444';
const SIGN_MAX = 5;

const env = {
  PARLEY_UPLOAD_SIGN_MAX: String(SIGN_MAX),
  PARLEY_UPLOAD_AVATAR_MAX_BYTES: '100000',
  PARLEY_AVATAR_SIZE_PX: '64',
  PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES: '5000',
  PARLEY_UPLOAD_TTL_S: '60',
  LOG_LEVEL: 'silent',
};

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(92, 7)]);
/** The same hex string with its last digit changed. */
const flipLast = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith('0') ? '1' : '0'}`;
const PDF = Buffer.from('%PDF-1.4\n% a tiny pdf\n');

for (const engine of await testEngines('uploads')) {
  describe.runIf(engine.available)(`uploads on ${engine.name}`, () => {
    let store: Store | undefined;
    let db: Kysely<Database>;
    let dataDir: string;
    let storage: LocalStorage;
    let server: TestServer | undefined;
    let config: Config;
    let clock = T0;
    let base = '';
    /** What the flow asked the profile command to do (the command itself is test/e2e/uploads.e2e.spec.ts's). */
    const avatarsSet: { userId: string; url: string }[] = [];

    beforeAll(async () => {
      store = await engine.open();
      db = store.db;
      dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-uploads-'));
      config = loadConfig(env);
      const now = () => clock;
      storage = await createLocalStorage({
        dataDir,
        origin: () => base,
        ttlS: config.PARLEY_UPLOAD_TTL_S,
        notifyMaxAgeS: 600,
        now,
      });
      server = await startTestServer({
        env,
        routers: [],
        rawBodyRouters: uploadRoutes({
          config,
          db,
          storage,
          storageRoutes: (receive) => localStorageRoutes(storage, receive, { avatarSizePx: config.PARLEY_AVATAR_SIZE_PX }),
          setAvatar: (userId, url) => {
            avatarsSet.push({ userId, url });
            return Promise.resolve();
          },
          limiter: createMemoryRateLimiter(now),
          // The token is the user id: authentication is not under test here.
          requireUser: requireUser((token) => Promise.resolve({ userId: token, sessionId: null, rooms: null })),
          now,
        }),
      });
      base = server.base;
      await db
        .insertInto('room_members')
        .values([
          { room_id: ROOM, user_id: ALICE, role: 'owner', joined_at: T0, last_read_seq: 0 },
          { room_id: ROOM, user_id: BOB, role: 'member', joined_at: T0, last_read_seq: 0 },
          { room_id: BOBS_ROOM, user_id: BOB, role: 'owner', joined_at: T0, last_read_seq: 0 },
        ])
        .execute();
    });

    afterAll(async () => {
      await server?.close();
      await store?.close();
      await engine.dispose();
      await fs.rm(dataDir, { recursive: true, force: true });
    });

    beforeEach(() => {
      // A new window for the sign rate limit in every test.
      clock += 3600_000;
    });

    // ── helpers ─────────────────────────────────────────────────────────────

    const call = async (
      method: string,
      url: string,
      options: { user?: string; json?: unknown; body?: Buffer | string; headers?: Record<string, string> } = {},
    ) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.user !== undefined) headers.authorization = `Bearer ${options.user}`;
      let body: Buffer | string | undefined = options.body;
      if (options.json !== undefined) {
        body = JSON.stringify(options.json);
        headers['content-type'] = 'application/json';
      }
      const response = await fetch(url.startsWith('http') ? url : `${base}${url}`, { method, headers, body });
      const buffer = Buffer.from(await response.arrayBuffer());
      const type = response.headers.get('content-type') ?? '';
      return {
        status: response.status,
        headers: response.headers,
        raw: buffer,
        body: type.startsWith('application/json') && buffer.length > 0 ? JSON.parse(buffer.toString()) : undefined,
      };
    };

    const sign = (user: string, body: Record<string, unknown>) => call('POST', '/api/v1/uploads/sign', { user, json: body });

    async function signed(
      user = ALICE,
      body: Record<string, unknown> = { purpose: 'attachment', room_id: ROOM, mime_type: 'image/png', bytes: PNG.length },
    ) {
      const response = await sign(user, body);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body as {
        provider: string;
        upload_url: string;
        fields: Record<string, string>;
        upload_id: string;
        expires_at: number;
      };
    }

    const uploadUrl = (s: { upload_url: string; fields: Record<string, string> }, fields = s.fields) =>
      `${s.upload_url}?${new URLSearchParams(fields).toString()}`;

    const put = (s: { upload_url: string; fields: Record<string, string> }, file: Buffer, type: string, fields = s.fields) =>
      call('POST', uploadUrl(s, fields), { body: file, headers: { 'content-type': type } });

    const uploadOf = async (user: string, id: string) => (await call('GET', `/api/v1/uploads/${id}`, { user })).body;

    async function storedFiles(): Promise<string[]> {
      const dir = path.join(dataDir, 'uploads');
      const entries = await fs.readdir(dir, { recursive: true }).catch(() => [] as string[]);
      return entries.filter((entry) => /\.[a-z0-9]+$/.test(entry) && !entry.endsWith('.tmp'));
    }

    function notification(id: string, over: Record<string, unknown> = {}, user = ALICE) {
      return Buffer.from(
        JSON.stringify({
          notification_type: 'upload',
          public_id: `parley/${user}/attachment/${id}`,
          asset_id: `asset-${id}`,
          version: Math.floor(clock / 1000),
          bytes: PNG.length,
          format: 'png',
          resource_type: 'image',
          secure_url: `${base}/uploads/${user}/attachment/${id}.png`,
          ...over,
        }),
      );
    }

    const notify = (raw: Buffer, headers: Record<string, string>) =>
      call('POST', '/api/v1/uploads/notify', { body: raw, headers: { 'content-type': 'application/json', ...headers } });

    // ── the flow ────────────────────────────────────────────────────────────

    it('sign → upload → ready → served; the URL is a confirmed upload of its owner only (J1, J6)', async () => {
      const s = await signed();
      expect(s.provider).toBe('local');
      expect(s.upload_url).toBe(`${base}/api/v1/uploads/local/${s.upload_id}`);
      expect(await uploadOf(ALICE, s.upload_id)).toMatchObject({
        status: 'pending',
        url: null,
        purpose: 'attachment',
        room_id: ROOM,
      });

      const uploaded = await put(s, PNG, 'image/png');
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
      const url = `${base}/uploads/${ALICE}/attachment/${s.upload_id}.png`;
      expect(uploaded.body).toEqual({ upload_id: s.upload_id, status: 'ready', url, mime_type: 'image/png', bytes: PNG.length });
      expect(await uploadOf(ALICE, s.upload_id)).toMatchObject({ status: 'ready', url, bytes: PNG.length });

      const file = await call('GET', url);
      expect(file.status).toBe(200);
      expect(file.raw.equals(PNG)).toBe(true);
      expect(file.headers.get('content-type')).toBe('image/png');
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
      expect(file.headers.get('content-disposition')).toBeNull();

      expect(await confirmedUpload(db, ALICE, url)).toEqual({
        upload_id: s.upload_id,
        purpose: 'attachment',
        room_id: ROOM,
        mime_type: 'image/png',
        bytes: PNG.length,
        url,
      });
      expect(await confirmedUpload(db, BOB, url)).toBeUndefined();
      expect(await confirmedUpload(db, ALICE, `${url}x`)).toBeUndefined();
      // Only the URL as issued, byte for byte (MySQL compares case-insensitively).
      expect(await confirmedUpload(db, ALICE, url.toUpperCase())).toBeUndefined();
      expect(await confirmedUpload(db, ALICE, `${url} `)).toBeUndefined();
    });

    it('a non-image is served as a download', async () => {
      const s = await signed(ALICE, { purpose: 'attachment', room_id: ROOM, mime_type: 'application/pdf', bytes: 4000 });
      const uploaded = await put(s, PDF, 'application/pdf');
      expect(uploaded.status).toBe(201);
      expect(uploaded.body.bytes).toBe(PDF.length); // the stored size, not the signed limit
      const file = await call('GET', uploaded.body.url);
      expect(file.headers.get('content-disposition')).toBe(`attachment; filename="${s.upload_id}.pdf"`);
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('a pending upload is not a confirmed one', async () => {
      const s = await signed();
      expect(await confirmedUpload(db, ALICE, `${base}/uploads/${ALICE}/attachment/${s.upload_id}.png`)).toBeUndefined();
    });

    it('another user cannot see my upload', async () => {
      const s = await signed();
      expect((await call('GET', `/api/v1/uploads/${s.upload_id}`, { user: BOB })).status).toBe(404);
    });

    // ── uploads refused ─────────────────────────────────────────────────────

    describe('an upload is refused, and nothing is stored, when', () => {
      const cases: Array<
        [
          string,
          number,
          string,
          (s: Awaited<ReturnType<typeof signed>>) => Promise<{ status: number; body: { error: { code: string } } }>,
        ]
      > = [
        ['its Content-Type is not the signed one', 415, 'unsupported_media_type', (s) => put(s, PNG, 'image/jpeg')],
        ['it has no Content-Type', 415, 'unsupported_media_type', (s) => call('POST', uploadUrl(s), { body: PNG })],
        [
          'it is larger than signed (declared)',
          413,
          'payload_too_large',
          (s) => put(s, Buffer.concat([PNG, Buffer.from('x')]), 'image/png'),
        ],
        [
          'its content is not the signed type',
          415,
          'unsupported_media_type',
          (s) => put(s, Buffer.from('<html><script>alert(1)</script>'.padEnd(100)), 'image/png'),
        ],
        ['it is empty', 400, 'empty_upload', (s) => put(s, Buffer.alloc(0), 'image/png')],
        [
          'it carries no signature',
          403,
          'invalid_upload_signature',
          (s) => call('POST', s.upload_url, { body: PNG, headers: { 'content-type': 'image/png' } }),
        ],
        [
          'a signed field was changed (bytes)',
          403,
          'invalid_upload_signature',
          (s) => put(s, PNG, 'image/png', { ...s.fields, bytes: '999999' }),
        ],
        [
          'a signed field was changed (user)',
          403,
          'invalid_upload_signature',
          (s) => put(s, PNG, 'image/png', { ...s.fields, user_id: BOB }),
        ],
        [
          'the signature was changed',
          403,
          'invalid_upload_signature',
          (s) => put(s, PNG, 'image/png', { ...s.fields, signature: flipLast(s.fields.signature!) }),
        ],
        [
          'it is for another upload id',
          403,
          'invalid_upload_signature',
          (s) =>
            call('POST', `${base}/api/v1/uploads/local/${ALICE}?${new URLSearchParams(s.fields).toString()}`, {
              body: PNG,
              headers: { 'content-type': 'image/png' },
            }),
        ],
        [
          'the signature has expired',
          403,
          'upload_expired',
          (s) => {
            clock = s.expires_at;
            return put(s, PNG, 'image/png');
          },
        ],
      ];
      it.each(cases)('%s → %i %s', async (_name, status, code, attempt) => {
        const before = await storedFiles();
        const s = await signed();
        const response = await attempt(s);
        expect(response.status, JSON.stringify(response.body)).toBe(status);
        expect(response.body.error.code).toBe(code);
        expect(await storedFiles()).toEqual(before);
        expect((await uploadOf(ALICE, s.upload_id)).status).toBe('pending');
      });

      it('it is larger than signed, sent without a length (chunked)', async () => {
        const s = await signed();
        const chunks = new ReadableStream({
          start(controller) {
            controller.enqueue(PNG);
            controller.enqueue(Buffer.from('more'));
            controller.close();
          },
        });
        const response = await fetch(uploadUrl(s), {
          method: 'POST',
          body: chunks,
          headers: { 'content-type': 'image/png' },
          duplex: 'half',
        });
        expect(response.status).toBe(413);
        expect((await uploadOf(ALICE, s.upload_id)).status).toBe('pending');
      });

      it('the same signature is used a second time (409, the file is not replaced)', async () => {
        const s = await signed();
        expect((await put(s, PNG, 'image/png')).status).toBe(201);
        const other = Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(92, 9)]);
        const again = await put(s, other, 'image/png');
        expect(again.status).toBe(409);
        expect(again.body.error.code).toBe('upload_already_done');
        const file = await call('GET', `/uploads/${ALICE}/attachment/${s.upload_id}.png`);
        expect(file.raw.equals(PNG)).toBe(true);
      });
    });

    // ── avatars ─────────────────────────────────────────────────────────────

    /** A 640×480 photo as a phone takes it: with EXIF (here a note where it was taken). */
    const photo = () =>
      sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 200, g: 80, b: 40 } } })
        .jpeg({ quality: 60 })
        .withExif({ IFD0: { ImageDescription: 'taken at 52.52N 13.40E' } })
        .toBuffer();

    describe('avatars', () => {
      it('are kept as a square of PARLEY_AVATAR_SIZE_PX without their metadata; set_avatar makes one the avatar once ready', async () => {
        const original = await photo();
        expect((await sharp(original).metadata()).exif).toBeDefined();
        const s = await signed(ALICE, { purpose: 'avatar', mime_type: 'image/jpeg', bytes: original.length, set_avatar: true });
        expect(await uploadOf(ALICE, s.upload_id)).toMatchObject({ status: 'pending', set_avatar: true });
        expect(avatarsSet.filter((set) => set.userId === ALICE)).toEqual([]);

        const uploaded = await put(s, original, 'image/jpeg');
        expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
        const url = uploaded.body.url as string;
        const served = await call('GET', url);
        expect(served.status).toBe(200);
        const stored = await sharp(served.raw).metadata();
        expect({ format: stored.format, width: stored.width, height: stored.height, exif: stored.exif }).toEqual({
          format: 'jpeg',
          width: config.PARLEY_AVATAR_SIZE_PX,
          height: config.PARLEY_AVATAR_SIZE_PX,
          exif: undefined,
        });
        expect(uploaded.body.bytes).toBe(served.raw.length);
        expect(served.raw.length).toBeLessThan(original.length);
        expect(avatarsSet.filter((set) => set.userId === ALICE)).toEqual([{ userId: ALICE, url }]);
      });

      it('are not made the avatar unless asked at signing', async () => {
        const before = avatarsSet.length;
        const s = await signed(BOB, { purpose: 'avatar', mime_type: 'image/jpeg', bytes: (await photo()).length });
        expect((await put(s, await photo(), 'image/jpeg')).status).toBe(201);
        expect(await uploadOf(BOB, s.upload_id)).toMatchObject({ status: 'ready', set_avatar: false });
        expect(avatarsSet.length).toBe(before);
      });

      it('whose bytes are no readable image → 415, nothing stored', async () => {
        const files = await storedFiles();
        const broken = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200, 1)]);
        const s = await signed(ALICE, { purpose: 'avatar', mime_type: 'image/jpeg', bytes: broken.length });
        const response = await put(s, broken, 'image/jpeg');
        expect(response.status).toBe(415);
        expect(response.body.error.code).toBe('unsupported_media_type');
        expect(await storedFiles()).toEqual(files);
        expect(await uploadOf(ALICE, s.upload_id)).toMatchObject({ status: 'pending' });
      });
    });

    // ── signing refused ─────────────────────────────────────────────────────

    describe('signing', () => {
      it('needs a user', async () => {
        const response = await call('POST', '/api/v1/uploads/sign', {
          json: { purpose: 'avatar', mime_type: 'image/png', bytes: 10 },
        });
        expect(response.status).toBe(401);
      });

      it.each([
        [
          'a type not allowed at all',
          { purpose: 'attachment', room_id: ROOM, mime_type: 'image/svg+xml', bytes: 10 },
          'mime_type',
        ],
        ['a type not allowed for avatars', { purpose: 'avatar', mime_type: 'application/pdf', bytes: 10 }, 'mime_type'],
        ['an avatar over its limit', { purpose: 'avatar', mime_type: 'image/png', bytes: 100_001 }, 'bytes'],
        ['an attachment over its limit', { purpose: 'attachment', room_id: ROOM, mime_type: 'image/png', bytes: 5001 }, 'bytes'],
        ['zero bytes', { purpose: 'avatar', mime_type: 'image/png', bytes: 0 }, 'bytes'],
        ['an attachment without a room', { purpose: 'attachment', mime_type: 'image/png', bytes: 10 }, 'room_id'],
        ['an avatar with a room', { purpose: 'avatar', room_id: ROOM, mime_type: 'image/png', bytes: 10 }, 'room_id'],
        ['an unknown purpose', { purpose: 'banner', mime_type: 'image/png', bytes: 10 }, 'purpose'],
        [
          'set_avatar on an attachment',
          { purpose: 'attachment', room_id: ROOM, mime_type: 'image/png', bytes: 10, set_avatar: true },
          'set_avatar',
        ],
      ])('refuses %s (400)', async (_name, body, field) => {
        const response = await sign(ALICE, body);
        expect(response.status).toBe(400);
        expect(response.body.error.code).toBe('validation_failed');
        expect(response.body.error.details.map((d: { path: string }) => d.path)).toContain(field);
      });

      it.each(['folder', 'public_id', 'overwrite', 'type', 'eager', 'notification_url', 'user_id'])(
        'refuses a client-chosen %s: only our parameters are signed (J4)',
        async (field) => {
          const response = await sign(ALICE, { purpose: 'avatar', mime_type: 'image/png', bytes: 10, [field]: '../other-user' });
          expect(response.status).toBe(400);
          expect(response.body.error.details).toContainEqual({ path: field, message: 'unknown field' });
        },
      );

      it('for a room I am not in, or no room at all → 404 room_not_found', async () => {
        for (const roomId of [BOBS_ROOM, '55555555-5555-4555-8555-555555555555']) {
          const response = await sign(ALICE, { purpose: 'attachment', room_id: roomId, mime_type: 'image/png', bytes: 10 });
          expect(response.status).toBe(404);
          expect(response.body.error.code).toBe('room_not_found');
        }
      });

      it(`is limited to ${SIGN_MAX} per window per user → 429 with Retry-After (J8)`, async () => {
        const body = { purpose: 'avatar', mime_type: 'image/png', bytes: 10 };
        for (let i = 0; i < SIGN_MAX; i++) expect((await sign(ALICE, body)).status).toBe(200);
        const limited = await sign(ALICE, body);
        expect(limited.status).toBe(429);
        expect(limited.body.error.code).toBe('rate_limited');
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
        // Per user: Bob is not limited by Alice's requests.
        expect((await sign(BOB, body)).status).toBe(200);
        clock += config.PARLEY_UPLOAD_SIGN_WINDOW_S * 1000;
        expect((await sign(ALICE, body)).status).toBe(200);
      });
    });

    // ── the notification webhook ────────────────────────────────────────────

    describe('the notification webhook', () => {
      it('a signed notification makes the upload ready once; a replay is 200 and changes nothing (J1, J3)', async () => {
        const s = await signed();
        const raw = notification(s.upload_id);
        const headers = storage.signNotification(raw, clock);
        const first = await notify(raw, headers);
        expect(first.status).toBe(200);
        expect(first.body).toEqual({ status: 'processed' });
        const row = await db.selectFrom('uploads').selectAll().where('id', '=', s.upload_id).executeTakeFirstOrThrow();
        expect(row.status).toBe('ready');

        clock += 1000;
        for (let i = 0; i < 3; i++) {
          const replay = await notify(raw, headers);
          expect(replay.status).toBe(200);
          expect(replay.body).toEqual({ status: 'duplicate' });
        }
        expect(await db.selectFrom('uploads').selectAll().where('id', '=', s.upload_id).executeTakeFirstOrThrow()).toEqual(row);
      });

      it('deliveries racing each other apply once', async () => {
        const s = await signed();
        const raw = notification(s.upload_id);
        const headers = storage.signNotification(raw, clock);
        const results = await Promise.all(Array.from({ length: 6 }, () => notify(raw, headers)));
        expect(results.map((r) => r.status)).toEqual(Array(6).fill(200));
        expect(results.filter((r) => r.body.status === 'processed')).toHaveLength(1);
      });

      const refusals: Array<[string, (raw: Buffer, id: string) => [Buffer, Record<string, string>]]> = [
        [
          'a body changed by one byte',
          (raw) => {
            const tampered = Buffer.from(raw);
            tampered[raw.indexOf('"bytes":') + 8] = '9'.charCodeAt(0);
            return [tampered, storage.signNotification(raw, clock)];
          },
        ],
        ['a body that is no longer JSON', (raw) => [Buffer.concat([raw.subarray(0, -1)]), storage.signNotification(raw, clock)]],
        [
          'a signature with another key',
          (raw) => [raw, { 'x-parley-timestamp': String(Math.floor(clock / 1000)), 'x-parley-signature': 'ab'.repeat(32) }],
        ],
        ['no signature headers', (raw) => [raw, {}]],
        ['a stale timestamp', (raw) => [raw, storage.signNotification(raw, clock - 601_000)]],
        [
          'a signature over re-serialised JSON',
          (raw) => {
            const pretty = Buffer.from(JSON.stringify(JSON.parse(raw.toString()), null, 2));
            return [pretty, storage.signNotification(raw, clock)];
          },
        ],
      ];
      it.each(refusals)('refuses %s → 401, no state change (J2, J3)', async (_name, make) => {
        const s = await signed();
        const [raw, headers] = make(notification(s.upload_id), s.upload_id);
        const response = await notify(raw, headers);
        expect(response.status).toBe(401);
        expect(response.body.error.code).toBe('invalid_signature');
        expect((await uploadOf(ALICE, s.upload_id)).status).toBe('pending');
      });

      it('an empty notification → 401', async () => {
        expect((await call('POST', '/api/v1/uploads/notify')).status).toBe(401);
      });

      it('a file larger than signed makes the upload rejected, never ready', async () => {
        const s = await signed();
        const raw = notification(s.upload_id, { bytes: PNG.length + 1 });
        expect((await notify(raw, storage.signNotification(raw, clock))).body).toEqual({ status: 'rejected' });
        expect((await uploadOf(ALICE, s.upload_id)).status).toBe('rejected');
      });

      it('a format other than signed makes the upload rejected', async () => {
        const s = await signed();
        const raw = notification(s.upload_id, { format: 'gif' });
        expect((await notify(raw, storage.signNotification(raw, clock))).body).toEqual({ status: 'rejected' });
      });

      it.each([
        ['a public id we never issued', (id: string) => notification(id, { public_id: 'somewhere/else' })],
        ['an upload id nobody signed', () => notification('66666666-6666-4666-8666-666666666666')],
        ['another user’s folder for my upload', (id: string) => notification(id, {}, BOB)],
        ['another kind of notification', () => Buffer.from(JSON.stringify({ notification_type: 'delete' }))],
      ])('acknowledges and ignores %s', async (_name, make) => {
        const s = await signed();
        const raw = make(s.upload_id);
        const response = await notify(raw, storage.signNotification(raw, clock));
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ status: 'ignored' });
        expect((await uploadOf(ALICE, s.upload_id)).status).toBe('pending');
      });
    });

    // ── serving ─────────────────────────────────────────────────────────────

    it.each([
      `/uploads/${ALICE}/attachment/${'7'.repeat(8)}.png`,
      `/uploads/${ALICE}/attachment/..%2F..%2Fupload-signing-key`,
      `/uploads/..%2F..%2F/attachment/x.png`,
      `/uploads/${ALICE}/secrets/77777777-7777-4777-8777-777777777777.png`,
      `/uploads/${ALICE}/attachment/77777777-7777-4777-8777-777777777777.png`,
      `/uploads/${ALICE}/attachment/77777777-7777-4777-8777-777777777777.png.tmp`,
    ])('GET %s → 404', async (url) => {
      const response = await call('GET', url);
      expect(response.status).toBe(404);
      expect(response.raw.toString()).not.toMatch(/[0-9a-f]{64}/);
    });
  });
}
