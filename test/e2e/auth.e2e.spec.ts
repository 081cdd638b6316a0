// Auth end to end, over real HTTP and WebSocket against a running Parley process
// (API.md "Auth", "Users and presence"; reliability plan E, F, G1, H6).
//
// One process serves the main describe (login attempts lowered so the 429 path is
// reachable); the expired-token checks need a 1-second access TTL and get their own.

import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRoom } from '../support/chat.ts';
import { registerUser, request, WsClient, wsHandshake, type ApiResponse, type TestUser } from '../support/client.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { ErrorBody, JsonObject, PresenceStatus, Session, User } from '../support/wire.ts';

const REGISTER = '/api/v1/auth/register';
const LOGIN = '/api/v1/auth/login';
const REFRESH = '/api/v1/auth/refresh';
const LOGOUT = '/api/v1/auth/logout';
const PASSWORD = 'correct horse battery staple';

/** What one of many concurrent registrations answers: the session, or (most of them) an error. */
type RaceAnswer = Partial<Session> & Partial<ErrorBody>;
// Lowered from 5 so the back-off comes quickly; its first delay raised from 1 s to
// a minute, so that a test never races a delay's end. Client IPs come from
// X-Forwarded-For (PARLEY_TRUST_PROXY=true); the per-IP failure budget (50) is
// not reached by the failures of this file from any one address.
const LOGIN_FREE_FAILURES = 3;
const LOGIN_FIRST_DELAY_S = 60;
/** A request from `ip` (the test server trusts X-Forwarded-For). */
const fromIp = (ip: string) => ({ 'x-forwarded-for': ip });

// ── helpers ─────────────────────────────────────────────────────────────────

const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
const segment = (value: object): string => b64url(JSON.stringify(value));
const decodeSegment = (value: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;

/** The claims a genuine access token carries (iss/aud are the server defaults). */
function accessClaims(sub: string): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { iss: 'parley', aud: 'parley-api', sub, iat: now, exp: now + 600, jti: randomUUID() };
}

function hs256(header: object, payload: object, secret: Buffer | string): string {
  const signingInput = `${segment(header)}.${segment(payload)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** Replaces one base64url character of a segment with another valid one. */
function flipChar(value: string, index: number): string {
  const c = value[index]!;
  return `${value.slice(0, index)}${c === 'A' ? 'B' : 'A'}${value.slice(index + 1)}`;
}

/** Opens a socket without a token and authenticates with an AUTH frame. */
async function wsAuthFrame(wsUrl: string, token: string): Promise<{ first: string; code: unknown; closeCode: number }> {
  const client = new WsClient(wsUrl);
  client.socket.on('error', () => {});
  await client.opened;
  client.send({ type: 'AUTH', ref: 'auth-1', timestamp: Date.now(), data: { token } });
  const reply = await client.next<JsonObject | undefined>((frame) => frame.type === 'ERROR' || frame.type === 'AUTH_SUCCESS');
  const closeCode = reply.type === 'ERROR' ? await client.closed : await client.close();
  return { first: reply.type, code: reply.data?.code, closeCode };
}

function expectErrorBody(response: ApiResponse<unknown>, status: number, code?: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.body).toEqual({
    error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String) }),
  });
}

function expectSession(body: Session, user?: { id?: string; username?: string }): void {
  expect(body).toEqual(
    expect.objectContaining({
      user: expect.objectContaining({
        id: user?.id ?? expect.any(String),
        username: user?.username ?? expect.any(String),
        display_name: expect.any(String),
        created_at: expect.any(Number),
      }),
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      expires_in: expect.any(Number),
    }),
  );
  expect(body.user).not.toHaveProperty('password_hash');
  expect(body.user).not.toHaveProperty('email');
  expect(body.access_token.split('.')).toHaveLength(3);
  expect(body.expires_in).toBeGreaterThan(0);
}

const fieldsOf = (response: ApiResponse<unknown>): string[] => {
  const details = (response.body as Partial<ErrorBody> | undefined)?.error?.details;
  return Array.isArray(details) ? details.map((d) => d.path) : [];
};

// ── main process ────────────────────────────────────────────────────────────

describe('auth', () => {
  let parley: ParleyProcess;
  let url: string;
  beforeAll(async () => {
    parley = await startParley({
      env: {
        PARLEY_LOGIN_FREE_FAILURES: String(LOGIN_FREE_FAILURES),
        PARLEY_LOGIN_FIRST_DELAY_S: String(LOGIN_FIRST_DELAY_S),
        PARLEY_TRUST_PROXY: 'true',
        // Every test here registers users from 127.0.0.1; the per-IP cap is not under test.
        PARLEY_REGISTER_MAX_PER_IP: '10000',
      },
    });
    url = parley.url;
    return () => parley.stop();
  });

  // Each answers the body the caller expects: the success shape unless it says otherwise.
  const register = <T = Session>(body: Record<string, unknown>) => request<T>(url, 'POST', REGISTER, { body });
  const login = (loginName: string, password: string, ip?: string) =>
    request<Session>(url, 'POST', LOGIN, { body: { login: loginName, password }, headers: ip === undefined ? {} : fromIp(ip) });
  const refresh = (token: string) => request<Session>(url, 'POST', REFRESH, { body: { refresh_token: token } });
  const me = <T = User>(token: string) => request<T>(url, 'GET', '/api/v1/users/me', { token });

  describe('register', () => {
    it('returns 201 with the user, an access token, a refresh token and expires_in; the token works at once', async () => {
      const response = await register({
        username: 'reg_shape',
        email: 'reg_shape@example.com',
        password: PASSWORD,
        display_name: 'Reg Shape',
      });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expectSession(response.body, { username: 'reg_shape' });
      expect(response.body.user).toMatchObject({ display_name: 'Reg Shape', avatar_url: null, bio: expect.any(String) });
      const profile = await me(response.body.access_token);
      expect(profile.status).toBe(200);
      expect(profile.body).toMatchObject({ id: response.body.user.id, username: 'reg_shape', display_name: 'Reg Shape' });
    });

    it('normalises the username: ALICE_x is stored as alice_x and alice_x then collides with it (409 username_taken)', async () => {
      const first = await register({ username: 'ALICE_x', email: 'alice_x_1@example.com', password: PASSWORD });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      expect(first.body.user.username).toBe('alice_x');
      const second = await register({ username: 'alice_x', email: 'alice_x_2@example.com', password: PASSWORD });
      expectErrorBody(second, 409, 'username_taken');
      const third = await register({ username: 'Alice_X', email: 'alice_x_3@example.com', password: PASSWORD });
      expectErrorBody(third, 409, 'username_taken');
      // The first account is intact and reachable by any spelling of its name.
      const loggedIn = await login('ALICE_X', PASSWORD);
      expect(loggedIn.status).toBe(200);
      expect(loggedIn.body.user.id).toBe(first.body.user.id);
    });

    it('folds the username with NFKC: fullwidth ａｌｉｃｅ_ｆｗ is alice_fw and collides with it; a Cyrillic look-alike is refused', async () => {
      const fullwidth = await register({ username: 'ａｌｉｃｅ_ｆｗ', email: 'alice_fw_1@example.com', password: PASSWORD });
      expect(fullwidth.status, JSON.stringify(fullwidth.body)).toBe(201);
      expect(fullwidth.body.user.username).toBe('alice_fw');
      expectErrorBody(
        await register({ username: 'alice_fw', email: 'alice_fw_2@example.com', password: PASSWORD }),
        409,
        'username_taken',
      );
      // "аlice_cy" with a Cyrillic а (U+0430): not a–z after folding, so no look-alike of alice_cy can exist.
      const cyrillic = await register({ username: '\u0430lice_cy', email: 'alice_cy@example.com', password: PASSWORD });
      expectErrorBody(cyrillic, 400, 'validation_failed');
      expect(fieldsOf(cyrillic)).toEqual(['username']);
    });

    it('reserved names (admin, support, parley, everyone, …) are refused in any spelling with 400 validation_failed on username', async () => {
      for (const username of ['admin', 'Administrator', 'ＡＤＭＩＮ', 'support', 'parley', 'everyone', 'moderator', 'null']) {
        const response = await register({
          username,
          email: `reserved_${randomUUID().slice(0, 8)}@example.com`,
          password: PASSWORD,
        });
        expectErrorBody(response, 400, 'validation_failed');
        expect(fieldsOf(response), username).toEqual(['username']);
      }
      // A name that merely contains one is fine.
      const near = await register({ username: 'admin_fan', email: 'admin_fan@example.com', password: PASSWORD });
      expect(near.status, JSON.stringify(near.body)).toBe(201);
    });

    it('a duplicate email (in any letter case) → 409 email_taken, and the username it tried is not burnt', async () => {
      const first = await register({ username: 'email_owner', email: 'Dup.Mail@Example.com', password: PASSWORD });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      const same = await register({ username: 'email_thief', email: 'dup.mail@example.com', password: PASSWORD });
      expectErrorBody(same, 409, 'email_taken');
      const upper = await register({ username: 'email_thief', email: 'DUP.MAIL@EXAMPLE.COM', password: PASSWORD });
      expectErrorBody(upper, 409, 'email_taken');
      // The failed registration did not keep the name: it can be registered with a free email.
      const retry = await register({ username: 'email_thief', email: 'email_thief@example.com', password: PASSWORD });
      expect(retry.status, JSON.stringify(retry.body)).toBe(201);
    });

    it('20 concurrent registrations of one username → exactly one 201, the rest 409 username_taken, one account exists', async () => {
      const attempts = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          register<RaceAnswer>({ username: 'race_name', email: `race_${i}@example.com`, password: `${PASSWORD} ${i}` }),
        ),
      );
      const created = attempts.filter((r) => r.status === 201);
      expect(attempts.map((r) => r.status).sort()).toEqual([201, ...Array(19).fill(409)]);
      for (const loser of attempts.filter((r) => r.status !== 201)) expect(loser.body.error!.code).toBe('username_taken');
      const winnerIndex = attempts.indexOf(created[0]!);
      // The name logs in with the winner's password only, as the winner.
      const asWinner = await login('race_name', `${PASSWORD} ${winnerIndex}`);
      expect(asWinner.status).toBe(200);
      expect(asWinner.body.user.id).toBe(created[0]!.body.user!.id);
      // No half-made account for a loser's email.
      const loserIndex = winnerIndex === 0 ? 1 : 0;
      expect((await login(`race_${loserIndex}@example.com`, `${PASSWORD} ${loserIndex}`)).status).toBe(401);
    });

    it('20 concurrent registrations with one email → exactly one 201, the rest 409 email_taken', async () => {
      const attempts = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          register<RaceAnswer>({ username: `same_mail_${i}`, email: 'same.mail@example.com', password: PASSWORD }),
        ),
      );
      expect(attempts.map((r) => r.status).sort()).toEqual([201, ...Array(19).fill(409)]);
      for (const loser of attempts.filter((r) => r.status !== 201)) expect(loser.body.error!.code).toBe('email_taken');
    });

    it.each([
      ['too short', 'ab'],
      ['too long (33)', 'a'.repeat(33)],
      ['a space', 'has space'],
      ['a dash', 'bad-name'],
      ['an @', 'who@where'],
      ['Cyrillic а', 'аdmin_cyr'],
      ['a zero-width space', 'zero\u200bwidth'],
      ['a right-to-left override', 'rtl\u202eover'],
      ['a number instead of a string', 12345],
    ])('username with %s → 400 validation_failed naming username', async (_label, username) => {
      const response = await register({ username, email: `u${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD });
      expectErrorBody(response, 400, 'validation_failed');
      expect(fieldsOf(response)).toContain('username');
    });

    it.each([
      ['no @', 'not-an-email'],
      ['no domain', 'someone@'],
      ['empty', ''],
      ['a number', 42],
    ])('email with %s → 400 validation_failed naming email', async (_label, email) => {
      const response = await register({ username: `mail_${randomUUID().slice(0, 8)}`, email, password: PASSWORD });
      expectErrorBody(response, 400, 'validation_failed');
      expect(fieldsOf(response)).toContain('email');
    });

    it.each([
      ['7 characters', 'abcdefg'],
      ['73 bytes of ASCII', 'x'.repeat(73)],
      ['19 emoji (76 bytes)', '🔑'.repeat(19)],
      ['a common password', 'password123'],
      ['a common password in other case', 'PassWord123'],
    ])('password of %s → 400 validation_failed naming password, and no account is created', async (_label, password) => {
      const username = `pw_${randomUUID().slice(0, 8)}`;
      const response = await register({ username, email: `${username}@example.com`, password });
      expectErrorBody(response, 400, 'validation_failed');
      expect(fieldsOf(response)).toContain('password');
      const retry = await register({ username, email: `${username}@example.com`, password: PASSWORD });
      expect(retry.status, 'the username and email are still free').toBe(201);
    });

    it('accepts the boundaries: 8 characters, 72 bytes, 18 emoji, and each logs in only with the exact password', async () => {
      for (const password of ['k3#Lm9!q', 'y'.repeat(72), '🔑'.repeat(18)]) {
        const username = `pwok_${randomUUID().slice(0, 8)}`;
        const response = await register({ username, email: `${username}@example.com`, password });
        expect(response.status, `${password}: ${JSON.stringify(response.body)}`).toBe(201);
        expect((await login(username, password)).status).toBe(200);
        expect((await login(username, `${password}x`)).status).toBe(401);
      }
    });

    it('a missing field or an unknown field → 400 validation_failed naming it', async () => {
      const missing = await register({ username: 'no_password', email: 'no_password@example.com' });
      expectErrorBody(missing, 400, 'validation_failed');
      expect(fieldsOf(missing)).toContain('password');
      const extra = await register({
        username: 'extra_field',
        email: 'extra_field@example.com',
        password: PASSWORD,
        role: 'admin',
      });
      expectErrorBody(extra, 400, 'validation_failed');
      expect(fieldsOf(extra)).toContain('role');
    });
  });

  describe('login', () => {
    let user: TestUser;
    beforeAll(async () => {
      user = await registerUser(url, 'login');
    });

    it('by username → 200 with a session for that user', async () => {
      const response = await login(user.username, user.password);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expectSession(response.body, { id: user.id, username: user.username });
      expect((await me(response.body.access_token)).body.id).toBe(user.id);
    });

    it('by email (any letter case) → 200 with a session for that user', async () => {
      const response = await login(user.email.toUpperCase(), user.password);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expectSession(response.body, { id: user.id, username: user.username });
    });

    it('every login issues new tokens', async () => {
      const a = await login(user.username, user.password);
      const b = await login(user.username, user.password);
      expect(a.body.refresh_token).not.toBe(b.body.refresh_token);
      expect(a.body.access_token).not.toBe(b.body.access_token);
    });

    it('a password is one password in either Unicode spelling (NFC): é as one code point or as e + U+0301, at register, login and change', async () => {
      const composed = 'caf\u00e9 au lait, s\u00f6y';
      const decomposed = 'cafe\u0301 au lait, so\u0308y';
      const registered = await register({ username: 'unicode_pw', email: 'unicode_pw@example.com', password: decomposed });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      expect((await login('unicode_pw', composed)).status).toBe(200);
      expect((await login('unicode_pw', decomposed)).status).toBe(200);
      const newComposed = 'cr\u00e8me br\u00fbl\u00e9e';
      const newDecomposed = 'cre\u0300me bru\u0302le\u0301e';
      const changed = await request(url, 'POST', '/api/v1/users/me/password', {
        token: registered.body.access_token,
        body: { current_password: composed, new_password: newDecomposed },
      });
      expect(changed.status, JSON.stringify(changed.body)).toBe(204);
      expect((await login('unicode_pw', newComposed)).status).toBe(200);
      expect((await login('unicode_pw', composed)).status).toBe(401);
    });

    it('a wrong password and an unknown user get the same 401 status and the same body', async () => {
      const wrongPassword = await login(user.username, 'not the right password');
      const unknownUser = await login('nobody_here_at_all', 'not the right password');
      const unknownEmail = await login('nobody@example.com', 'not the right password');
      expectErrorBody(wrongPassword, 401);
      expect(unknownUser.status).toBe(401);
      expect(unknownEmail.status).toBe(401);
      expect(unknownUser.body).toEqual(wrongPassword.body);
      expect(unknownEmail.body).toEqual(wrongPassword.body);
    });

    it(`after ${LOGIN_FREE_FAILURES} free failures and one more, the attacker's IP gets 429 with Retry-After; the owner at another IP logs in`, async () => {
      const victim = await registerUser(url, 'brute');
      const attacker = '203.0.113.7';
      for (let i = 0; i <= LOGIN_FREE_FAILURES; i++) {
        expect((await login(victim.username, `wrong guess ${i}`, attacker)).status).toBe(401);
      }
      const limited = await login(victim.username, 'wrong guess again', attacker);
      expectErrorBody(limited, 429, 'rate_limited');
      const retryAfter = limited.headers.get('retry-after');
      expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
      expect(Number(retryAfter)).toBeLessThanOrEqual(LOGIN_FIRST_DELAY_S);
      // The attacker's pair waits even with the right password…
      expect((await login(victim.username, victim.password, attacker)).status).toBe(429);
      // …while the owner, elsewhere, is never refused for someone else's failures.
      expect((await login(victim.username, victim.password, '198.51.100.9')).status).toBe(200);
      expect((await login(victim.email, victim.password)).status).toBe(200);
      // The owner's own wrong guess from home is an ordinary 401, not a lock-out.
      expect((await login(victim.username, 'typo', '198.51.100.9')).status).toBe(401);
    });

    it('the pair counts the account, not the spelling: delayed by username, the same IP by email gets 429 too', async () => {
      const victim = await registerUser(url, 'spelling');
      const attacker = '203.0.113.8';
      for (let i = 0; i <= LOGIN_FREE_FAILURES; i++) {
        expect((await login(victim.username, `wrong guess ${i}`, attacker)).status).toBe(401);
      }
      expect((await login(victim.username, 'one more', attacker)).status).toBe(429);
      const byEmail = await login(victim.email, 'wrong guess by email', attacker);
      expect(byEmail.status, 'the same account reached through its email must be delayed as well').toBe(429);
    });

    it('a successful login resets the pair: its free failures start again', async () => {
      const user = await registerUser(url, 'forgetful');
      const home = '192.0.2.44';
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < LOGIN_FREE_FAILURES; i++) {
          expect((await login(user.username, `typo ${round}.${i}`, home)).status).toBe(401);
        }
        expect((await login(user.username, user.password, home)).status).toBe(200);
      }
    });
  });

  describe('refresh and logout', () => {
    it('refresh → 200 with a new pair; the new access token works', async () => {
      const user = await registerUser(url, 'refresh');
      const response = await refresh(user.refreshToken);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expectSession(response.body, { id: user.id, username: user.username });
      expect(response.body.refresh_token).not.toBe(user.refreshToken);
      const profile = await me(response.body.access_token);
      expect(profile.status).toBe(200);
      expect(profile.body.id).toBe(user.id);
    });

    it('reusing a spent refresh token → 401, and its successor is then refused too (family revoked)', async () => {
      const user = await registerUser(url, 'reuse');
      const rt1 = user.refreshToken;
      const second = await refresh(rt1);
      expect(second.status).toBe(200);
      const rt2 = second.body.refresh_token;
      expectErrorBody(await refresh(rt1), 401);
      expectErrorBody(await refresh(rt2), 401);
    });

    it("the family revocation does not touch the same user's other sessions", async () => {
      const user = await registerUser(url, 'families');
      const other = await login(user.username, user.password);
      expect(other.status).toBe(200);
      expect((await refresh(user.refreshToken)).status).toBe(200);
      expect((await refresh(user.refreshToken)).status).toBe(401); // reuse → this family is gone
      expect((await refresh(other.body.refresh_token)).status).toBe(200);
    });

    it('10 parallel refreshes of one token → exactly one 200, the others 401', async () => {
      const user = await registerUser(url, 'race_rt');
      const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(user.refreshToken)));
      expect(responses.map((r) => r.status).sort()).toEqual([200, ...Array(9).fill(401)]);
      for (const loser of responses.filter((r) => r.status === 401)) expectErrorBody(loser, 401);
    });

    it('a refresh token that was never issued, or is malformed → 401 or 400, never 5xx', async () => {
      expectErrorBody(await refresh('A'.repeat(43)), 401);
      expectErrorBody(await refresh('not a token'), 401);
      const typed = await request(url, 'POST', REFRESH, { body: { refresh_token: 5 } });
      expectErrorBody(typed, 400, 'validation_failed');
    });

    it('logout → 204 and that refresh token is dead; another session of the user lives on', async () => {
      const user = await registerUser(url, 'logout');
      const other = await login(user.username, user.password);
      const response = await request(url, 'POST', LOGOUT, { body: { refresh_token: user.refreshToken } });
      expect(response.status).toBe(204);
      expect(response.body).toBeUndefined();
      expectErrorBody(await refresh(user.refreshToken), 401);
      expect((await refresh(other.body.refresh_token)).status).toBe(200);
    });

    it('logout after a rotation kills the current refresh token of that session', async () => {
      const user = await registerUser(url, 'logout2');
      const rotated = await refresh(user.refreshToken);
      const current = rotated.body.refresh_token;
      expect((await request(url, 'POST', LOGOUT, { body: { refresh_token: current } })).status).toBe(204);
      expectErrorBody(await refresh(current), 401);
    });
  });

  describe('users', () => {
    it('GET /users/me → the own profile', async () => {
      const user = await registerUser(url, 'me');
      const response = await me(user.token);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        id: user.id,
        username: user.username,
        display_name: expect.any(String),
        avatar_url: null,
        bio: expect.any(String),
        created_at: expect.any(Number),
        deleted: false,
        bot: false,
        email: user.email,
        email_verified: false,
      });
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    });

    /** `a` and `b` become room peers, who may see each other's presence. */
    /** A room with both in it (b accepts the invitation). */
    const shareARoom = (a: TestUser, b: TestUser) => createRoom(url, a, [b], 'peers');

    it('GET /users/:id → the public profile with status {online, last_seen_at}; an offline user is not online', async () => {
      const viewer = await registerUser(url, 'viewer');
      const other = await registerUser(url, 'other');
      await shareARoom(viewer, other);
      const response = await request(url, 'GET', `/api/v1/users/${other.id}`, { token: viewer.token });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: other.id, username: other.username, display_name: expect.any(String) });
      expect(response.body).not.toHaveProperty('email');
      expect(response.body).not.toHaveProperty('password_hash');
      expect(response.body.status).toEqual({ online: false, last_seen_at: null });
    });

    it('GET /users/:id of a user with an open socket shows online: true; after they close it, offline with a last_seen_at', async () => {
      const viewer = await registerUser(url, 'viewer2');
      const other = await registerUser(url, 'online');
      await shareARoom(other, viewer);
      const statusOf = async () =>
        (await request<{ status: PresenceStatus }>(url, 'GET', `/api/v1/users/${other.id}`, { token: viewer.token })).body.status;
      const socket = await WsClient.connect(parley.wsUrl, other.token);
      const before = Date.now();
      try {
        const status = await statusOf();
        expect(status.online).toBe(true);
        expect(status.last_seen_at === null || typeof status.last_seen_at === 'number').toBe(true);
      } finally {
        await socket.close();
      }
      // Going offline travels through the signals log: wait for it, within a bound.
      let status = await statusOf();
      for (let i = 0; i < 100 && !(!status.online && typeof status.last_seen_at === 'number'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = await statusOf();
      }
      expect(status).toEqual({ online: false, last_seen_at: expect.any(Number) });
      expect(status.last_seen_at).toBeGreaterThanOrEqual(before - 5_000);
    });

    it('GET /users/:id of an unknown id → 404 user_not_found; of a non-UUID → 400', async () => {
      const viewer = await registerUser(url, 'viewer3');
      expectErrorBody(await request(url, 'GET', `/api/v1/users/${randomUUID()}`, { token: viewer.token }), 404, 'user_not_found');
      expectErrorBody(await request(url, 'GET', '/api/v1/users/not-a-uuid', { token: viewer.token }), 400);
    });
  });

  describe('JWKS', () => {
    it('/.well-known/jwks.json has an RS256 public key with a kid, which verifies issued tokens', async () => {
      const response = await request<JSONWebKeySet>(url, 'GET', '/.well-known/jwks.json');
      expect(response.status).toBe(200);
      const keys = response.body.keys as Record<string, unknown>[];
      expect(keys.length).toBeGreaterThanOrEqual(1);
      const key = keys.find((k) => k.alg === 'RS256');
      expect(key).toMatchObject({
        kty: 'RSA',
        alg: 'RS256',
        kid: expect.any(String),
        n: expect.any(String),
        e: expect.any(String),
      });
      for (const k of keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(secret);
      const user = await registerUser(url, 'jwks');
      expect(decodeProtectedHeader(user.token)).toMatchObject({ alg: 'RS256', kid: key!.kid });
      const { payload } = await jwtVerify(user.token, createLocalJWKSet(response.body), { algorithms: ['RS256'] });
      expect(payload.sub).toBe(user.id);
    });
  });

  describe('forged and malformed access tokens are refused on REST and on the WebSocket handshake', () => {
    let victim: TestUser;
    let bystander: TestUser;
    let kid: string;
    let publicJwk: Record<string, unknown>;
    const forged = new Map<string, string>();

    beforeAll(async () => {
      victim = await registerUser(url, 'victim');
      bystander = await registerUser(url, 'bystander');
      const jwks = await request<JSONWebKeySet>(url, 'GET', '/.well-known/jwks.json');
      publicJwk = jwks.body.keys[0]!;
      kid = publicJwk.kid as string;
      const claims = accessClaims(victim.id);
      const header = { typ: 'at+jwt', kid };

      // F1: alg none, every spelling; empty signature and no signature segment at all.
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        forged.set(`alg ${alg}, empty signature`, `${segment({ ...header, alg })}.${segment(claims)}.`);
        forged.set(`alg ${alg}, no signature segment`, `${segment({ ...header, alg })}.${segment(claims)}`);
      }
      const [, genuinePayload, genuineSignature] = victim.token.split('.') as [string, string, string];
      forged.set(
        'alg none header on a genuine payload and signature',
        `${segment({ ...header, alg: 'none' })}.${genuinePayload}.${genuineSignature}`,
      );
      forged.set('genuine header and payload, signature stripped', victim.token.split('.').slice(0, 2).join('.') + '.');

      // F2: HS256 keyed with the server's own public key, in the forms an attacker would try.
      const publicKey = createPublicKey({ key: publicJwk, format: 'jwk' });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
      const der = publicKey.export({ type: 'spki', format: 'der' });
      forged.set('HS256 keyed with the public key PEM (spki)', hs256({ ...header, alg: 'HS256' }, claims, pem));
      forged.set(
        'HS256 keyed with the public key PEM without trailing newline',
        hs256({ ...header, alg: 'HS256' }, claims, pem.trimEnd()),
      );
      forged.set('HS256 keyed with the public key PEM (pkcs1)', hs256({ ...header, alg: 'HS256' }, claims, pkcs1));
      forged.set('HS256 keyed with the public key DER', hs256({ ...header, alg: 'HS256' }, claims, der));
      forged.set(
        'HS256 keyed with the public JWK as a string',
        hs256({ ...header, alg: 'HS256' }, claims, JSON.stringify(publicJwk)),
      );

      // F3/F4/F5: RS256 signed by an attacker key, with our kid, its own kid, an embedded jwk, or an injected kid.
      const attacker = await generateKeyPair('RS256', { extractable: true });
      const attackerSign = (protectedHeader: Record<string, unknown>) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', ...protectedHeader }).sign(attacker.privateKey);
      forged.set('RS256 by another key, claiming the server kid', await attackerSign({ kid }));
      forged.set('RS256 by another key, with its own kid', await attackerSign({ kid: 'attacker-key' }));
      forged.set('RS256 by another key, no kid', await attackerSign({}));
      forged.set('RS256 by another key, embedded jwk header', await attackerSign({ jwk: await exportJWK(attacker.publicKey) }));
      forged.set('RS256 by another key, jku header', await attackerSign({ kid, jku: 'https://evil.example.com/jwks.json' }));
      forged.set('RS256 by another key, kid path traversal', await attackerSign({ kid: '../../../../dev/null' }));
      forged.set('RS256 by another key, kid SQL injection', await attackerSign({ kid: "' OR 1=1--" }));
      // Tampering with a genuine token.
      const [genuineHeader] = victim.token.split('.') as [string];
      const middle = Math.floor(genuinePayload.length / 2);
      forged.set(
        'genuine token with one payload character flipped',
        `${genuineHeader}.${flipChar(genuinePayload, middle)}.${genuineSignature}`,
      );
      forged.set(
        'genuine token with one signature character flipped',
        `${genuineHeader}.${genuinePayload}.${flipChar(genuineSignature, 10)}`,
      );
      const swapped = { ...decodeSegment(genuinePayload), sub: bystander.id };
      forged.set(
        'genuine signature over a payload whose sub was changed',
        `${genuineHeader}.${segment(swapped)}.${genuineSignature}`,
      );
      // F8: a refresh token is not an access token.
      forged.set('a refresh token', victim.refreshToken);
      // F9: malformed.
      forged.set('two segments', victim.token.split('.').slice(0, 2).join('.'));
      forged.set('four segments', `${victim.token}.${genuineSignature}`);
      forged.set('non-base64url characters', victim.token.replace(/\.(.)/, '.$'));
      forged.set('header that is not JSON', `${b64url('not json')}.${genuinePayload}.${genuineSignature}`);
      forged.set('longer than 8 KB', `${genuineHeader}.${b64url('x'.repeat(9000))}.${genuineSignature}`);
      forged.set('random text', 'hello');
    });

    it('each one → 401 JSON on GET /users/me', async () => {
      expect(forged.size).toBeGreaterThan(30);
      const failures: string[] = [];
      for (const [label, token] of forged) {
        const response = await me<Partial<ErrorBody> | undefined>(token);
        if (response.status !== 401 || response.body?.error?.code === undefined) {
          failures.push(`${label}: ${response.status} ${JSON.stringify(response.body)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('each one → 401 on POST /rooms, and nothing is created for the victim', async () => {
      const failures: string[] = [];
      for (const [label, token] of forged) {
        const response = await request(url, 'POST', '/api/v1/rooms', { token, body: { name: `forged ${label}`.slice(0, 90) } });
        if (response.status !== 401) failures.push(`${label}: ${response.status} ${JSON.stringify(response.body)}`);
      }
      expect(failures).toEqual([]);
      const rooms = await request(url, 'GET', '/api/v1/rooms', { token: victim.token });
      expect(rooms.status).toBe(200);
      expect(rooms.body.rooms).toEqual([]);
    });

    it('each one → the WebSocket handshake is refused with 401 before the upgrade', async () => {
      const failures: string[] = [];
      for (const [label, token] of forged) {
        const outcome = await wsHandshake(parley.wsUrl, token);
        if (outcome !== 'handshake refused: 401') failures.push(`${label}: ${outcome}`);
      }
      expect(failures).toEqual([]);
    });

    it('each one sent as the first AUTH frame → ERROR invalid_token and close 1008', async () => {
      const failures: string[] = [];
      for (const [label, token] of forged) {
        if (token.length > 8192) continue; // over the frame budget of a realistic client; covered on the handshake
        const outcome = await wsAuthFrame(parley.wsUrl, token);
        if (outcome.first !== 'ERROR' || outcome.closeCode !== 1008) failures.push(`${label}: ${JSON.stringify(outcome)}`);
      }
      expect(failures).toEqual([]);
    });

    it('the genuine token still works on both (the checks above are not refusing everything)', async () => {
      expect((await me(victim.token)).status).toBe(200);
      const socket = await WsClient.connect(parley.wsUrl, victim.token);
      await socket.close();
      const outcome = await wsAuthFrame(parley.wsUrl, victim.token);
      expect(outcome.first).toBe('AUTH_SUCCESS');
    });

    it('a missing or malformed Authorization header → 401 JSON naming the Bearer scheme', async () => {
      const missing = await request(url, 'GET', '/api/v1/users/me');
      expectErrorBody(missing, 401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const malformed = [
        'Basic dXNlcjpwYXNz',
        'Bearer',
        'Bearer ',
        `Token ${victim.token}`,
        `Bearer ${victim.token} extra`,
        `Bearer${victim.token}`,
        victim.token,
        `Bearer "${victim.token}"`,
      ];
      const failures: string[] = [];
      for (const authorization of malformed) {
        const response = await request<Partial<ErrorBody> | undefined>(url, 'GET', '/api/v1/users/me', {
          headers: { authorization },
        });
        if (response.status !== 401 || response.body?.error?.code === undefined) {
          failures.push(`${authorization.slice(0, 30)}…: ${response.status} ${JSON.stringify(response.body)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('a socket with no token that never authenticates is refused (first frame not AUTH → ERROR, 1008)', async () => {
      const client = new WsClient(parley.wsUrl);
      client.socket.on('error', () => {});
      await client.opened;
      client.send({ type: 'PING', ref: 'p1', timestamp: Date.now(), data: {} });
      const reply = await client.next((frame) => frame.type === 'ERROR' || frame.type === 'PONG');
      expect(reply.type).toBe('ERROR');
      expect(await client.closed).toBe(1008);
    });
  });
});

// ── per-IP login limit: its own process, so the other tests' logins don't count ──

describe('credential stuffing from one IP (PARLEY_LOGIN_MAX_FAILURES_PER_IP=10)', () => {
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({
      env: { PARLEY_LOGIN_MAX_FAILURES_PER_IP: '10', PARLEY_REGISTER_MAX_PER_IP: '10000', PARLEY_TRUST_PROXY: 'true' },
    });
    return () => parley.stop();
  });
  const attempt = (login: string, password: string, ip: string) =>
    request(parley.url, 'POST', LOGIN, { body: { login, password }, headers: fromIp(ip) });

  it('many accounts tried from one IP → 429 with Retry-After, whether the accounts exist or not; successes do not count, other IPs are unaffected', async () => {
    const stuffer = '203.0.113.66';
    const real = await registerUser(parley.url, 'stuffed');
    // Successful logins are not failures: more of them than the budget all pass.
    for (let i = 0; i < 12; i++) expect((await attempt(real.username, real.password, stuffer)).status).toBe(200);
    // One try on the real account, then unknown names: 10 failures from this IP.
    const names = [real.username, ...Array.from({ length: 9 }, (_, i) => `ghost_${i}`)];
    const statuses: number[] = [];
    for (const name of names) statuses.push((await attempt(name, 'guess', stuffer)).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const limited = await attempt('ghost_last', 'guess', stuffer);
    expectErrorBody(limited, 429, 'rate_limited');
    expect(limited.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    const limitedReal = await attempt(real.username, real.password, stuffer);
    expect(limitedReal.status).toBe(429);
    expect(limitedReal.body).toEqual(limited.body);
    expect((await attempt(real.username, real.password, '198.51.100.66')).status).toBe(200);
  });
});

// ── expiry: its own process with a 1-second access token lifetime ───────────

describe('expired access tokens (PARLEY_ACCESS_TTL_S=1)', () => {
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_ACCESS_TTL_S: '1' } });
    return () => parley.stop();
  });

  it('a token past its expiry (plus the 5 s tolerance) is refused on REST and on the handshake; refresh still works', async () => {
    const user = await registerUser(parley.url, 'expiry');
    expect(user.token.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 7_000));
    const response = await request(parley.url, 'GET', '/api/v1/users/me', { token: user.token });
    expectErrorBody(response, 401, 'token_expired');
    expect(await wsHandshake(parley.wsUrl, user.token)).toBe('handshake refused: 401');
    const renewed = await request<Session>(parley.url, 'POST', REFRESH, { body: { refresh_token: user.refreshToken } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.expires_in).toBe(1);
    const again = await request(parley.url, 'GET', '/api/v1/users/me', { token: renewed.body.access_token });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(user.id);
  });

  it('a socket opened with a token is closed with 1008 once that token expires', async () => {
    const user = await registerUser(parley.url, 'expiry_ws');
    // Not WsClient.connect: the token may expire while the socket is being set
    // up (its rooms, presence, where the log ends), before AUTH_SUCCESS.
    const socket = new WsClient(parley.wsUrl, { token: user.token });
    await socket.opened;
    expect(await socket.closed).toBe(1008);
  });
});
