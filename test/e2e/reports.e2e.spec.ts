// Reports to the moderators (API.md "Reports"; issue 15): a member reports a
// message or a user; the room's owners and admins see the reports of their
// rooms' messages, global admins every report; a moderator resolves a report
// once. Over real HTTP against a running Parley process.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { ReportView } from '../../src/queries/reports-queries.ts';
import { registerNamedUser, type TestUser } from '../support/client.ts';
import { expectError, expectStatus, groupRoom, say, useParley } from '../support/social.ts';

const adminName = `mod_${randomUUID().slice(0, 8)}`;
const suite = useParley({ PARLEY_ADMINS: adminName });

type Report = ReportView;
interface ReportPage {
  reports: Report[];
  next_before: string | null;
}

let admin: TestUser | undefined;
const theAdmin = async (): Promise<TestUser> => (admin ??= await registerNamedUser(suite.parley.url, adminName));

const report = (who: TestUser, body: unknown) => suite.api.post<{ id: string; filed_at: number }>(who, '/reports', body);
const reportsSeenBy = async (who: TestUser, query = '') =>
  expectStatus(await suite.api.get<ReportPage>(who, `/reports${query}`), 200).reports;
const resolve = (who: TestUser, id: string, resolution: string) =>
  suite.api.post<Report>(who, `/reports/${id}/resolve`, { resolution });

describe('reports', () => {
  test('a member reports a message; the room’s owner and the global admins see it with the message, other members and other rooms’ owners do not', async () => {
    const boss = await theAdmin();
    const [alice, bob, mallory, olga] = await suite.api.users(4, 'rep');
    const room = await groupRoom(suite.api, alice!, [bob!, mallory!]);
    await groupRoom(suite.api, olga!, [bob!]);
    const spam = await say(suite.api, mallory!, room.id, 'cheap pills at example.com');

    const filed = expectStatus(await report(bob!, { message_id: spam.id, reason: '  phishing link ' }), 201);
    const expected = {
      id: filed.id,
      reporter_id: bob!.id,
      target_user_id: mallory!.id,
      room_id: room.id,
      message_id: spam.id,
      message_content: 'cheap pills at example.com',
      reason: 'phishing link',
      status: 'open',
      resolution: null,
      resolved_by: null,
      filed_at: filed.filed_at,
      resolved_at: null,
    };
    expect(await reportsSeenBy(alice!)).toEqual([expected]);
    expect((await reportsSeenBy(boss)).find((r) => r.id === filed.id)).toEqual(expected);
    expect(await reportsSeenBy(bob!)).toEqual([]);
    expect(await reportsSeenBy(olga!)).toEqual([]);

    // Resolved once by the owner; the same again changes nothing; the other answer is refused; a member may not.
    expectError(await resolve(bob!, filed.id, 'dismissed'), 404, 'not_found');
    const done = expectStatus(await resolve(alice!, filed.id, 'actioned'), 200);
    expect(done).toMatchObject({ status: 'resolved', resolution: 'actioned', resolved_by: alice!.id });
    expect(done.resolved_at).toEqual(expect.any(Number));
    expectStatus(await resolve(alice!, filed.id, 'actioned'), 200);
    expectError(await resolve(alice!, filed.id, 'dismissed'), 409, 'invalid_state');
    expect(await reportsSeenBy(alice!, '?status=open')).toEqual([]);
    expect((await reportsSeenBy(alice!, '?status=resolved')).map((r) => r.id)).toEqual([filed.id]);
  });

  test('a report of a user reaches the global admins only; they resolve it', async () => {
    const boss = await theAdmin();
    const [alice, bob, mallory] = await suite.api.users(3, 'repuser');
    await groupRoom(suite.api, alice!, [bob!, mallory!]);
    const filed = expectStatus(await report(bob!, { user_id: mallory!.id, reason: 'impersonates me' }), 201);
    expect(await reportsSeenBy(alice!)).toEqual([]);
    expectError(await resolve(alice!, filed.id, 'dismissed'), 404, 'not_found');
    const open = (await reportsSeenBy(boss, '?status=open')).find((r) => r.id === filed.id);
    expect(open).toMatchObject({ target_user_id: mallory!.id, room_id: null, message_id: null, message_content: null });
    expect(expectStatus(await resolve(boss, filed.id, 'dismissed'), 200)).toMatchObject({ resolution: 'dismissed' });
    expect((await reportsSeenBy(boss, '?status=open')).some((r) => r.id === filed.id)).toBe(false);
  });

  test('refuses what cannot be reported: a message of a room I am not in, myself, no one, and malformed bodies', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'repbad');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const message = await say(suite.api, bob!, room.id, 'hello');
    expectError(await report(carol!, { message_id: message.id, reason: 'x' }), 404, 'message_not_found');
    expectError(await report(bob!, { message_id: message.id, reason: 'x' }), 409, 'self_request');
    expectError(await report(bob!, { user_id: bob!.id, reason: 'x' }), 409, 'self_request');
    expectError(await report(bob!, { user_id: randomUUID(), reason: 'x' }), 404, 'user_not_found');
    for (const body of [
      { message_id: message.id, user_id: alice!.id, reason: 'both' },
      { message_id: message.id },
      { message_id: message.id, reason: '   ' },
      { message_id: message.id, reason: 'x'.repeat(1001) },
      { user_id: 'not-a-uuid', reason: 'x' },
    ]) {
      expectError(await report(alice!, body), 400, 'validation_failed');
    }
    expectError(await resolve(alice!, randomUUID(), 'actioned'), 404, 'not_found');
    expect(await reportsSeenBy(alice!)).toEqual([]);
  });

  test('a reporter’s account erased: the report stays for the moderators, without their words', async () => {
    const [alice, bob, mallory] = await suite.api.users(3, 'reperase');
    const room = await groupRoom(suite.api, alice!, [bob!, mallory!]);
    const message = await say(suite.api, mallory!, room.id, 'rude words');
    const filed = expectStatus(await report(bob!, { message_id: message.id, reason: 'harassing me' }), 201);
    expectStatus(await suite.api.del(bob!, '/users/me', { password: bob!.password }), 204);
    const [kept] = await reportsSeenBy(alice!);
    expect(kept).toMatchObject({ id: filed.id, reporter_id: bob!.id, reason: '', message_content: 'rude words' });
  });
});
