// Blocks end to end, over real HTTP and WebSocket against a running Parley
// process (API.md "Friends and blocks": a block ends a friendship and stops
// requests and direct messages both ways; reliability plan I-4). The direct
// room is closed by a process manager, so its state is polled with a bound.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { barrier, eventually } from '../support/chat.ts';
import type { Frame, TestUser } from '../support/client.ts';
import {
  befriend,
  expectError,
  expectStatus,
  friendIds,
  groupRoom,
  messagesOf,
  openDirect,
  pendingIds,
  postMessage,
  roomWhen,
  say,
  sendFriendRequest,
  useParley,
} from '../support/social.ts';
import type { PresenceStatus, RoomSummary, User } from '../support/wire.ts';

const suite = useParley();
const connect = suite.connect;
const block = async (who: TestUser, whom: TestUser) =>
  expect((await suite.api.post(who, '/blocks', { user_id: whom.id })).status).toBe(204);
const unblock = async (who: TestUser, whom: TestUser) =>
  expect((await suite.api.del(who, `/blocks/${whom.id}`)).status).toBe(204);
const blockedIds = async (who: TestUser): Promise<string[]> =>
  expectStatus(await suite.api.get<{ blocks: User[] }>(who, '/blocks'), 200).blocks.map((u) => u.id);
const statusSeenBy = async (viewer: TestUser, user: TestUser) =>
  expectStatus(await suite.api.get<{ status: PresenceStatus | null }>(viewer, `/users/${user.id}`), 200).status;
const presenceOf = (user: TestUser) => (frame: Frame) => frame.type === 'PRESENCE' && frame.data.user_id === user.id;

/** Friends with their direct room already opened by the process manager; returns the room id. */
async function friendsWithRoom(a: TestUser, b: TestUser): Promise<string> {
  await befriend(suite.api, a, b);
  const room = await openDirect(suite.api, a, b);
  await roomWhen(suite.api, b, room.id, (r) => r.closed === false, 'the direct room is open for both');
  return room.id;
}

describe('blocking', () => {
  test('POST /blocks → 204; GET /blocks lists the blocked user (blocker only); blocking again is idempotent', async () => {
    const [alice, bob] = await suite.api.users(2, 'blk');
    await block(alice!, bob!);
    const body = expectStatus(await suite.api.get<{ blocks: User[] }>(alice!, '/blocks'), 200);
    expect(body.blocks).toEqual([
      expect.objectContaining({ id: bob!.id, username: bob!.username, blocked_at: expect.any(Number) }),
    ]);
    expect(body.blocks[0]).not.toHaveProperty('email');
    expect(await blockedIds(bob!)).toEqual([]);
    await block(alice!, bob!);
    expect(await blockedIds(alice!)).toEqual([bob!.id]);
  });

  test('blocking yourself → 409 self_request; an unknown user → 404 user_not_found; a non-UUID → 400', async () => {
    const [alice] = await suite.api.users(1, 'blkbad');
    expectError(await suite.api.post(alice!, '/blocks', { user_id: alice!.id }), 409, 'self_request');
    expectError(await suite.api.post(alice!, '/blocks', { user_id: randomUUID() }), 404, 'user_not_found');
    expectError(await suite.api.post(alice!, '/blocks', { user_id: 'bob' }), 400, 'validation_failed');
    expectError(await suite.api.del(alice!, '/blocks/bob'), 400);
    expect(await blockedIds(alice!)).toEqual([]);
  });

  test('a block ends the friendship: both friend lists are empty', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'blkf');
    await befriend(suite.api, alice!, bob!);
    await befriend(suite.api, alice!, carol!);
    await block(bob!, alice!);
    expect(await friendIds(suite.api, alice!)).toEqual([carol!.id]);
    expect(await friendIds(suite.api, bob!)).toEqual([]);
  });

  test("a block cancels the blocker's pending request and rejects the one addressed to them", async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'blkreq');
    const aliceWs = await connect(alice!);
    const outgoing = await sendFriendRequest(suite.api, alice!, bob!);
    const incoming = await sendFriendRequest(suite.api, carol!, alice!);
    await block(alice!, bob!);
    await block(alice!, carol!);

    for (const [user, direction] of [
      [alice!, 'outgoing'],
      [alice!, 'incoming'],
      [bob!, 'incoming'],
      [carol!, 'outgoing'],
    ] as const) {
      expect(await pendingIds(suite.api, user, direction), `${user.username} ${direction}`).toEqual([]);
    }
    const updated = (id: string) => (frame: Frame) => frame.type === 'FRIEND_REQUEST_UPDATED' && frame.data.id === id;
    expect((await aliceWs.next(updated(outgoing.id))).data.status).toBe('cancelled');
    expect((await aliceWs.next(updated(incoming.id))).data.status).toBe('rejected');
    // Neither request can be answered afterwards.
    expectError(await suite.api.post(bob!, `/friends/requests/${outgoing.id}/accept`), 404, 'request_not_found');
    expectError(await suite.api.post(alice!, `/friends/requests/${incoming.id}/accept`), 404, 'request_not_found');
    expect(await friendIds(suite.api, alice!)).toEqual([]);
  });

  test('friend requests either way across a block → 403 blocked, nothing pending', async () => {
    const [alice, bob] = await suite.api.users(2, 'blkask');
    await block(alice!, bob!);
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: bob!.id }), 403, 'blocked');
    expectError(await suite.api.post(bob!, '/friends/requests', { user_id: alice!.id }), 403, 'blocked');
    expect(await pendingIds(suite.api, alice!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
  });

  test("while blocked each one's status is hidden (null) from the other, both ways, though they share a room; a bystander still sees it", async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'blkst');
    // Room peers, all three: each may see the others' presence.
    await groupRoom(suite.api, carol!, [alice!, bob!]);
    // Give both a last_seen_at, then bring both online.
    for (const user of [alice!, bob!]) {
      const ws = await connect(user);
      await ws.close();
      await eventually(
        async () => (await statusSeenBy(carol!, user))?.last_seen_at !== null,
        `${user.username} has a last_seen_at`,
      );
    }
    await connect(alice!);
    await connect(bob!);
    expect((await statusSeenBy(alice!, bob!))?.online).toBe(true);
    expect((await statusSeenBy(bob!, alice!))?.online).toBe(true);

    await block(alice!, bob!);
    expect(await statusSeenBy(alice!, bob!)).toBeNull();
    expect(await statusSeenBy(bob!, alice!)).toBeNull();
    expect(await statusSeenBy(carol!, bob!)).toEqual({ online: true, last_seen_at: expect.any(Number) });

    await unblock(alice!, bob!);
    expect(await statusSeenBy(alice!, bob!)).toEqual({ online: true, last_seen_at: expect.any(Number) });
    expect(await statusSeenBy(bob!, alice!)).toEqual({ online: true, last_seen_at: expect.any(Number) });
  });

  test('no PRESENCE frames cross a block, either way, though the two still share their (closed) direct room', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'blkpres');
    await friendsWithRoom(alice!, bob!);
    // carol is a friend of both: she sees each come and go (the control).
    await befriend(suite.api, carol!, alice!);
    await befriend(suite.api, carol!, bob!);
    await block(alice!, bob!);
    const carolWs = await connect(carol!);

    // bob comes and goes while alice watches.
    const aliceWs = await connect(alice!);
    const bobWs = await connect(bob!);
    await carolWs.next((f) => presenceOf(bob!)(f) && f.data.online === true);
    await bobWs.close();
    await carolWs.next((f) => presenceOf(bob!)(f) && f.data.online === false);
    await barrier(aliceWs);
    expect(aliceWs.frames.filter(presenceOf(bob!))).toEqual([]);

    // alice comes and goes while bob watches.
    await aliceWs.close();
    await carolWs.next((f) => presenceOf(alice!)(f) && f.data.online === false);
    const bobWs2 = await connect(bob!);
    const carolSawAlice = carolWs.frames.filter(presenceOf(alice!)).length;
    const aliceWs2 = await connect(alice!);
    await carolWs.waitForCount(presenceOf(alice!), carolSawAlice + 1);
    await aliceWs2.close();
    await carolWs.waitForCount(presenceOf(alice!), carolSawAlice + 2);
    await barrier(bobWs2);
    expect(bobWs2.frames.filter(presenceOf(alice!))).toEqual([]);
  });

  test('unblock → 204; requests are possible again; unblocking someone not blocked is a no-op 204', async () => {
    const [alice, bob] = await suite.api.users(2, 'unblk');
    await block(alice!, bob!);
    await unblock(alice!, bob!);
    expect(await blockedIds(alice!)).toEqual([]);
    await unblock(alice!, bob!);
    const request = await sendFriendRequest(suite.api, bob!, alice!);
    expectStatus(await suite.api.post(alice!, `/friends/requests/${request.id}/accept`), 200);
    expect(await friendIds(suite.api, alice!)).toEqual([bob!.id]);
  });

  test('blocks both ways: one unblock is not enough; the other blocked too, so requests stay 403 until both unblock', async () => {
    const [alice, bob] = await suite.api.users(2, 'mutual');
    await block(alice!, bob!);
    await block(bob!, alice!);
    await unblock(alice!, bob!);
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: bob!.id }), 403, 'blocked');
    expectError(await suite.api.post(bob!, '/friends/requests', { user_id: alice!.id }), 403, 'blocked');
    expect(await blockedIds(bob!)).toEqual([alice!.id]);
    await unblock(bob!, alice!);
    await sendFriendRequest(suite.api, alice!, bob!);
  });

  test('the blocked user may not unblock themself: their DELETE /blocks changes nothing', async () => {
    const [alice, bob] = await suite.api.users(2, 'selfun');
    await block(alice!, bob!);
    await unblock(bob!, alice!);
    expect(await blockedIds(alice!)).toEqual([bob!.id]);
    expectError(await suite.api.post(bob!, '/friends/requests', { user_id: alice!.id }), 403, 'blocked');
  });
});

describe('the direct room across a block', () => {
  test("a block closes the pair's direct room: posts → 403 blocked from both sides, history stays readable, POST /rooms/direct → 403 blocked", async () => {
    const [alice, bob] = await suite.api.users(2, 'blkdm');
    const roomId = await friendsWithRoom(alice!, bob!);
    const before = await say(suite.api, alice!, roomId, 'before the block');

    await block(bob!, alice!);
    for (const viewer of [alice!, bob!]) {
      const room = await roomWhen(suite.api, viewer, roomId, (r) => r.closed === true, `${viewer.username} sees the room closed`);
      expect(room).toMatchObject({ id: roomId, type: 'direct', closed: true });
    }
    for (const sender of [alice!, bob!]) {
      expectError(
        await postMessage(suite.api, sender, roomId, { client_msg_id: randomUUID(), content: 'hello?' }),
        403,
        'blocked',
      );
      expectError(
        await suite.api.post(sender, '/rooms/direct', { user_id: (sender === alice ? bob! : alice!).id }),
        403,
        'blocked',
      );
      const history = await messagesOf(suite.api, sender, roomId);
      expect(history.map((m) => m.id)).toEqual([before.id]);
    }
    // Still listed, marked closed.
    const listed = expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(alice!, '/rooms'), 200).rooms.find(
      (r) => r.id === roomId,
    );
    expect(listed).toMatchObject({ type: 'direct', closed: true });
  });

  test('POST /rooms/direct → 403 blocked even when no direct room existed yet', async () => {
    const [alice, bob] = await suite.api.users(2, 'blknew');
    await block(alice!, bob!);
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: bob!.id }), 403, 'blocked');
    expectError(await suite.api.post(bob!, '/rooms/direct', { user_id: alice!.id }), 403, 'blocked');
    expect(expectStatus(await suite.api.get(alice!, '/rooms'), 200).rooms).toEqual([]);
  });

  test('over WS: SEND_MESSAGE into the closed direct room → ERROR blocked, nothing stored', async () => {
    const [alice, bob] = await suite.api.users(2, 'blkws');
    const roomId = await friendsWithRoom(alice!, bob!);
    await block(alice!, bob!);
    await roomWhen(suite.api, bob!, roomId, (r) => r.closed === true, 'closed');
    const bobWs = await connect(bob!);
    const reply = await bobWs.call('SEND_MESSAGE', { chat_room_id: roomId, content: 'anyone?', client_msg_id: randomUUID() });
    expect(reply.type).toBe('ERROR');
    expect(reply.data.code).toBe('blocked');
    expect(await messagesOf(suite.api, alice!, roomId)).toEqual([]);
  });

  test('unblock then a new friendship reopens the same direct room: messaging works again and history continues', async () => {
    const [alice, bob] = await suite.api.users(2, 'reopen');
    const roomId = await friendsWithRoom(alice!, bob!);
    await say(suite.api, bob!, roomId, 'one');
    await block(alice!, bob!);
    await roomWhen(suite.api, alice!, roomId, (r) => r.closed === true, 'closed by the block');

    await unblock(alice!, bob!);
    // No longer blocked, but no longer friends either.
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: bob!.id }), 409, 'not_friends');
    expectError(
      await postMessage(suite.api, alice!, roomId, { client_msg_id: randomUUID(), content: 'still closed' }),
      403,
      'blocked',
    );

    await befriend(suite.api, bob!, alice!);
    await roomWhen(suite.api, alice!, roomId, (r) => r.closed === false, 'reopened by the new friendship');
    expect((await openDirect(suite.api, alice!, bob!)).id).toBe(roomId);
    expect((await openDirect(suite.api, bob!, alice!)).id).toBe(roomId);
    const two = await say(suite.api, alice!, roomId, 'two');
    expect(two.seq).toBe(2);
    expect((await messagesOf(suite.api, bob!, roomId)).map((m) => m.content)).toEqual(['one', 'two']);
  });
});
