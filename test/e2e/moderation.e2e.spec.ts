// Room moderation end to end over real HTTP and WebSocket (API.md "Moderation"):
// bans keep a user out until lifted, mutes stop a member posting, editing and
// reacting until they run out, slow mode spaces a plain member's messages.
// Owners and admins moderate; admins only plain members and outsiders.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { Frame, TestUser } from '../support/client.ts';
import { addMember, expectError, expectStatus, groupRoom, isErrorFrame, say, useParley } from '../support/social.ts';
import type { Room } from '../support/wire.ts';

const MAX_MUTE_S = 3600;
const suite = useParley({ PARLEY_MAX_MUTE_S: String(MAX_MUTE_S), PARLEY_MAX_SLOW_MODE_S: '600' });
const connect = suite.connect;

/** alice owns the room, carol is an admin, bob and dave are members. */
async function moderatedRoom() {
  const [alice, bob, carol, dave] = (await suite.api.users(4, 'mod')) as [TestUser, TestUser, TestUser, TestUser];
  const room = await groupRoom(suite.api, alice, [bob, carol, dave]);
  expectStatus(await suite.api.patch(alice, `/rooms/${room.id}/members/${carol.id}`, { role: 'admin' }), 200);
  return { alice, bob, carol, dave, roomId: room.id };
}

const post = (user: TestUser, roomId: string, content: string) =>
  suite.api.post(user, `/rooms/${roomId}/messages`, { content, client_msg_id: randomUUID() });
const roomAs = async (user: TestUser, roomId: string) => expectStatus(await suite.api.get<Room>(user, `/rooms/${roomId}`), 200);
const mutedFrame = (user: TestUser, roomId: string) => (frame: Frame) =>
  frame.type === 'MEMBER_MUTED' && frame.data.chat_room_id === roomId && frame.data.user_id === user.id;

describe('bans', () => {
  test('an admin bans a member: removed at once, not to be added or invited again until unbanned', async () => {
    const { alice, bob, carol, dave, roomId } = await moderatedRoom();
    const bobWs = await connect(bob);
    expectStatus(await suite.api.put(carol, `/rooms/${roomId}/bans/${bob.id}`), 204);
    const removed = await bobWs.next((f) => f.type === 'MEMBER_REMOVED' && f.data.user_id === bob.id);
    expect(removed.data).toEqual({ chat_room_id: roomId, user_id: bob.id, removed_by: carol.id });
    expectError(await suite.api.get(bob, `/rooms/${roomId}`), 404, 'room_not_found');
    expect((await roomAs(alice, roomId)).members.map((m) => m.user_id)).not.toContain(bob.id);

    expectError(await suite.api.post(alice, `/rooms/${roomId}/members`, { user_id: bob.id }), 403, 'banned');
    const bans = expectStatus(
      await suite.api.get<{ bans: { user_id: string; banned_by: string }[] }>(alice, `/rooms/${roomId}/bans`),
      200,
    );
    expect(bans.bans).toEqual([{ user_id: bob.id, banned_by: carol.id, banned_at: expect.any(Number) }]);
    expectError(await suite.api.get(dave, `/rooms/${roomId}/bans`), 403, 'forbidden');
    expectError(await suite.api.get(bob, `/rooms/${roomId}/bans`), 404, 'room_not_found');

    expectStatus(await suite.api.del(carol, `/rooms/${roomId}/bans/${bob.id}`), 204);
    expect(expectStatus(await suite.api.get<{ bans: unknown[] }>(alice, `/rooms/${roomId}/bans`), 200).bans).toEqual([]);
    const readded = await addMember(suite.api, alice, roomId, bob);
    expect(readded.body.members.map((m) => m.user_id)).toContain(bob.id);
  });

  test('rank: an admin cannot ban an owner or an admin; a plain member bans nobody; nobody bans themselves', async () => {
    const { alice, bob, carol, dave, roomId } = await moderatedRoom();
    expectError(await suite.api.put(carol, `/rooms/${roomId}/bans/${alice.id}`), 403, 'forbidden');
    expectError(await suite.api.put(bob, `/rooms/${roomId}/bans/${dave.id}`), 403, 'forbidden');
    expectError(await suite.api.put(alice, `/rooms/${roomId}/bans/${alice.id}`), 403, 'forbidden');
    // An owner bans an admin; a user not in the room can be banned ahead.
    expectStatus(await suite.api.put(alice, `/rooms/${roomId}/bans/${carol.id}`), 204);
    const [outsider] = await suite.api.users(1, 'modout');
    expectStatus(await suite.api.put(alice, `/rooms/${roomId}/bans/${outsider!.id}`), 204);
    expectError(await suite.api.post(alice, `/rooms/${roomId}/members`, { user_id: outsider!.id }), 403, 'banned');
  });
});

describe('mutes', () => {
  test('a muted member reads but cannot post, edit or react; everyone hears MEMBER_MUTED; lifting it lets them post again', async () => {
    const { alice, bob, dave, roomId } = await moderatedRoom();
    const mine = await say(suite.api, dave, roomId, 'before the mute');
    const bobWs = await connect(bob);
    const daveWs = await connect(dave);
    const room = expectStatus(await suite.api.put<Room>(alice, `/rooms/${roomId}/mutes/${dave.id}`, { duration_s: 600 }), 200);
    const until = room.members.find((m) => m.user_id === dave.id)!.muted_until!;
    expect(until).toBeGreaterThan(Date.now() + 590_000);
    expect((await bobWs.next(mutedFrame(dave, roomId))).data).toEqual({
      chat_room_id: roomId,
      user_id: dave.id,
      muted_until: until,
      by: alice.id,
    });

    const refused = await post(dave, roomId, 'while muted');
    expectError(refused, 403, 'muted');
    expect((refused.body as { error: { details: unknown } }).error.details).toEqual({ muted_until: until });
    expectError(await suite.api.patch(dave, `/rooms/${roomId}/messages/${mine.id}`, { content: 'edited' }), 403, 'muted');
    expectError(
      await suite.api.put(dave, `/rooms/${roomId}/messages/${mine.id}/reactions/${encodeURIComponent('👍')}`),
      403,
      'muted',
    );
    const frame = await daveWs.call('SEND_MESSAGE', { chat_room_id: roomId, content: 'over the socket' });
    expect(isErrorFrame('muted')(frame)).toBe(true);
    expectStatus(await suite.api.get(dave, `/rooms/${roomId}/messages`), 200); // still reads

    const lifted = expectStatus(await suite.api.put<Room>(alice, `/rooms/${roomId}/mutes/${dave.id}`, { duration_s: null }), 200);
    expect(lifted.members.find((m) => m.user_id === dave.id)!.muted_until).toBeNull();
    await bobWs.next((f) => mutedFrame(dave, roomId)(f) && f.data.muted_until === null);
    expectStatus(await post(dave, roomId, 'after the mute'), 201);
  });

  test('a mute runs out by itself', async () => {
    const { alice, dave, roomId } = await moderatedRoom();
    expectStatus(await suite.api.put(alice, `/rooms/${roomId}/mutes/${dave.id}`, { duration_s: 1 }), 200);
    expectError(await post(dave, roomId, 'too soon'), 403, 'muted');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expectStatus(await post(dave, roomId, 'in time'), 201);
    expect((await roomAs(alice, roomId)).members.find((m) => m.user_id === dave.id)!.muted_until).toBeNull();
  });

  test('bad durations → 400; a plain member mutes nobody; an admin not an owner', async () => {
    const { alice, bob, carol, dave, roomId } = await moderatedRoom();
    for (const duration_s of [0, -5, 1.5, 'x', MAX_MUTE_S + 1]) {
      expectError(await suite.api.put(alice, `/rooms/${roomId}/mutes/${dave.id}`, { duration_s }), 400, 'validation_failed');
    }
    expectError(await suite.api.put(alice, `/rooms/${roomId}/mutes/${dave.id}`, {}), 400, 'validation_failed');
    expectError(await suite.api.put(bob, `/rooms/${roomId}/mutes/${dave.id}`, { duration_s: 60 }), 403, 'forbidden');
    expectError(await suite.api.put(carol, `/rooms/${roomId}/mutes/${alice.id}`, { duration_s: 60 }), 403, 'forbidden');
  });
});

describe('slow mode', () => {
  test('a plain member waits the interval between messages (429 slow_mode with Retry-After); owners and admins do not', async () => {
    const { alice, bob, carol, dave, roomId } = await moderatedRoom();
    const bobWs = await connect(bob);
    const room = expectStatus(await suite.api.put<Room>(carol, `/rooms/${roomId}/slow-mode`, { interval_s: 120 }), 200);
    expect(room.slow_mode_s).toBe(120);
    const updated = await bobWs.next((f) => f.type === 'ROOM_UPDATED' && f.data.id === roomId);
    expect(updated.data.slow_mode_s).toBe(120);

    expectStatus(await post(dave, roomId, 'one'), 201);
    const again = await post(dave, roomId, 'two');
    expectError(again, 429, 'slow_mode');
    const retryAfter = (again.body as { error: { details: { retry_after_s: number } } }).error.details.retry_after_s;
    expect(retryAfter).toBeGreaterThan(100);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(Number(again.headers.get('retry-after'))).toBe(retryAfter);
    // Each member's own clock: bob has not posted yet.
    expectStatus(await post(bob, roomId, 'bob one'), 201);
    for (const manager of [alice, carol]) {
      expectStatus(await post(manager, roomId, 'first'), 201);
      expectStatus(await post(manager, roomId, 'second'), 201);
    }

    expectError(await suite.api.put(bob, `/rooms/${roomId}/slow-mode`, { interval_s: 0 }), 403, 'forbidden');
    expectError(await suite.api.put(alice, `/rooms/${roomId}/slow-mode`, { interval_s: 601 }), 400, 'validation_failed');
    expectStatus(await suite.api.put(alice, `/rooms/${roomId}/slow-mode`, { interval_s: 0 }), 200);
    expectStatus(await post(dave, roomId, 'two, now'), 201);
  });
});
