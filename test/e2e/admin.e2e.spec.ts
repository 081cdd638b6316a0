// Global admins (API.md "Admin"; issue 15): an admin named in PARLEY_ADMINS
// suspends an account — its sessions end at once, its socket closes, no new
// session starts until the suspension is lifted — and every act is in the
// audit. Over real HTTP and WebSocket against a running Parley process.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { request, type TestUser } from '../support/client.ts';
import { expectError, expectStatus, useParley } from '../support/social.ts';

const adminName = `admin_${randomUUID().slice(0, 8)}`;
const suite = useParley({ PARLEY_ADMINS: ` ${adminName.toUpperCase()} , someone_else` });

interface Session {
  user: { id: string };
  access_token: string;
  refresh_token: string;
}
interface Suspension {
  user_id: string;
  suspended_at: number;
  until: number | null;
  reason: string;
}
interface AuditPage {
  actions: { action_id: string; action: string; admin_id: string; target_user_id: string; until: number | null; at: number }[];
  next_before: string | null;
}

const password = 'correct horse battery staple';
const login = (who: TestUser) =>
  request<Session>(suite.parley.url, 'POST', '/api/v1/auth/login', { body: { login: who.username, password } });

let admin: TestUser | undefined;
/** The admin's account, registered once under the name PARLEY_ADMINS gives. */
async function theAdmin(): Promise<TestUser> {
  if (admin !== undefined) return admin;
  const body = { username: adminName, email: `${adminName}@example.com`, password };
  const response = await request<Session>(suite.parley.url, 'POST', '/api/v1/auth/register', { body });
  expect(response.status).toBe(201);
  const { user, access_token, refresh_token } = response.body;
  admin = { id: user.id, username: adminName, email: body.email, password, token: access_token, refreshToken: refresh_token };
  return admin;
}
const suspensionPath = (userId: string) => `/admin/users/${userId}/suspension`;

describe('suspending an account', () => {
  test('its socket closes, its tokens are refused, sign-in answers 403 account_suspended with the reason; lifted, it signs in again; the audit lists both, newest first', async () => {
    const boss = await theAdmin();
    const [mallory] = await suite.api.users(1, 'mallory');
    const socket = await suite.connect(mallory!);

    const suspended = expectStatus(
      await suite.api.put<Suspension>(boss, suspensionPath(mallory!.id), { reason: 'spam in #general' }),
      200,
    );
    expect(suspended).toMatchObject({ user_id: mallory!.id, until: null, reason: 'spam in #general' });
    expect(await socket.closed).toBe(1008);
    expectError(await suite.api.get(mallory!, '/users/me'), 401, 'invalid_token');
    const refreshed = await request(suite.parley.url, 'POST', '/api/v1/auth/refresh', {
      body: { refresh_token: mallory!.refreshToken },
    });
    expect(refreshed.status).toBe(401);
    const refused = await login(mallory!);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: { code: 'account_suspended', details: { until: null, reason: 'spam in #general' } },
    });

    expectStatus(await suite.api.del(boss, suspensionPath(mallory!.id)), 204);
    expect((await login(mallory!)).status).toBe(200);
    // Lifting again changes nothing.
    expectStatus(await suite.api.del(boss, suspensionPath(mallory!.id)), 204);

    const audit = expectStatus(await suite.api.get<AuditPage>(boss, '/admin/audit'), 200);
    const mine = audit.actions.filter((entry) => entry.target_user_id === mallory!.id);
    expect(mine.map((entry) => [entry.action, entry.admin_id])).toEqual([
      ['lift_suspension', boss.id],
      ['suspend', boss.id],
    ]);
    expect(mine[1]!.at).toBe(suspended.suspended_at);
  });

  test('a suspension with an end says so at sign-in; suspending again replaces it; the audit pages', async () => {
    const boss = await theAdmin();
    const [trent] = await suite.api.users(1, 'trent');
    const until = Date.now() + 86_400_000;
    const first = await suite.api.put<Suspension>(boss, suspensionPath(trent!.id), { reason: 'cool off', until });
    expect(expectStatus(first, 200)).toMatchObject({ until, reason: 'cool off' });
    const refused = await login(trent!);
    expect(refused.body).toMatchObject({ error: { code: 'account_suspended', details: { until, reason: 'cool off' } } });
    const again = await suite.api.put<Suspension>(boss, suspensionPath(trent!.id), { reason: 'for good' });
    expect(expectStatus(again, 200)).toMatchObject({ until: null, reason: 'for good' });

    const page = expectStatus(await suite.api.get<AuditPage>(boss, '/admin/audit?limit=1'), 200);
    expect(page.actions).toHaveLength(1);
    const next = await suite.api.get<AuditPage>(boss, `/admin/audit?limit=1&before=${encodeURIComponent(page.next_before!)}`);
    expect(expectStatus(next, 200).actions[0]!.at).toBeLessThanOrEqual(page.actions[0]!.at);
    expect(next.body.actions[0]!.action_id).not.toBe(page.actions[0]!.action_id);
    expectStatus(await suite.api.del(boss, suspensionPath(trent!.id)), 204);
  });

  test('only admins: others get 403 forbidden and nothing happens; an admin cannot suspend themselves; no such account → 404; bad input → 400', async () => {
    const boss = await theAdmin();
    const [eve, victim] = await suite.api.users(2, 'eve');
    expectError(await suite.api.put(eve!, suspensionPath(victim!.id), { reason: 'x' }), 403, 'forbidden');
    expectError(await suite.api.del(eve!, suspensionPath(victim!.id)), 403, 'forbidden');
    expectError(await suite.api.get(eve!, '/admin/audit'), 403, 'forbidden');
    expect((await login(victim!)).status).toBe(200);

    expectError(await suite.api.put(boss, suspensionPath(boss.id), { reason: 'oops' }), 403, 'forbidden');
    expectError(await suite.api.put(boss, suspensionPath(randomUUID()), { reason: 'ghost' }), 404, 'user_not_found');
    for (const body of [{}, { reason: '' }, { reason: 'x', until: Date.now() - 1_000 }, { reason: 'x', extra: 1 }]) {
      expectError(await suite.api.put(boss, suspensionPath(victim!.id), body), 400, 'validation_failed');
    }
    expectError(await suite.api.put(boss, '/admin/users/not-a-uuid/suspension', { reason: 'x' }), 400, 'validation_failed');
    expect((await login(victim!)).status).toBe(200);
  });
});
