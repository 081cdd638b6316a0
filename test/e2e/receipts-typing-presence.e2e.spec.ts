// Read receipts, typing indicators and presence end to end, over real HTTP and
// WebSocket against running Parley processes (API.md: POST /rooms/:id/read,
// GET /rooms unread counts, READ_RECEIPT and TYPING frames both ways, PRESENCE,
// GET /users/:id status). The main process keeps typing indicators for a long
// time (PARLEY_TYPING_TTL_MS=600000) so that an indicator that stops can only
// have been stopped by the client or its socket closing; a second process with
// a 500 ms TTL shows the indicator stopping by itself; a third is restarted to
// show last_seen_at survives.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { barrier, eventually, Sockets } from '../support/chat.ts';
import { registerUser, WsClient, type Frame, type TestUser } from '../support/client.ts';
import { apiOf, befriend, expectError, expectStatus, groupRoom, say, useParley } from '../support/social.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';
import type { PresenceStatus, Room, RoomSummary } from '../support/wire.ts';

const suite = useParley({ PARLEY_TYPING_TTL_MS: '600000' });
const connect = suite.connect;
const read = (user: TestUser, roomId: string, seq: unknown) => suite.api.post(user, `/rooms/${roomId}/read`, { seq });
const listed = async (user: TestUser, roomId: string) =>
  expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(user, '/rooms'), 200).rooms.find((r) => r.id === roomId);
const receiptFrom = (user: TestUser, roomId: string, seq?: number) => (frame: Frame) =>
  frame.type === 'READ_RECEIPT' &&
  frame.data.chat_room_id === roomId &&
  frame.data.user_id === user.id &&
  (seq === undefined || frame.data.seq === seq);
const typingOf = (user: TestUser, roomId: string, isTyping?: boolean) => (frame: Frame) =>
  frame.type === 'TYPING' &&
  frame.data.chat_room_id === roomId &&
  frame.data.user_id === user.id &&
  (isTyping === undefined || frame.data.is_typing === isTyping);
const presenceOf = (user: TestUser, online?: boolean) => (frame: Frame) =>
  frame.type === 'PRESENCE' && frame.data.user_id === user.id && (online === undefined || frame.data.online === online);
const typing = (ws: WsClient, roomId: string, isTyping: boolean) =>
  ws.send({ type: 'TYPING', ref: randomUUID(), timestamp: Date.now(), data: { chat_room_id: roomId, is_typing: isTyping } });

/** A room where `alice` has posted `count` messages (seqs 1..count). */
async function roomWithMessages(count: number) {
  const [alice, bob, carol] = await suite.api.users(3, 'rcpt');
  const room = await groupRoom(suite.api, alice!, [bob!, carol!]);
  for (let i = 1; i <= count; i++) await say(suite.api, alice!, room.id, `message ${i}`);
  return { alice: alice!, bob: bob!, carol: carol!, roomId: room.id };
}

describe('read receipts', () => {
  test('POST /rooms/:id/read {seq} → last_read_seq; GET /rooms shows last_read_seq, unread_count and last_message; so does the room', async () => {
    const { alice, bob, roomId } = await roomWithMessages(5);
    expect(await listed(bob, roomId)).toMatchObject({
      last_read_seq: 0,
      unread_count: 5,
      last_message: { seq: 5, content: 'message 5' },
    });
    // The sender has read up to their own message.
    expect(await listed(alice, roomId)).toMatchObject({ last_read_seq: 5, unread_count: 0 });

    expect(expectStatus(await read(bob, roomId, 3), 200)).toEqual({ chat_room_id: roomId, last_read_seq: 3 });
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 3, unread_count: 2, last_message: { seq: 5 } });
    const room = expectStatus(await suite.api.get<Room>(alice, `/rooms/${roomId}`), 200);
    expect(room.members.find((m) => m.user_id === bob.id)!.last_read_seq).toBe(3);

    await say(suite.api, alice, roomId, 'message 6');
    expect(await listed(bob, roomId)).toMatchObject({
      last_read_seq: 3,
      unread_count: 3,
      last_message: { seq: 6, content: 'message 6' },
    });
  });

  test('the marker never goes backwards: reading 4, then 2, then 0 leaves it at 4', async () => {
    const { bob, roomId } = await roomWithMessages(5);
    expect(expectStatus(await read(bob, roomId, 4), 200).last_read_seq).toBe(4);
    expect(expectStatus(await read(bob, roomId, 2), 200).last_read_seq).toBe(4);
    expect(expectStatus(await read(bob, roomId, 0), 200).last_read_seq).toBe(4);
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 4, unread_count: 1 });
  });

  test('a seq beyond the last message is clamped to it; later messages count as unread again', async () => {
    const { alice, bob, roomId } = await roomWithMessages(3);
    expect(expectStatus(await read(bob, roomId, 999), 200).last_read_seq).toBe(3);
    expect(expectStatus(await read(bob, roomId, Number.MAX_SAFE_INTEGER), 200).last_read_seq).toBe(3);
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 3, unread_count: 0 });
    await say(suite.api, alice, roomId, 'message 4');
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 3, unread_count: 1 });
  });

  test('bad bodies → 400 (negative, fractional, string, missing, extra field); a non-member → 404', async () => {
    const { bob, roomId } = await roomWithMessages(1);
    const [stranger] = await suite.api.users(1, 'rcptx');
    for (const body of [{ seq: -1 }, { seq: 1.5 }, { seq: '1' }, {}, { seq: 1, user_id: stranger!.id }]) {
      expectError(await suite.api.post(bob, `/rooms/${roomId}/read`, body), 400, 'validation_failed');
    }
    expectError(await read(stranger!, roomId, 1), 404, 'room_not_found');
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 0 });
  });

  test('a REST read → the other members get READ_RECEIPT {chat_room_id, user_id, seq}; a backwards one sends none', async () => {
    const { alice, bob, roomId } = await roomWithMessages(4);
    const aliceWs = await connect(alice);
    expectStatus(await read(bob, roomId, 2), 200);
    const frame = await aliceWs.next(receiptFrom(bob, roomId, 2));
    expect(frame.data).toEqual({ chat_room_id: roomId, user_id: bob.id, seq: 2 });
    expectStatus(await read(bob, roomId, 1), 200); // backwards: no change, no frame
    expectStatus(await read(bob, roomId, 3), 200);
    await aliceWs.next(receiptFrom(bob, roomId, 3));
    await barrier(aliceWs);
    expect(aliceWs.frames.filter(receiptFrom(bob, roomId)).map((f) => f.data.seq)).toEqual([2, 3]);
  });

  test('a WS READ_RECEIPT frame → ACK with last_read_seq; the other members get READ_RECEIPT; REST shows it', async () => {
    const { alice, bob, carol, roomId } = await roomWithMessages(5);
    const aliceWs = await connect(alice);
    const carolWs = await connect(carol);
    const bobWs = await connect(bob);

    const ack = await bobWs.call('READ_RECEIPT', { chat_room_id: roomId, seq: 4 });
    expect(ack.type).toBe('ACK');
    expect(ack.data).toMatchObject({ chat_room_id: roomId, last_read_seq: 4 });
    for (const ws of [aliceWs, carolWs]) {
      expect((await ws.next(receiptFrom(bob, roomId))).data).toEqual({ chat_room_id: roomId, user_id: bob.id, seq: 4 });
    }
    expect(await listed(bob, roomId)).toMatchObject({ last_read_seq: 4, unread_count: 1 });

    // Backwards over WS: the ACK says where the marker stands.
    const back = await bobWs.call('READ_RECEIPT', { chat_room_id: roomId, seq: 1 });
    expect(back.data).toMatchObject({ last_read_seq: 4 });
    const beyond = await bobWs.call('READ_RECEIPT', { chat_room_id: roomId, seq: 50 });
    expect(beyond.data).toMatchObject({ last_read_seq: 5 });
    await aliceWs.next(receiptFrom(bob, roomId, 5));

    // And the other way round: alice's REST read reaches bob's socket.
    await say(suite.api, bob, roomId, 'from bob');
    expectStatus(await read(alice, roomId, 6), 200);
    expect((await bobWs.next(receiptFrom(alice, roomId, 6))).data).toEqual({ chat_room_id: roomId, user_id: alice.id, seq: 6 });
  });

  test('WS READ_RECEIPT for a room I am not in → ERROR room_not_found; a bad seq → ERROR validation_failed; the socket stays usable', async () => {
    const { roomId } = await roomWithMessages(1);
    const [stranger] = await suite.api.users(1, 'rcptws');
    const ws = await connect(stranger!);
    const denied = await ws.call('READ_RECEIPT', { chat_room_id: roomId, seq: 1 });
    expect(denied.type).toBe('ERROR');
    expect(denied.data.code).toBe('room_not_found');
    const bad = await ws.call('READ_RECEIPT', { chat_room_id: roomId, seq: -3 });
    expect(bad.type).toBe('ERROR');
    expect(bad.data.code).toBe('validation_failed');
    await barrier(ws);
  });
});

describe('delivery receipts', () => {
  const deliveredFrom = (user: TestUser, roomId: string, seq?: number) => (frame: Frame) =>
    frame.type === 'DELIVERY_RECEIPT' &&
    frame.data.chat_room_id === roomId &&
    frame.data.user_id === user.id &&
    (seq === undefined || frame.data.seq === seq);
  interface Receipts {
    message_id: string;
    seq: number;
    recipients: number;
    delivered_to: string[];
    read_by: string[];
  }
  const receiptsOf = async (user: TestUser, roomId: string, messageId: string) =>
    expectStatus(await suite.api.get<Receipts>(user, `/rooms/${roomId}/messages/${messageId}/receipts`), 200);

  test('a WS DELIVERED frame → ACK with last_delivered_seq; the sender hears DELIVERY_RECEIPT; the message shows whom it reached and who read it', async () => {
    const { alice, bob, carol, roomId } = await roomWithMessages(3);
    const history = expectStatus(
      await suite.api.get<{ messages: { id: string; seq: number }[] }>(alice, `/rooms/${roomId}/messages`),
      200,
    );
    const third = history.messages.find((m) => m.seq === 3)!;
    expect(await receiptsOf(alice, roomId, third.id)).toEqual({
      message_id: third.id,
      seq: 3,
      recipients: 2,
      delivered_to: [],
      read_by: [],
    });

    const aliceWs = await connect(alice);
    const bobWs = await connect(bob);
    const ack = await bobWs.call('DELIVERED', { chat_room_id: roomId, seq: 3 });
    expect(ack.type).toBe('ACK');
    expect(ack.data).toMatchObject({ chat_room_id: roomId, last_delivered_seq: 3 });
    expect((await aliceWs.next(deliveredFrom(bob, roomId))).data).toEqual({ chat_room_id: roomId, user_id: bob.id, seq: 3 });
    expect(await receiptsOf(alice, roomId, third.id)).toMatchObject({ delivered_to: [bob.id], read_by: [] });

    // Over REST too; reading implies delivery (carol's read counts as reached without a receipt).
    expect(expectStatus(await read(carol, roomId, 3), 200)).toMatchObject({ last_read_seq: 3 });
    const both = [bob.id, carol.id].sort();
    expect(await receiptsOf(bob, roomId, third.id)).toMatchObject({ delivered_to: both, read_by: [carol.id] });
    const room = expectStatus(await suite.api.get<Room>(alice, `/rooms/${roomId}`), 200);
    const marks = (id: string) => room.members.find((m) => m.user_id === id)!;
    expect(marks(bob.id)).toMatchObject({ last_read_seq: 0, last_delivered_seq: 3 });
    expect(marks(carol.id)).toMatchObject({ last_read_seq: 3, last_delivered_seq: 3 });

    // Backwards or at the read mark: nothing moves and nobody hears a receipt.
    const back = await bobWs.call('DELIVERED', { chat_room_id: roomId, seq: 1 });
    expect(back.data).toMatchObject({ last_delivered_seq: 3 });
    expect(
      expectStatus(await suite.api.post<{ last_delivered_seq: number }>(carol, `/rooms/${roomId}/delivered`, { seq: 2 }), 200),
    ).toEqual({ chat_room_id: roomId, last_delivered_seq: 3 });
    await say(suite.api, alice, roomId, 'message 4');
    expect(
      expectStatus(await suite.api.post<{ last_delivered_seq: number }>(carol, `/rooms/${roomId}/delivered`, { seq: 4 }), 200),
    ).toEqual({ chat_room_id: roomId, last_delivered_seq: 4 });
    await aliceWs.next(deliveredFrom(carol, roomId, 4));
    await barrier(aliceWs);
    expect(aliceWs.frames.filter(deliveredFrom(bob, roomId)).map((f) => f.data.seq)).toEqual([3]);
    expect(aliceWs.frames.filter(deliveredFrom(carol, roomId)).map((f) => f.data.seq)).toEqual([4]);
  });

  test('DELIVERED for a room I am not in → ERROR room_not_found; receipts of a room I am not in → 404; a bad seq → 400', async () => {
    const { alice, roomId } = await roomWithMessages(1);
    const [stranger] = await suite.api.users(1, 'dlvr');
    const ws = await connect(stranger!);
    const denied = await ws.call('DELIVERED', { chat_room_id: roomId, seq: 1 });
    expect(denied.data.code).toBe('room_not_found');
    const history = expectStatus(await suite.api.get<{ messages: { id: string }[] }>(alice, `/rooms/${roomId}/messages`), 200);
    expectError(
      await suite.api.get(stranger!, `/rooms/${roomId}/messages/${history.messages[0]!.id}/receipts`),
      404,
      'room_not_found',
    );
    expectError(await suite.api.get(alice, `/rooms/${roomId}/messages/${randomUUID()}/receipts`), 404, 'message_not_found');
    expectError(await suite.api.post(alice, `/rooms/${roomId}/delivered`, { seq: 'x' }), 400, 'validation_failed');
    await barrier(ws);
  });
});

describe('typing', () => {
  test('TYPING true → the other members get TYPING true, the typist (any of their sockets) and outsiders do not; false → TYPING false', async () => {
    const { alice, bob, carol, roomId } = await roomWithMessages(0);
    const [outsider] = await suite.api.users(1, 'typx');
    const bobWs = await connect(bob);
    const carolWs = await connect(carol);
    const aliceWs = await connect(alice);
    const aliceOther = await connect(alice);
    const outsiderWs = await connect(outsider!);

    typing(aliceWs, roomId, true);
    for (const ws of [bobWs, carolWs]) {
      expect((await ws.next(typingOf(alice, roomId, true))).data).toEqual({
        chat_room_id: roomId,
        user_id: alice.id,
        is_typing: true,
      });
    }
    typing(aliceWs, roomId, false);
    for (const ws of [bobWs, carolWs]) {
      expect((await ws.next(typingOf(alice, roomId, false))).data).toEqual({
        chat_room_id: roomId,
        user_id: alice.id,
        is_typing: false,
      });
    }
    for (const ws of [aliceWs, aliceOther, outsiderWs]) {
      await barrier(ws);
      expect(ws.frames.filter((f) => f.type === 'TYPING')).toEqual([]);
    }
    // A successful TYPING has no reply of its own (no ERROR either).
    expect(aliceWs.frames.filter((f) => f.type === 'ERROR')).toEqual([]);
  });

  test('refreshing TYPING true while typing sends no second TYPING true; each start after a stop does', async () => {
    const { alice, bob, roomId } = await roomWithMessages(0);
    const bobWs = await connect(bob);
    const aliceWs = await connect(alice);
    typing(aliceWs, roomId, true);
    await bobWs.next(typingOf(alice, roomId, true));
    typing(aliceWs, roomId, true);
    typing(aliceWs, roomId, true);
    typing(aliceWs, roomId, false);
    await bobWs.next(typingOf(alice, roomId, false));
    typing(aliceWs, roomId, true);
    await bobWs.waitForCount(typingOf(alice, roomId, true), 2);
    typing(aliceWs, roomId, false);
    await bobWs.waitForCount(typingOf(alice, roomId, false), 2);
    await barrier(bobWs);
    expect(bobWs.frames.filter(typingOf(alice, roomId)).map((f) => f.data.is_typing)).toEqual([true, false, true, false]);
  });

  test("closing the typist's socket stops the indicator: the others get TYPING false", async () => {
    const { alice, bob, roomId } = await roomWithMessages(0);
    const bobWs = await connect(bob);
    const aliceWs = await connect(alice);
    typing(aliceWs, roomId, true);
    await bobWs.next(typingOf(alice, roomId, true));
    await aliceWs.close();
    const stopped = await bobWs.next(typingOf(alice, roomId, false));
    expect(stopped.data).toEqual({ chat_room_id: roomId, user_id: alice.id, is_typing: false });
  });

  test('TYPING in a room I am not in → ERROR room_not_found, and its members hear nothing', async () => {
    const { bob, roomId } = await roomWithMessages(0);
    const [stranger] = await suite.api.users(1, 'typnm');
    const bobWs = await connect(bob);
    const strangerWs = await connect(stranger!);
    const reply = await strangerWs.call('TYPING', { chat_room_id: roomId, is_typing: true });
    expect(reply.type).toBe('ERROR');
    expect(reply.data.code).toBe('room_not_found');
    await barrier(bobWs);
    expect(bobWs.frames.filter((f) => f.type === 'TYPING')).toEqual([]);
  });

  test('a bad TYPING frame (is_typing not a boolean, a bad room id) → ERROR validation_failed', async () => {
    const { alice, roomId } = await roomWithMessages(0);
    const ws = await connect(alice);
    for (const data of [
      { chat_room_id: roomId, is_typing: 'yes' },
      { chat_room_id: 'nope', is_typing: true },
    ]) {
      const reply = await ws.call('TYPING', data);
      expect(reply.type).toBe('ERROR');
      expect(reply.data.code).toBe('validation_failed');
    }
  });
});

describe('typing indicators expire (PARLEY_TYPING_TTL_MS=500)', () => {
  let short: ParleyProcess;
  const local = new Sockets();
  beforeAll(async () => {
    short = await startParley({ env: { PARLEY_REGISTER_MAX_PER_IP: '100000', PARLEY_TYPING_TTL_MS: '500' } });
    return () => short.stop(); // after afterAll below
  });
  afterAll(() => {
    local.closeAll();
  });

  test('without a stop or a refresh, the others get TYPING false by itself', async () => {
    const shortApi = apiOf(short.url);
    const [alice, bob] = await shortApi.users(2, 'ttl');
    const room = await groupRoom(shortApi, alice!, [bob!]);
    const bobWs = await local.connect(short.wsUrl, bob!);
    const aliceWs = await local.connect(short.wsUrl, alice!);
    typing(aliceWs, room.id, true);
    await bobWs.next(typingOf(alice!, room.id, true));
    // The typist's socket stays open and silent; the indicator ends on its own.
    const stopped = await bobWs.next(typingOf(alice!, room.id, false), 10_000);
    expect(stopped.data).toEqual({ chat_room_id: room.id, user_id: alice!.id, is_typing: false });
    expect(aliceWs.closeCode).toBeNull();
  });
});

describe('presence', () => {
  test('a friend and a room peer get PRESENCE online at the first socket and offline (with last_seen_at) at the last; a second socket adds nothing; a stranger hears nothing', async () => {
    const [alice, friend, peer, stranger] = await suite.api.users(4, 'pres');
    await befriend(suite.api, alice!, friend!);
    const shared = await groupRoom(suite.api, peer!, [alice!]);
    const friendWs = await connect(friend!);
    const peerWs = await connect(peer!);
    const strangerWs = await connect(stranger!);

    const first = await connect(alice!);
    for (const ws of [friendWs, peerWs]) {
      expect((await ws.next(presenceOf(alice!, true))).data).toEqual({ user_id: alice!.id, online: true, last_seen_at: null });
    }
    const statusSeen = async () =>
      expectStatus(await suite.api.get<{ status: PresenceStatus }>(friend!, `/users/${alice!.id}`), 200).status;
    expect((await statusSeen()).online).toBe(true);

    const second = await connect(alice!);
    await first.close();
    // alice is still online on her second socket: a round trip there, then a typing
    // signal through the same signals log, before checking that nothing was announced.
    await barrier(second);
    typing(second, shared.id, true);
    await peerWs.next(typingOf(alice!, shared.id, true));
    typing(second, shared.id, false);
    await peerWs.next(typingOf(alice!, shared.id, false));
    for (const ws of [friendWs, peerWs]) {
      await barrier(ws);
      expect(ws.frames.filter(presenceOf(alice!)).map((f) => f.data.online)).toEqual([true]);
    }
    expect((await statusSeen()).online).toBe(true);

    await second.close();
    const offline = await friendWs.next(presenceOf(alice!, false));
    expect(offline.data).toEqual({ user_id: alice!.id, online: false, last_seen_at: expect.any(Number) });
    await peerWs.next(presenceOf(alice!, false));
    for (const ws of [friendWs, peerWs]) {
      await barrier(ws);
      expect(ws.frames.filter(presenceOf(alice!)).map((f) => f.data.online)).toEqual([true, false]);
    }
    await barrier(strangerWs);
    expect(strangerWs.frames.filter((f) => f.type === 'PRESENCE')).toEqual([]);

    // GET /users/:id agrees with the frame once last_seen_at is recorded.
    await eventually(async () => (await statusSeen()).last_seen_at !== null, 'last_seen_at recorded');
    expect(await statusSeen()).toEqual({ online: false, last_seen_at: offline.data.last_seen_at });
  });

  test('coming back online: PRESENCE online again (last_seen_at null in the frame) and GET /users/:id shows online with the previous last_seen_at', async () => {
    const [alice, friend] = await suite.api.users(2, 'presback');
    await befriend(suite.api, alice!, friend!);
    const friendWs = await connect(friend!);
    const once = await connect(alice!);
    await once.close();
    const offline = await friendWs.next(presenceOf(alice!, false));
    await eventually(
      async () =>
        expectStatus(await suite.api.get<{ status: PresenceStatus }>(friend!, `/users/${alice!.id}`), 200).status.last_seen_at !==
        null,
      'last_seen_at recorded',
    );
    await connect(alice!);
    await friendWs.waitForCount(presenceOf(alice!, true), 2);
    expect(expectStatus(await suite.api.get(friend!, `/users/${alice!.id}`), 200).status).toEqual({
      online: true,
      last_seen_at: offline.data.last_seen_at,
    });
  });
});

describe('who sees presence: one rule for PRESENCE frames and GET /users/:id', () => {
  test('the user, a friend and a room peer see the status and hear PRESENCE; a stranger sees status null and hears nothing', async () => {
    const [alice, friend, peer, stranger] = await suite.api.users(4, 'seen');
    await befriend(suite.api, alice!, friend!);
    await groupRoom(suite.api, peer!, [alice!]);
    const listeners = { friend: await connect(friend!), peer: await connect(peer!), stranger: await connect(stranger!) };

    await connect(alice!);
    await listeners.friend.next(presenceOf(alice!, true));
    await listeners.peer.next(presenceOf(alice!, true));
    const statusSeenBy = async (viewer: TestUser) =>
      expectStatus(await suite.api.get<{ status: PresenceStatus | null }>(viewer, `/users/${alice!.id}`), 200).status;
    for (const viewer of [alice!, friend!, peer!]) {
      expect(await statusSeenBy(viewer), viewer.username).toEqual({ online: true, last_seen_at: null });
    }

    expect(await statusSeenBy(stranger!)).toBeNull();
    await barrier(listeners.stranger);
    expect(listeners.stranger.frames.filter(presenceOf(alice!))).toEqual([]);
    // The profile itself stays public.
    expect(expectStatus(await suite.api.get(stranger!, `/users/${alice!.id}`), 200)).toMatchObject({ id: alice!.id });
  });

  test('a stranger who comes to share a room with the user sees their status from then on', async () => {
    const [alice, stranger] = await suite.api.users(2, 'joins');
    await connect(alice!);
    const statusSeen = async () =>
      expectStatus(await suite.api.get<{ status: PresenceStatus | null }>(stranger!, `/users/${alice!.id}`), 200).status;
    expect(await statusSeen()).toBeNull();
    await groupRoom(suite.api, alice!, [stranger!]);
    await eventually(async () => (await statusSeen())?.online === true, 'alice online, as a room peer sees her');
  });
});

describe('last_seen_at is durable', () => {
  test('it survives a process restart on the same data dir', async () => {
    const dataDir = tempDataDir();
    const env = { PARLEY_REGISTER_MAX_PER_IP: '100000' };
    let first: ParleyProcess | undefined = await startParley({ dataDir, env });
    let second: ParleyProcess | undefined;
    try {
      const alice = await registerUser(first.url, 'durable');
      const viewer = await registerUser(first.url, 'viewer');
      const firstApi = apiOf(first.url);
      await groupRoom(firstApi, viewer, [alice]); // a room peer may see alice's presence
      const socket = await WsClient.connect(first.wsUrl, alice.token);
      await socket.close();
      let seen: PresenceStatus | undefined;
      await eventually(async () => {
        seen = expectStatus(await firstApi.get<{ status: PresenceStatus }>(viewer, `/users/${alice.id}`), 200).status;
        return seen.last_seen_at !== null;
      }, 'last_seen_at recorded');
      expect(seen).toEqual({ online: false, last_seen_at: expect.any(Number) });
      expect(await first.stop()).toBe(0);
      first = undefined;

      second = await startParley({ dataDir, env });
      const after = expectStatus(await apiOf(second.url).get(viewer, `/users/${alice.id}`), 200).status;
      expect(after).toEqual(seen);
    } finally {
      await first?.stop();
      await second?.stop();
    }
  });
});
