// The room as it was (API.md "The room as it was"; issue 15): a room's owners
// and admins, and global admins, see its members, roles and messages as they
// stood at a past moment, folded from the log — what was erased since (a
// message deleted later) stays erased. Over real HTTP against a running
// Parley process, in the mode of the vitest project.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { registerNamedUser, request, type TestUser } from '../support/client.ts';
import { expectError, expectStatus, groupRoom, say, useParley } from '../support/social.ts';
import type { RoomAsOfPage } from '../../src/queries/room-as-of.ts';

const adminName = `asof_${randomUUID().slice(0, 8)}`;
const suite = useParley({ PARLEY_ADMINS: adminName });

type AsOf = RoomAsOfPage;

/** A moment strictly between what came before and what comes after (the log's times are milliseconds). */
async function aMoment(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 25));
  const at = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 25));
  return at;
}

const asOf = (who: TestUser, roomId: string, query: string) => suite.api.get<AsOf>(who, `/rooms/${roomId}/as-of?${query}`);
const roles = (view: AsOf) => Object.fromEntries(view.members.map((m) => [m.user_id, m.role]));

describe('GET /rooms/:id/as-of', () => {
  test('members, roles and messages as they stood then; the present differs; a message deleted since stays erased', async () => {
    const [owner, bob, carol] = await suite.api.users(3, 'asof');
    const room = await groupRoom(suite.api, owner!, [bob!, carol!], 'before');
    const first = await say(suite.api, owner!, room.id, 'first words');
    const regretted = await say(suite.api, bob!, room.id, 'words bob takes back');
    const third = await say(suite.api, carol!, room.id, 'third');
    const then = await aMoment();

    expectStatus(
      await suite.api.patch(owner!, `/rooms/${room.id}/messages/${first.id}`, { content: 'first words, edited' }),
      200,
    );
    expectStatus(await suite.api.del(bob!, `/rooms/${room.id}/messages/${regretted.id}`), 200);
    expectStatus(await suite.api.del(owner!, `/rooms/${room.id}/members/${carol!.id}`), 204);
    expectStatus(await suite.api.patch(owner!, `/rooms/${room.id}/members/${bob!.id}`, { role: 'admin' }), 200);
    expectStatus(await suite.api.patch(owner!, `/rooms/${room.id}`, { name: 'after', topic: 'new topic' }), 200);
    const later = await say(suite.api, bob!, room.id, 'later');

    const past = expectStatus(await asOf(owner!, room.id, `t=${then}`), 200);
    expect(past).toMatchObject({ room_id: room.id, as_of: then, next_before_seq: null });
    expect(past.room).toEqual({
      type: 'group',
      name: 'before',
      topic: '',
      closed: false,
      created_by: owner!.id,
      created_at: expect.any(Number),
    });
    expect(roles(past)).toEqual({ [owner!.id]: 'owner', [bob!.id]: 'member', [carol!.id]: 'member' });
    expect(past.messages.map((m) => [m.seq, m.sender_id, m.content, m.deleted, m.erased, m.edited_at])).toEqual([
      [first.seq, owner!.id, 'first words', false, false, null],
      // Deleted since: its key is destroyed, so even the past shows nothing of it.
      [regretted.seq, bob!.id, null, false, true, null],
      [third.seq, carol!.id, 'third', false, false, null],
    ]);

    // The same moment as an ISO 8601 date-time.
    const iso = expectStatus(await asOf(owner!, room.id, `t=${encodeURIComponent(new Date(then).toISOString())}`), 200);
    expect(iso.messages).toEqual(past.messages);

    const now = expectStatus(await asOf(owner!, room.id, `t=${Date.now() + 1000}`), 200);
    expect(now.room).toMatchObject({ name: 'after', topic: 'new topic' });
    expect(roles(now)).toEqual({ [owner!.id]: 'owner', [bob!.id]: 'admin' });
    expect(now.messages.map((m) => [m.seq, m.content, m.deleted])).toEqual([
      [first.seq, 'first words, edited', false],
      [regretted.seq, null, true],
      [third.seq, 'third', false],
      [later.seq, 'later', false],
    ]);
    expect(now.messages[0]!.edited_at).toEqual(expect.any(Number));

    // Before the room existed: nothing.
    const before = expectStatus(await asOf(owner!, room.id, `t=${room.created_at - 1000}`), 200);
    expect(before).toMatchObject({ room: null, members: [], messages: [] });
  });

  test('pages of messages go back with before_seq', async () => {
    const [owner] = await suite.api.users(1, 'asofpage');
    const room = await groupRoom(suite.api, owner!);
    const said = [];
    for (let i = 1; i <= 5; i++) said.push(await say(suite.api, owner!, room.id, `message ${i}`));
    const t = await aMoment();
    const newest = expectStatus(await asOf(owner!, room.id, `t=${t}&limit=2`), 200);
    expect(newest.messages.map((m) => m.content)).toEqual(['message 4', 'message 5']);
    expect(newest.next_before_seq).toBe(said[3]!.seq);
    const older = expectStatus(await asOf(owner!, room.id, `t=${t}&limit=2&before_seq=${newest.next_before_seq}`), 200);
    expect(older.messages.map((m) => m.content)).toEqual(['message 2', 'message 3']);
    const oldest = expectStatus(await asOf(owner!, room.id, `t=${t}&limit=2&before_seq=${older.next_before_seq}`), 200);
    expect(oldest.messages.map((m) => m.content)).toEqual(['message 1']);
    expect(oldest.next_before_seq).toBeNull();
  });

  test('owners, admins and global admins may look; a plain member gets 403, anyone else 404; bad moments are 400', async () => {
    const [owner, member, stranger] = await suite.api.users(3, 'asofwho');
    const room = await groupRoom(suite.api, owner!, [member!]);
    await say(suite.api, owner!, room.id, 'hello');
    const t = `t=${Date.now()}`;

    expectError(await asOf(member!, room.id, t), 403, 'forbidden');
    expectError(await asOf(stranger!, room.id, t), 404, 'room_not_found');
    expectError(await asOf(stranger!, randomUUID(), t), 404, 'room_not_found');
    expect((await request(suite.parley.url, 'GET', `/api/v1/rooms/${room.id}/as-of?${t}`)).status).toBe(401);

    // A global admin, not in the room.
    const admin = await registerNamedUser(suite.parley.url, adminName);
    expect(expectStatus(await asOf(admin, room.id, t), 200).messages.map((m) => m.content)).toEqual(['hello']);

    for (const query of ['', 't=yesterday', 't=-5', 't=1.5', 't=2026-13-45T00:00:00Z', `${t}&limit=0`, `${t}&extra=1`]) {
      expectError(await asOf(owner!, room.id, query), 400, 'validation_failed');
    }
  });
});
