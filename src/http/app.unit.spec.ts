// The HTTP core through a real server: each kind of thrown error becomes its
// status and `{"error":{…}}` with nothing internal in it; probes, 404/405, the
// request id, security headers and the access log behave as API.md and the
// reliability plan (H9, K3) require.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router } from '@koa/router';
import { z } from 'zod';
import { AuthError, type AuthErrorCode } from '../auth/errors.ts';
import { CommandTimeout } from '../commands/command-bus.ts';
import { Rejection, type RejectionCode } from '../domain/decider.ts';
import { requireUser, userIdOf, type AppState, type AuthedState } from './auth-middleware.ts';
import { ApiError, rejectionStatus, tooManyRequests } from './errors.ts';
import { startTestServer, type TestServer } from './testing/harness.ts';

const verify = (token: string) => {
  if (token === 'good-token') return Promise.resolve({ userId: 'user-1', sessionId: 's-1', rooms: null });
  if (token === 'scoped-token') return Promise.resolve({ userId: 'bot-1', sessionId: 't-1', rooms: ['room-1'] });
  if (token === 'boom') return Promise.reject(new Error('db down'));
  return Promise.reject(new AuthError(token === 'old' ? 'token_expired' : 'invalid_token'));
};

function throwingRouter(): Router<AppState> {
  const router = new Router<AppState>({ prefix: '/api/v1/throw' });
  router.get('/rejection/:code', (ctx) => {
    const code = String(ctx.params.code);
    throw new Rejection(code as RejectionCode, `rule says no: ${code}`);
  });
  router.get('/rejection-with-details', () => {
    throw new Rejection('last_owner', 'hand over first', { owners: 1 });
  });
  router.get('/zod', () => {
    z.strictObject({ name: z.string() }).parse({ name: 3, extra: true });
  });
  router.get('/auth/:code', (ctx) => {
    const code = String(ctx.params.code) as AuthErrorCode;
    throw new AuthError(code, `jose says: signature verification failed for ${code}`);
  });
  router.get('/api', () => {
    throw tooManyRequests(2.5);
  });
  router.get('/command-timeout', () => {
    throw new CommandTimeout('1234');
  });
  router.get('/http-error', (ctx) => {
    ctx.throw(400, 'a koa http error');
  });
  router.get('/http-error-500', (ctx) => {
    ctx.throw(500, 'secret internals');
  });
  router.get('/unknown', () => {
    const err = new Error("ER_DUP_ENTRY: Duplicate entry 'x' for key 'users.PRIMARY' in SELECT * FROM users");
    throw err;
  });
  router.get('/string', () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the case under test: a route that throws a non-Error
    throw 'a thrown string';
  });
  router.get('/unserialisable', (ctx) => {
    ctx.body = { big: 10n };
  });
  router.get('/html-string', (ctx) => {
    ctx.body = '<script>alert(1)</script>';
  });
  router.get('/json-xss', (ctx) => {
    ctx.body = { content: '<script>alert(1)</script>' };
  });
  router.post('/only-post', (ctx) => {
    ctx.body = { ok: true };
  });
  router.put('/only-post', (ctx) => {
    ctx.status = 204;
  });
  return router;
}

function authedRouter(): Router<AuthedState> {
  const router = new Router<AuthedState>({ prefix: '/api/v1/me' });
  router.use(requireUser(verify));
  router.get('/', (ctx) => {
    ctx.body = { user_id: ctx.state.userId, checked: userIdOf(ctx) };
  });
  return router;
}

let readiness: Record<string, boolean> | Error = { log: true, store: true };
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    routers: [throwingRouter(), authedRouter()],
    readiness: () => (readiness instanceof Error ? Promise.reject(readiness) : Promise.resolve(readiness)),
  });
});
afterAll(() => server.close());

const get = (path: string, init?: RequestInit) => fetch(server.base + path, init);

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body = (await response.json()) as { error: { code: string; message: string; details?: unknown } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/\bat .*\.ts:\d+/); // no stack frames
  expect(text).not.toContain('stack');
  return body.error;
}

describe('errors become the API shape in one place', () => {
  it.each(Object.entries(rejectionStatus))('Rejection %s → %i', async (code, status) => {
    const error = await expectError(await get(`/api/v1/throw/rejection/${code}`), status, code);
    expect(error.message).toBe(`rule says no: ${code}`);
    expect(error).not.toHaveProperty('details');
  });

  it('keeps a rejection’s details', async () => {
    const error = await expectError(await get('/api/v1/throw/rejection-with-details'), 409, 'last_owner');
    expect(error.details).toEqual({ owners: 1 });
  });

  it('a code the mapping does not know is a 500, not a guess', async () => {
    await expectError(await get('/api/v1/throw/rejection/made_up'), 500, 'internal');
  });

  it('a ZodError → 400 validation_failed with {path, message} per issue', async () => {
    const error = await expectError(await get('/api/v1/throw/zod'), 400, 'validation_failed');
    expect(error.details).toEqual([
      { path: 'name', message: expect.any(String) },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it.each(['invalid_token', 'token_expired', 'invalid_refresh_token'])(
    'AuthError %s → 401 with a fixed message',
    async (code) => {
      const response = await get(`/api/v1/throw/auth/${code}`);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const error = await expectError(response, 401, code);
      expect(error.message).not.toContain('jose');
    },
  );

  it('ApiError carries its headers (429 Retry-After)', async () => {
    const response = await get('/api/v1/throw/api');
    expect(response.headers.get('retry-after')).toBe('3');
    await expectError(response, 429, 'rate_limited');
  });

  it('a CommandTimeout → 503 unavailable with Retry-After (the client may retry)', async () => {
    const response = await get('/api/v1/throw/command-timeout');
    expect(response.headers.get('retry-after')).toBe('1');
    const error = await expectError(response, 503, 'unavailable');
    expect(error.message).not.toContain('1234');
  });

  it('a Koa ctx.throw(400) keeps its status and message', async () => {
    const error = await expectError(await get('/api/v1/throw/http-error'), 400, 'bad_request');
    expect(error.message).toBe('a koa http error');
  });

  it.each(['/unknown', '/string', '/http-error-500', '/unserialisable'])(
    'an unknown failure (%s) → 500 internal, generic message, real error logged',
    async (path) => {
      const response = await get(`/api/v1/throw${path}`);
      const requestId = response.headers.get('x-request-id');
      const error = await expectError(response, 500, 'internal');
      expect(error.message).toBe('internal error');
      expect(JSON.stringify(error)).not.toMatch(/SELECT|ER_DUP|secret|string|BigInt/i);
      const logged = server.logLines.find((line) => line.req_id === requestId && line.msg === 'request failed');
      expect(logged?.err).toBeDefined();
    },
  );

  it('logs the SQL of an unknown error but never sends it', async () => {
    await get('/api/v1/throw/unknown');
    expect(server.logText()).toContain('ER_DUP_ENTRY');
  });
});

describe('routing', () => {
  it('unknown route → 404 not_found JSON', async () => {
    await expectError(await get('/api/v1/nope'), 404, 'not_found');
    await expectError(await get('/'), 404, 'not_found');
  });

  it('wrong method → 405 method_not_allowed with Allow', async () => {
    const response = await get('/api/v1/throw/only-post', { method: 'DELETE' });
    expect(response.headers.get('allow')?.split(', ').sort()).toEqual(['POST', 'PUT']);
    await expectError(response, 405, 'method_not_allowed');
    await expectError(await get('/healthz', { method: 'POST' }), 405, 'method_not_allowed');
  });

  it('OPTIONS on a known path → 204 with Allow', async () => {
    const response = await get('/api/v1/throw/only-post', { method: 'OPTIONS' });
    expect(response.status).toBe(204);
    expect(response.headers.get('allow')).toContain('POST');
  });
});

describe('probes', () => {
  it('GET /healthz → 200 {status: ok}', async () => {
    const response = await get('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz → 200 when every check passes, 503 with the map otherwise', async () => {
    readiness = { log: true, store: true, cache: true };
    let response = await get('/readyz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ready', checks: readiness });

    readiness = { log: true, store: false, cache: true };
    response = await get('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'not_ready', checks: { log: true, store: false, cache: true } });

    readiness = new Error('redis exploded');
    response = await get('/readyz');
    expect(response.status).toBe(503);
    expect(await response.text()).not.toContain('redis exploded');
    readiness = { log: true };
  });
});

describe('request id', () => {
  it('echoes a sane X-Request-Id and uses it in the access log', async () => {
    const response = await get('/healthz', { headers: { 'X-Request-Id': 'abc-123.def:7' } });
    expect(response.headers.get('x-request-id')).toBe('abc-123.def:7');
    expect(server.logLines.some((line) => line.req_id === 'abc-123.def:7' && line.path === '/healthz')).toBe(true);
  });

  it.each([['has spaces'], ['x'.repeat(129)], ['quote"s'], ['']])('replaces %j with a UUID', async (given) => {
    const response = await get('/healthz', given === '' ? {} : { headers: { 'X-Request-Id': given } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('security headers (K3, H9)', () => {
  it.each(['/api/v1/throw/json-xss', '/api/v1/nope', '/api/v1/throw/unknown'])('on %s', async (path) => {
    const response = await get(path);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('markup in JSON stays JSON; a string body is never served as HTML', async () => {
    const json = await get('/api/v1/throw/json-xss');
    expect(await json.json()).toEqual({ content: '<script>alert(1)</script>' });
    const html = await get('/api/v1/throw/html-string');
    expect(html.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  });
});

describe('access log', () => {
  it('one line per request with method, path without query, status, ms, request id', async () => {
    const response = await get('/api/v1/nope?token=super-secret-token&limit=5', {
      headers: { 'X-Request-Id': 'log-check-1' },
    });
    await response.arrayBuffer();
    const lines = server.logLines.filter((line) => line.req_id === 'log-check-1' && line.msg === 'request');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ method: 'GET', path: '/api/v1/nope', status: 404, req_id: 'log-check-1' });
    expect(typeof lines[0]?.ms).toBe('number');
    expect(server.logText()).not.toContain('super-secret-token');
  });
});

describe('requireUser', () => {
  it('a valid Bearer token → ctx.state.userId', async () => {
    const response = await get('/api/v1/me', { headers: { Authorization: 'Bearer good-token' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user_id: 'user-1', checked: 'user-1' });
    const line = server.logLines.findLast((entry) => entry.msg === 'request' && entry.path === '/api/v1/me');
    expect(line?.user_id).toBe('user-1');
  });

  it.each([
    ['missing', undefined],
    ['Basic', 'Basic dXNlcjpwYXNz'],
    ['empty Bearer', 'Bearer '],
    ['two tokens', 'Bearer a b'],
    ['oversized', `Bearer ${'a'.repeat(9000)}`],
  ])('%s header → 401 unauthorized', async (_name, header) => {
    const response = await get('/api/v1/me', header === undefined ? {} : { headers: { Authorization: header } });
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    await expectError(response, 401, 'unauthorized');
  });

  it('the verifier’s AuthError → 401 with its code', async () => {
    await expectError(await get('/api/v1/me', { headers: { Authorization: 'Bearer old' } }), 401, 'token_expired');
    await expectError(await get('/api/v1/me', { headers: { Authorization: 'bearer forged' } }), 401, 'invalid_token');
  });

  it('a token limited to some rooms → 403 forbidden outside them, before the route runs', async () => {
    await expectError(await get('/api/v1/me', { headers: { Authorization: 'Bearer scoped-token' } }), 403, 'forbidden');
  });

  it('a verifier that breaks → 500, not a 401 that hides the outage', async () => {
    await expectError(await get('/api/v1/me', { headers: { Authorization: 'Bearer boom' } }), 500, 'internal');
  });
});

describe('ApiError', () => {
  it('is an Error with status, code, details and headers', () => {
    const error = new ApiError(418, 'teapot', 'short and stout', { spout: true }, { headers: { 'X-A': 'b' } });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ status: 418, code: 'teapot', message: 'short and stout', details: { spout: true } });
    expect(error.headers).toEqual({ 'X-A': 'b' });
  });
});

describe('raw-body routers', () => {
  let raw: TestServer;
  beforeAll(async () => {
    const rawRouter = new Router<AppState>();
    rawRouter.post('/api/v1/raw', async (ctx) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
      ctx.body = { type: ctx.get('Content-Type'), bytes: Buffer.concat(chunks).length, parsed: ctx.request.body !== undefined };
    });
    const jsonRouter = new Router<AppState>();
    jsonRouter.post('/api/v1/json', (ctx) => {
      ctx.body = { body: ctx.request.body };
    });
    raw = await startTestServer({ routers: [jsonRouter], rawBodyRouters: [rawRouter] });
  });
  afterAll(() => raw.close());

  it('see the body unread by the JSON parser, whatever its type', async () => {
    const response = await fetch(`${raw.base}/api/v1/raw`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: Buffer.alloc(100_000),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ type: 'image/png', bytes: 100_000, parsed: false });
  });

  it('leave every other route to the JSON parser', async () => {
    const ok = await fetch(`${raw.base}/api/v1/json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(await ok.json()).toEqual({ body: { a: 1 } });
    await expectError(
      await fetch(`${raw.base}/api/v1/json`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' }),
      415,
      'unsupported_media_type',
    );
  });

  it('take part in 405 with Allow', async () => {
    const response = await fetch(`${raw.base}/api/v1/raw`, { method: 'GET' });
    expect(response.headers.get('allow')).toBe('POST');
    await expectError(response, 405, 'method_not_allowed');
  });
});
