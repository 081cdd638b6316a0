// Request bodies and the validation helpers through a real server (reliability
// plan H1–H5, H10, H11): size limits by length and while streaming, media type,
// every flavour of invalid JSON, prototype pollution, invalid Unicode, strict
// schemas and pagination.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router } from '@koa/router';
import { z } from 'zod';
import { seq, uuid } from '../commands/inputs.ts';
import type { AppState } from './auth-middleware.ts';
import { isJsonContentType, parseJson } from './body.ts';
import { startTestServer, type TestServer } from './testing/harness.ts';
import { pageLimitSchema, parseBody, parseParams, parseQuery, seqQuerySchema, strictObject } from './validate.ts';

const MAX_BODY = 64 * 1024;

function echoRouter(config: { PARLEY_PAGE_DEFAULT: number; PARLEY_PAGE_MAX: number }): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1' });
  router.post('/echo', (ctx) => {
    ctx.body = { body: ctx.request.body ?? null, raw_bytes: ctx.request.rawBody?.length ?? 0 };
  });
  const member = strictObject({ user_id: uuid, role: z.enum(['member', 'admin']).optional() });
  const room = strictObject({ name: z.string().min(1), members: z.array(member).optional(), seq: seq.optional() });
  router.post('/rooms', (ctx) => {
    ctx.body = parseBody(ctx, room);
  });
  const page = strictObject({ limit: pageLimitSchema(config), before_seq: seqQuerySchema.optional() });
  router.get('/page', (ctx) => {
    ctx.body = parseQuery(ctx, page);
  });
  router.get('/rooms/:id', (ctx) => {
    ctx.body = parseParams(ctx, strictObject({ id: uuid }));
  });
  return router;
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    routers: [echoRouter({ PARLEY_PAGE_DEFAULT: 50, PARLEY_PAGE_MAX: 100 })],
    env: { PARLEY_MAX_BODY_BYTES: String(MAX_BODY) },
  });
});
afterAll(() => server.close());

const post = (
  path: string,
  body: RequestInit['body'],
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => fetch(server.base + path, { method: 'POST', body, headers });

async function errorOf(response: Response) {
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body = (await response.json()) as { error: { code: string; message: string; details?: unknown } };
  return { status: response.status, ...body.error };
}

describe('body size (H1)', () => {
  it('accepts a body at the limit', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(MAX_BODY - 10) });
    expect(Buffer.byteLength(body)).toBe(MAX_BODY);
    const response = await post('/api/v1/echo', body);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { raw_bytes: number }).raw_bytes).toBe(MAX_BODY);
  });

  it.each([MAX_BODY + 1, 1024 * 1024 + 1, 10 * 1024 * 1024])('Content-Length %i → 413 before reading', async (size) => {
    const response = await post('/api/v1/echo', new Uint8Array(size).fill(0x20));
    expect(response.headers.get('connection')).toBe('close');
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  it('a chunked body is cut off as soon as it passes the limit', async () => {
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 16 * 1024;
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x20));
      },
    });
    const response = await fetch(`${server.base}/api/v1/echo`, {
      method: 'POST',
      body: endless,
      headers: { 'Content-Type': 'application/json' },
      duplex: 'half',
    });
    expect(await errorOf(response)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(sent).toBeLessThan(100 * MAX_BODY);
  });

  it('a raw chunked upload that never ends gets 413 and the socket closed', async () => {
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
    socket.on('error', () => {}); // the server may reset while we still write
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write('POST /api/v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = 'x'.repeat(8192);
    for (let i = 0; i < 12 && !socket.destroyed; i++) {
      socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // No terminating 0-chunk: the server must answer and hang up anyway.
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toContain('"payload_too_large"');
  });
});

describe('media type', () => {
  it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/json; charset=latin1'], ['application/jsonp']])(
    '%s → 415',
    async (type) => {
      const response = await post('/api/v1/echo', '{}', { 'Content-Type': type });
      expect(await errorOf(response)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    },
  );

  it('a body without Content-Type → 415', async () => {
    const response = await post('/api/v1/echo', new Blob(['{}']), {});
    expect(await errorOf(response)).toMatchObject({ status: 415, code: 'unsupported_media_type' });
  });

  it('accepts application/json with charset=utf-8 in any case', () => {
    expect(isJsonContentType('application/json')).toBe(true);
    expect(isJsonContentType('Application/JSON; Charset=UTF-8')).toBe(true);
    expect(isJsonContentType('application/json;charset=utf-16')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });

  it('no body at all is fine and leaves ctx.request.body undefined', async () => {
    const response = await fetch(`${server.base}/api/v1/echo`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ body: null, raw_bytes: 0 });
  });
});

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('invalid JSON (H2, H4, H5) → 400 invalid_json', () => {
  it.each([
    ['truncated', '{"name": "a'],
    ['trailing garbage', '{"name": "a"} x'],
    ['two documents', '{}{}'],
    ['NaN', '{"n": NaN}'],
    ['Infinity', '{"n": Infinity}'],
    ['a number out of range', '{"n": 1e309}'],
    ['single quotes', "{'a': 1}"],
    ['a trailing comma', '{"a": 1,}'],
    ['a comment', '{"a": 1 /* hi */}'],
    ['only whitespace', '   '],
    ['a duplicate key', '{"role": "member", "role": "admin"}'],
    ['a duplicate key spelled with an escape', '{"role": 1, "r\\u006fle": 2}'],
    ['65-deep nesting', nested(65)],
    ['10k-deep nesting', nested(10_000)],
    ['__proto__', '{"__proto__": {"polluted": true}}'],
    ['nested __proto__', '{"a": [{"b": {"__proto__": {"polluted": true}}}]}'],
    ['escaped __proto__', '{"\\u005f_proto__": {"polluted": true}}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"polluted": true}}}'],
    ['prototype', '{"x": {"prototype": 1}}'],
    ['a lone high surrogate', '{"content": "\\ud800"}'],
    ['a lone low surrogate', '{"content": "a\\udc00b"}'],
    ['a lone surrogate in a key', '{"\\ud800": 1}'],
  ])('%s', async (_name, text) => {
    const response = await post('/api/v1/echo', text);
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('a leading UTF-8 byte order mark', async () => {
    const response = await post('/api/v1/echo', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]));
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it.each([
    ['invalid UTF-8', [0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]],
    ['an encoded surrogate (CESU-8)', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['an overlong encoding', [0x22, 0xc0, 0xaf, 0x22]],
  ])('%s bytes', async (_name, bytes) => {
    const response = await post('/api/v1/echo', new Uint8Array(bytes));
    expect(await errorOf(response)).toMatchObject({ status: 400, code: 'invalid_json' });
  });

  it('the error never quotes the body back', async () => {
    const response = await post('/api/v1/echo', '{"secret": "hunter2" oops}');
    expect(JSON.stringify(await response.json())).not.toContain('hunter2');
  });

  it('leaves Object.prototype untouched', async () => {
    await post('/api/v1/echo', '{"__proto__": {"polluted": true}}');
    await post('/api/v1/echo', '{"constructor": {"prototype": {"polluted": true}}}');
    expect(({} as Record<string, unknown>).polluted).toBe(undefined);
    expect(Object.prototype).not.toHaveProperty('polluted');
  });
});

describe('valid JSON passes through unchanged', () => {
  it.each([
    ['64-deep nesting', nested(64)],
    ['emoji, ZWJ, RTL override, zero-width, NUL', JSON.stringify({ c: '👩‍👩‍👧 \u202e \u200b \u0000 e\u0301' })],
    ['an escaped surrogate pair', '{"c": "\\ud83d\\ude00"}'],
    ['braces and quotes inside strings', '{"c": "{[\\"}]"}'],
    ['keys that only look alike', '{"a": 1, "A": 2, "a ": 3}'],
    ['the same key in sibling objects', '[{"a": 1}, {"a": 2}]'],
    ['a scalar', '42'],
    ['null', 'null'],
  ])('%s', async (_name, text) => {
    const response = await post('/api/v1/echo', text);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { body: unknown }).body).toEqual(JSON.parse(text));
  });

  it('parseJson by itself', () => {
    expect(parseJson(Buffer.from('{"a": [1, "b", null, true]}'))).toEqual({ a: [1, 'b', null, true] });
    expect(() => parseJson(Buffer.from(nested(3)), 2)).toThrow(/deeper than 2/);
  });
});

describe('strict schemas (H3)', () => {
  const valid = { name: 'general', members: [{ user_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' }] };

  it('a valid body is parsed and typed', async () => {
    const response = await post('/api/v1/rooms', JSON.stringify(valid));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(valid);
  });

  it('unknown fields → 400 listing each, nested ones too', async () => {
    const body = { ...valid, role: 'admin', members: [{ ...valid.members[0], sender_id: 'x' }] };
    const error = await errorOf(await post('/api/v1/rooms', JSON.stringify(body)));
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'role', message: 'unknown field' },
        { path: 'members.0.sender_id', message: 'unknown field' },
      ]),
    );
  });

  it.each([
    ['number for string', { name: 5 }, 'name'],
    ['array for object', [], ''],
    ['null', null, ''],
    [
      'wrong enum',
      { name: 'a', members: [{ user_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', role: 'owner' }] },
      'members.0.role',
    ],
    ['nil uuid', { name: 'a', members: [{ user_id: '00000000-0000-0000-0000-000000000000' }] }, 'members.0.user_id'],
    ['negative seq', { name: 'a', seq: -1 }, 'seq'],
    ['fractional seq', { name: 'a', seq: 1.5 }, 'seq'],
    ['unsafe seq', { name: 'a', seq: 2 ** 53 + 2 }, 'seq'],
    ['string seq', { name: 'a', seq: '3' }, 'seq'],
  ])('%s → 400 at its path', async (_name, body, path) => {
    const error = await errorOf(await post('/api/v1/rooms', JSON.stringify(body)));
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((error.details as { path: string }[]).map((detail) => detail.path)).toContain(path);
  });

  it('a missing body → 400 validation_failed', async () => {
    const error = await errorOf(await fetch(`${server.base}/api/v1/rooms`, { method: 'POST' }));
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'invalid request body' });
  });
});

describe('pagination and ids (H10, H11)', () => {
  const page = (query: string) => fetch(`${server.base}/api/v1/page${query}`);

  it.each([
    ['', 50],
    ['?limit=1', 1],
    ['?limit=100', 100],
    ['?limit=37', 37],
  ])('limit %j → %i', async (query, limit) => {
    const response = await page(query);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ limit });
  });

  it.each(['abc', '1.5', '-1', '0', '101', '1e9', '', '%2010', '+5', '010', '0x10', '9007199254740993', '[]'])(
    'limit=%s → 400',
    async (value) => {
      const error = await errorOf(await page(`?limit=${value}`));
      expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'invalid query' });
      expect(error.details).toEqual([{ path: 'limit', message: expect.stringContaining('1 to 100') }]);
    },
  );

  it('a repeated limit → 400', async () => {
    const error = await errorOf(await page('?limit=10&limit=20'));
    expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(error.details).toEqual([{ path: 'limit', message: expect.stringContaining('given once') }]);
  });

  it('an unknown query parameter → 400', async () => {
    const error = await errorOf(await page('?limit=5&sort=evil'));
    expect(error.details).toEqual([{ path: 'sort', message: 'unknown field' }]);
  });

  it('before_seq accepts 0 and safe integers only', async () => {
    expect(await (await page('?before_seq=0')).json()).toEqual({ limit: 50, before_seq: 0 });
    expect(await (await page('?before_seq=9007199254740991')).json()).toEqual({ limit: 50, before_seq: 2 ** 53 - 1 });
    expect((await page('?before_seq=9007199254740992')).status).toBe(400);
    expect((await page('?before_seq=-1')).status).toBe(400);
  });

  it('malformed percent-encoding in the path or query is a 400, not a 500', async () => {
    expect((await fetch(`${server.base}/api/v1/rooms/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${server.base}/api/v1/rooms/%ED%A0%80`)).status).toBe(400);
    expect((await page('?limit=%E0%A4%A')).status).toBe(400);
    expect((await page('?before_seq=%ED%A0%80')).status).toBe(400);
  });

  it('path ids are UUIDs in either case, read as their lowercase spelling', async () => {
    const id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    expect(await (await fetch(`${server.base}/api/v1/rooms/${id}`)).json()).toEqual({ id });
    expect(await (await fetch(`${server.base}/api/v1/rooms/${id.toUpperCase()}`)).json()).toEqual({ id });
    for (const bad of ['42', `${id}0`, "1' OR '1'='1", '00000000-0000-0000-0000-000000000000']) {
      const error = await errorOf(await fetch(`${server.base}/api/v1/rooms/${encodeURIComponent(bad)}`));
      expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'invalid path parameters' });
    }
  });
});
