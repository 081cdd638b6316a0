// The WebSocket contract (API.md "WebSocket GET /ws") exercised with real
// sockets against a real `parley start` process: authentication, sending and
// fan-out, joining with replay, presence in a room, authorization, frame
// validation, limits, idempotency and concurrent senders.

import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { registerUser, request, WsClient, type Frame, type TestUser } from '../support/client.ts';
import {
  barrier,
  createRoom,
  eventually,
  fullHistory,
  historyWith,
  newMessagesIn,
  range1,
  seqsIn,
  Sockets,
} from '../support/chat.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { ErrorBody, Message } from '../support/wire.ts';

let parley: ParleyProcess;
const sockets = new Sockets();

beforeAll(async () => {
  parley = await startParley({
    env: {
      // Every test registers fresh users from the same address.
      PARLEY_REGISTER_MAX_PER_IP: '100000',
      PARLEY_WS_MAX_SOCKETS_PER_USER: '10',
    },
  });
  return () => parley.stop();
});
afterEach(() => {
  sockets.closeAll();
});

const user = (prefix = 'u'): Promise<TestUser> => registerUser(parley.url, prefix);
const connect = (who: TestUser): Promise<WsClient> => sockets.connect(parley.wsUrl, who);
const isError = (code: string) => (frame: Frame) => frame.type === 'ERROR' && frame.data.code === code;
let counter = 0;
const cid = (): string => `c-${counter++}-${randomUUID().slice(0, 8)}`;

/** An ACK of SEND_MESSAGE: the message as the event stream has it. */
type Ack = Frame<{ ref: string; message: Message }>;

async function sendOk(client: WsClient, roomId: string, content: string, clientMsgId = cid()): Promise<Ack> {
  const reply = await client.call<Ack['data']>('SEND_MESSAGE', { chat_room_id: roomId, content, client_msg_id: clientMsgId });
  if (reply.type !== 'ACK') throw new Error(`expected ACK, got ${JSON.stringify(reply)}`);
  return reply;
}

describe('authentication', () => {
  test('a token on the URL authenticates the socket: AUTH_SUCCESS names the user', async () => {
    const alice = await user('alice');
    const client = sockets.add(new WsClient(parley.wsUrl, { token: alice.token }));
    await client.opened;
    const success = await client.next((frame) => frame.type === 'AUTH_SUCCESS');
    expect(success.data.user_id).toBe(alice.id);
    await barrier(client);
  });

  test('a first AUTH frame authenticates a socket opened without a token', async () => {
    const alice = await user('alice');
    const client = sockets.add(new WsClient(parley.wsUrl));
    await client.opened;
    client.send({ type: 'AUTH', ref: 'auth-1', timestamp: Date.now(), data: { token: alice.token } });
    const success = await client.next((frame) => frame.type === 'AUTH_SUCCESS');
    expect(success.data.user_id).toBe(alice.id);
    // The session is usable: it can ping and send into its rooms.
    await barrier(client);
    const roomId = await createRoom(parley.url, alice);
    const ack = await sendOk(client, roomId, 'authenticated by frame');
    expect(ack.data.message.sender_id).toBe(alice.id);
  });

  test('without a token, a first frame that is not AUTH gets ERROR and the socket is closed 1008', async () => {
    const client = sockets.add(new WsClient(parley.wsUrl));
    await client.opened;
    client.send({ type: 'PING', ref: 'p1', timestamp: Date.now() });
    const error = await client.next((frame) => frame.type === 'ERROR');
    expect(error.data.code).toBe('unauthorized');
    expect(await client.closed).toBe(1008);
    expect(client.frames.some((frame) => frame.type === 'AUTH_SUCCESS' || frame.type === 'PONG')).toBe(false);
  });

  test('an invalid AUTH frame token gets ERROR invalid_token and the socket is closed 1008', async () => {
    const client = sockets.add(new WsClient(parley.wsUrl));
    await client.opened;
    client.send({ type: 'AUTH', ref: 'a1', timestamp: Date.now(), data: { token: 'not-a-jwt' } });
    const error = await client.next((frame) => frame.type === 'ERROR');
    expect(error.data.code).toBe('invalid_token');
    expect(await client.closed).toBe(1008);
    expect(client.frames.some((frame) => frame.type === 'AUTH_SUCCESS')).toBe(false);
  });

  test('an invalid token on the URL is refused at the handshake with 401 (no socket opens)', async () => {
    const alice = await user('alice');
    // A valid token with one character of its signature changed.
    const [header, payload, signature] = alice.token.split('.') as [string, string, string];
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    for (const token of ['garbage', `${header}.${payload}.${flipped}`, `${header}.${payload}.`]) {
      const client = sockets.add(new WsClient(parley.wsUrl, { token }));
      await expect(client.opened).rejects.toThrow(/handshake refused: 401/);
      expect(client.frames).toEqual([]);
    }
  });
});

describe('sending and fan-out', () => {
  test('SEND_MESSAGE gets an ACK echoing ref with the stored message; NEW_MESSAGE reaches every socket of every member and no other', async () => {
    const [alice, bob, carol] = await Promise.all([user('alice'), user('bob'), user('carol')]);
    const roomId = await createRoom(parley.url, alice, [bob]);
    const alice1 = await connect(alice);
    const alice2 = await connect(alice);
    const bob1 = await connect(bob);
    const carol1 = await connect(carol); // not a member

    const ref = 'my-ref-1';
    alice1.send({
      type: 'SEND_MESSAGE',
      ref,
      timestamp: Date.now(),
      data: { chat_room_id: roomId, content: 'hello room', client_msg_id: 'first' },
    });
    const ack = await alice1.next<Ack['data']>((frame) => frame.ref === ref);
    expect(ack.type).toBe('ACK');
    expect(ack.data.ref).toBe(ref);
    const message = ack.data.message;
    expect(message).toMatchObject({
      room_id: roomId,
      seq: 1,
      sender_id: alice.id,
      client_msg_id: 'first',
      content: 'hello room',
      deleted: false,
    });
    expect(typeof message.id).toBe('string');

    // The stored message is what history shows.
    const history = await historyWith(parley.url, bob, roomId, 1);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ id: message.id, seq: 1, content: 'hello room', sender_id: alice.id });

    for (const client of [alice1, alice2, bob1]) {
      const got = await client.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === message.id);
      expect(got.data).toMatchObject({
        id: message.id,
        room_id: roomId,
        seq: 1,
        sender_id: alice.id,
        content: 'hello room',
        client_msg_id: 'first',
      });
    }
    // Barrier: once carol's PONG is back, anything sent to her before it has arrived.
    await barrier(carol1);
    expect(carol1.frames.filter((frame) => frame.type === 'NEW_MESSAGE')).toEqual([]);
    // Each member socket got it exactly once.
    for (const client of [alice1, alice2, bob1]) {
      await barrier(client);
      expect(seqsIn(client, roomId)).toEqual([1]);
    }
  });

  test('NEW_MESSAGE reaches members who never sent JOIN_ROOM as well as those who did', async () => {
    const [alice, bob, dave] = await Promise.all([user('alice'), user('bob'), user('dave')]);
    const roomId = await createRoom(parley.url, alice, [bob, dave]);
    const bobWs = await connect(bob);
    const daveWs = await connect(dave); // never joins
    const join = await bobWs.call('JOIN_ROOM', { chat_room_id: roomId });
    expect(join.type).toBe('JOIN_SUCCESS');

    // Alice sends over REST; she has no socket at all.
    const posted = await request<Message>(parley.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: alice.token,
      body: { content: 'to everyone', client_msg_id: cid() },
    });
    expect(posted.status).toBe(201);
    for (const client of [bobWs, daveWs]) {
      const got = await client.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === posted.body.id);
      expect(got.data).toMatchObject({ seq: 1, content: 'to everyone', sender_id: alice.id, room_id: roomId });
    }
  });

  test('the same client_msg_id sent twice over WS gets two ACKs with the same message, stored once', async () => {
    const [alice, bob] = await Promise.all([user('alice'), user('bob')]);
    const roomId = await createRoom(parley.url, alice, [bob]);
    const aliceWs = await connect(alice);
    const bobWs = await connect(bob);

    // A retry after the first ACK.
    const first = await sendOk(aliceWs, roomId, 'once', 'dup-1');
    const retry = await sendOk(aliceWs, roomId, 'once', 'dup-1');
    expect(retry.data.message.id).toBe(first.data.message.id);
    expect(retry.data.message.seq).toBe(first.data.message.seq);

    // A retry sent before the first one was answered (both in flight at once).
    const [a, b] = await Promise.all([
      sendOk(aliceWs, roomId, 'twice in flight', 'dup-2'),
      sendOk(aliceWs, roomId, 'twice in flight', 'dup-2'),
    ]);
    expect(b.data.message.id).toBe(a.data.message.id);
    expect(b.data.message.seq).toBe(a.data.message.seq);

    const history = await historyWith(parley.url, alice, roomId, 2);
    expect(history.map((m) => [m.seq, m.client_msg_id])).toEqual([
      [1, 'dup-1'],
      [2, 'dup-2'],
    ]);
    // Bob saw each message once: a later message is the barrier.
    const last = await sendOk(aliceWs, roomId, 'barrier');
    await bobWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === last.data.message.id);
    expect(seqsIn(bobWs, roomId)).toEqual([1, 2, 3]);
  });

  test('5 users × 20 messages sent at once: every member socket gets seqs 1..100 exactly once, in order, and the ACKs cover them all', async () => {
    const users = await Promise.all(range1(5).map((i) => user(`m${i}`)));
    const roomId = await createRoom(parley.url, users[0]!, users.slice(1));
    const clients = await Promise.all(users.map((member) => connect(member)));

    const acks = await Promise.all(
      clients.map((client, i) =>
        Promise.all(range1(20).map((n) => sendOk(client, roomId, `user ${i} message ${n}`, `u${i}-m${n}`))),
      ),
    );
    const ackedSeqs = acks.flat().map((ack) => ack.data.message.seq);
    expect([...ackedSeqs].sort((x, y) => x - y)).toEqual(range1(100));
    acks.forEach((userAcks, i) => {
      for (const ack of userAcks) expect(ack.data.message.sender_id).toBe(users[i]!.id);
      // One sender's messages keep the order they were sent in.
      const ownSeqs = userAcks.map((ack) => ack.data.message.seq);
      expect(ownSeqs).toEqual([...ownSeqs].sort((x, y) => x - y));
    });

    for (const client of clients) {
      await client.waitForCount((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId, 100);
      await barrier(client);
      expect(seqsIn(client, roomId)).toEqual(range1(100));
    }
    // The newest page of 100 is the whole room: seqs 1..100, one per ACK.
    const history = await historyWith(parley.url, users[0]!, roomId, 100);
    expect(history.map((m) => m.seq)).toEqual(range1(100));
    const bySeq = new Map(history.map((m) => [m.seq, m]));
    for (const ack of acks.flat()) expect(bySeq.get(ack.data.message.seq)?.id).toBe(ack.data.message.id);
  });

  test('messages sent over WS page forward in REST history with after_seq', async () => {
    const alice = await user('alice');
    const roomId = await createRoom(parley.url, alice);
    const client = await connect(alice);
    for (let i = 1; i <= 5; i++) await sendOk(client, roomId, `page ${i}`);
    await historyWith(parley.url, alice, roomId, 5);
    const page = await request<{ messages: Message[] }>(
      parley.url,
      'GET',
      `/api/v1/rooms/${roomId}/messages?after_seq=2&limit=2`,
      {
        token: alice.token,
      },
    );
    expect(page.status).toBe(200);
    expect(page.body.messages.map((m: { seq: number }) => m.seq)).toEqual([3, 4]);
    const before = await request<{ messages: Message[] }>(parley.url, 'GET', `/api/v1/rooms/${roomId}/messages?before_seq=3`, {
      token: alice.token,
    });
    expect(before.status).toBe(200);
    expect(before.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
  });

  test('a member removed over REST gets no NEW_MESSAGE sent after the removal', async () => {
    const [alice, bob, carol] = await Promise.all([user('alice'), user('bob'), user('carol')]);
    const roomId = await createRoom(parley.url, alice, [bob, carol]);
    const aliceWs = await connect(alice);
    const bobWs = await connect(bob);
    const carolWs = await connect(carol);
    await bobWs.call('JOIN_ROOM', { chat_room_id: roomId });

    const before = await sendOk(aliceWs, roomId, 'bob is still here');
    await bobWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === before.data.message.id);

    const removed = await request(parley.url, 'DELETE', `/api/v1/rooms/${roomId}/members/${bob.id}`, { token: alice.token });
    expect(removed.status).toBe(204);

    const after = await sendOk(aliceWs, roomId, 'bob is gone');
    // Barrier: carol (still a member) received it, and bob's socket has answered a PING since.
    await carolWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === after.data.message.id);
    await barrier(bobWs);
    expect(newMessagesIn(bobWs, roomId).map((frame) => frame.data.id)).toEqual([before.data.message.id]);

    // And bob can no longer send or join there.
    const send = await bobWs.call('SEND_MESSAGE', { chat_room_id: roomId, content: 'let me in', client_msg_id: cid() });
    expect(send.type).toBe('ERROR');
    expect(send.data.code).toBe('room_not_found');
    const join = await bobWs.call('JOIN_ROOM', { chat_room_id: roomId });
    expect(join.type).toBe('ERROR');
    expect(join.data.code).toBe('room_not_found');
  });
});

describe('joining rooms', () => {
  test('JOIN_ROOM answers JOIN_SUCCESS with last_seq, then USERS listing the active users', async () => {
    const [alice, bob] = await Promise.all([user('alice'), user('bob')]);
    const roomId = await createRoom(parley.url, alice, [bob]);
    const aliceWs = await connect(alice);
    for (let i = 0; i < 3; i++) await sendOk(aliceWs, roomId, `m${i}`);

    const bobWs = await connect(bob);
    const ref = 'join-1';
    bobWs.send({ type: 'JOIN_ROOM', ref, timestamp: Date.now(), data: { chat_room_id: roomId } });
    const success = await bobWs.next((frame) => frame.ref === ref);
    expect(success.type).toBe('JOIN_SUCCESS');
    expect(success.data).toEqual({ chat_room_id: roomId, last_seq: 3 });
    const users = await bobWs.next((frame) => frame.type === 'USERS');
    expect(users.data.chat_room_id).toBe(roomId);
    expect(users.data.users).toEqual([bob.id]);
    // USERS comes after JOIN_SUCCESS; without since_seq nothing is replayed.
    expect(bobWs.frames.indexOf(users)).toBeGreaterThan(bobWs.frames.indexOf(success));
    await barrier(bobWs);
    expect(newMessagesIn(bobWs, roomId)).toEqual([]);

    // Alice joins second: her USERS lists both.
    await aliceWs.call('JOIN_ROOM', { chat_room_id: roomId });
    const aliceUsers = await aliceWs.next<{ chat_room_id: string; users: string[] }>(
      (frame) => frame.type === 'USERS' && frame.data.chat_room_id === roomId,
    );
    expect([...aliceUsers.data.users].sort()).toEqual([alice.id, bob.id].sort());
  });

  test('USER_JOINED reaches users already in the room; LEAVE_ROOM and closing the socket send USER_LEFT', async () => {
    const [alice, bob, carol] = await Promise.all([user('alice'), user('bob'), user('carol')]);
    const roomId = await createRoom(parley.url, alice, [bob, carol]);
    const aliceWs = await connect(alice);
    await aliceWs.call('JOIN_ROOM', { chat_room_id: roomId });

    const joinedBy = (who: TestUser) => (frame: Frame) =>
      frame.type === 'USER_JOINED' && frame.data.chat_room_id === roomId && frame.data.user_id === who.id;
    const leftBy = (who: TestUser) => (frame: Frame) =>
      frame.type === 'USER_LEFT' && frame.data.chat_room_id === roomId && frame.data.user_id === who.id;

    const bobWs = await connect(bob);
    await bobWs.call('JOIN_ROOM', { chat_room_id: roomId });
    expect((await aliceWs.next(joinedBy(bob))).data).toEqual({ chat_room_id: roomId, user_id: bob.id });

    const carolWs = await connect(carol);
    await carolWs.call('JOIN_ROOM', { chat_room_id: roomId });
    await aliceWs.next(joinedBy(carol));
    await bobWs.next(joinedBy(carol));

    // LEAVE_ROOM: the others see USER_LEFT.
    bobWs.send({ type: 'LEAVE_ROOM', timestamp: Date.now(), data: { chat_room_id: roomId } });
    expect((await aliceWs.next(leftBy(bob))).data).toEqual({ chat_room_id: roomId, user_id: bob.id });
    await carolWs.next(leftBy(bob));

    // Closing the socket: the others see USER_LEFT too.
    await carolWs.close();
    expect((await aliceWs.next(leftBy(carol))).data).toEqual({ chat_room_id: roomId, user_id: carol.id });

    // Each announcement arrived once.
    await barrier(aliceWs);
    expect(aliceWs.frames.filter(joinedBy(bob))).toHaveLength(1);
    expect(aliceWs.frames.filter(leftBy(bob))).toHaveLength(1);
    expect(aliceWs.frames.filter(leftBy(carol))).toHaveLength(1);
  });

  test('JOIN_ROOM and LEAVE_ROOM sent back to back take effect in that order: the socket ends outside the room', async () => {
    const [alice, bob, carol] = await Promise.all([user('alice'), user('bob'), user('carol')]);
    const roomId = await createRoom(parley.url, alice, [bob, carol]);
    const aliceWs = await connect(alice);
    await aliceWs.call('JOIN_ROOM', { chat_room_id: roomId });
    const bobWs = await connect(bob);
    bobWs.send({ type: 'JOIN_ROOM', timestamp: Date.now(), data: { chat_room_id: roomId } });
    bobWs.send({ type: 'LEAVE_ROOM', timestamp: Date.now(), data: { chat_room_id: roomId } });
    await bobWs.next((frame) => frame.type === 'LEAVE_SUCCESS');

    const aboutBob = (frame: Frame) =>
      (frame.type === 'USER_JOINED' || frame.type === 'USER_LEFT') && frame.data.user_id === bob.id;
    await aliceWs.waitForCount(aboutBob, 2);
    await barrier(aliceWs);
    expect(aliceWs.frames.filter(aboutBob).map((frame) => frame.type)).toEqual(['USER_JOINED', 'USER_LEFT']);
    // Someone joining later is not told bob is in the room.
    const carolWs = await connect(carol);
    const users = (await carolWs.call('JOIN_ROOM', { chat_room_id: roomId }).then(() => carolWs.next((f) => f.type === 'USERS')))
      .data.users as string[];
    expect(users.sort()).toEqual([alice.id, carol.id].sort());
  });

  test('JOIN_ROOM with since_seq replays exactly the messages after it, in seq order, once', async () => {
    const [alice, bob] = await Promise.all([user('alice'), user('bob')]);
    const roomId = await createRoom(parley.url, alice, [bob]);
    const aliceWs = await connect(alice);
    const sent: Ack[] = [];
    for (let i = 1; i <= 7; i++) sent.push(await sendOk(aliceWs, roomId, `message ${i}`));

    const bobWs = await connect(bob);
    // Anything delivered live before the join is not part of the replay.
    await barrier(bobWs);
    const join = await bobWs.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 4 });
    expect(join.type).toBe('JOIN_SUCCESS');
    expect(join.data.last_seq).toBe(7);
    const afterJoin = () => bobWs.frames.slice(bobWs.frames.indexOf(join) + 1);
    await bobWs.next((frame) => frame.type === 'USERS' && frame.data.chat_room_id === roomId);

    // A later live message marks the end of the replay.
    const live = await sendOk(aliceWs, roomId, 'live');
    await bobWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === live.data.message.id);
    await barrier(bobWs);
    const replayed = afterJoin().filter((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId);
    expect(replayed.map((frame) => frame.data.seq)).toEqual([5, 6, 7, 8]);
    expect(replayed.slice(0, 3).map((frame) => frame.data.id)).toEqual(sent.slice(4).map((ack) => ack.data.message.id));
    expect(replayed[0]!.data).toMatchObject({ content: 'message 5', sender_id: alice.id });

    // since_seq at the head replays nothing; since_seq 0 replays everything.
    const head = await connect(bob);
    const headJoin = await head.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 8 });
    expect(headJoin.data.last_seq).toBe(8);
    await barrier(head);
    expect(head.frames.slice(head.frames.indexOf(headJoin)).filter((frame) => frame.type === 'NEW_MESSAGE')).toEqual([]);
    // A since_seq past the head (a client's stale or wrong cursor) replays nothing and learns the real head.
    const ahead = await connect(bob);
    const aheadJoin = await ahead.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 1_000 });
    expect(aheadJoin.type).toBe('JOIN_SUCCESS');
    expect(aheadJoin.data.last_seq).toBe(8);
    const all = await connect(bob);
    const allJoin = await all.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 0 });
    await all.waitForCount((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId, 8);
    await barrier(all);
    expect(
      all.frames
        .slice(all.frames.indexOf(allJoin))
        .filter((frame) => frame.type === 'NEW_MESSAGE')
        .map((frame) => frame.data.seq),
    ).toEqual(range1(8));
  });

  // The joining socket is open (and a member) before and during the flow, so
  // every message reaches it live, by replay, or both; it must see each once.
  // "burst": all 50 SEND_MESSAGE frames are written at once; "paced": one at a
  // time, each after the previous ACK, so the flow spans the join.
  test.each([
    { mode: 'burst', joinAfterAcks: 0 },
    { mode: 'burst', joinAfterAcks: 10 },
    { mode: 'burst', joinAfterAcks: 25 },
    { mode: 'paced', joinAfterAcks: 0 },
    { mode: 'paced', joinAfterAcks: 10 },
    { mode: 'paced', joinAfterAcks: 25 },
    { mode: 'paced', joinAfterAcks: 45 },
  ])(
    'JOIN_ROOM since_seq=0 while 50 messages are sent ($mode, join after $joinAfterAcks ACKs): seqs 1..50 exactly once, in order',
    async ({ mode, joinAfterAcks }) => {
      const [alice, bob] = await Promise.all([user('alice'), user('bob')]);
      const roomId = await createRoom(parley.url, alice, [bob]);
      const aliceWs = await connect(alice);
      const bobWs = await connect(bob);

      let joined: Promise<Frame> | undefined;
      const join = () => (joined ??= bobWs.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 0 }));
      let acked = 0;
      const counted = (ack: Ack) => {
        if (++acked === joinAfterAcks) void join();
        return ack;
      };
      if (joinAfterAcks === 0) void join();
      let acks: Ack[];
      if (mode === 'burst') {
        acks = await Promise.all(range1(50).map((n) => sendOk(aliceWs, roomId, `burst ${n}`).then(counted)));
      } else {
        acks = [];
        for (const n of range1(50)) acks.push(counted(await sendOk(aliceWs, roomId, `paced ${n}`)));
      }
      expect(acks.map((ack) => ack.data.message.seq).sort((x, y) => x - y)).toEqual(range1(50));
      const joinReply = await join();
      expect(joinReply.type).toBe('JOIN_SUCCESS');

      await bobWs.waitForCount((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId, 50);
      await barrier(bobWs);
      const received = seqsIn(bobWs, roomId);
      const where = `frames on the joining socket: ${JSON.stringify(bobWs.frames.map((f) => (f.type === 'NEW_MESSAGE' ? f.data.seq : f.type)))}`;
      expect(received, where).toEqual(range1(50));
    },
  );

  test('JOIN_ROOM and SEND_MESSAGE for a room the user is not in: ERROR room_not_found and nothing stored', async () => {
    const [alice, mallory] = await Promise.all([user('alice'), user('mallory')]);
    const roomId = await createRoom(parley.url, alice);
    const aliceWs = await connect(alice);
    await sendOk(aliceWs, roomId, 'private');
    const malloryWs = await connect(mallory);

    for (const target of [roomId, randomUUID()]) {
      const join = await malloryWs.call('JOIN_ROOM', { chat_room_id: target, since_seq: 0 });
      expect(join.type).toBe('ERROR');
      expect(join.data.code).toBe('room_not_found');
      expect(join.data.ref).toBe(join.ref);
      const send = await malloryWs.call('SEND_MESSAGE', { chat_room_id: target, content: 'sneaky', client_msg_id: cid() });
      expect(send.type).toBe('ERROR');
      expect(send.data.code).toBe('room_not_found');
    }
    await barrier(malloryWs);
    expect(malloryWs.frames.filter((frame) => ['NEW_MESSAGE', 'JOIN_SUCCESS', 'USERS', 'ACK'].includes(frame.type))).toEqual([]);

    const history = await historyWith(parley.url, alice, roomId, 1);
    expect(history.map((m) => m.content)).toEqual(['private']);
    // Alice's socket saw no message from mallory either.
    const next = await sendOk(aliceWs, roomId, 'still mine');
    expect(next.data.message.seq).toBe(2);
  });
});

describe('frames and limits', () => {
  test('PING gets PONG with the same ref', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    client.send({ type: 'PING', ref: 'ping-42', timestamp: Date.now() });
    const pong = await client.next((frame) => frame.ref === 'ping-42');
    expect(pong.type).toBe('PONG');
    client.send({ type: 'PING', ref: 'ping-43', timestamp: Date.now(), data: {} });
    expect((await client.next((frame) => frame.ref === 'ping-43')).type).toBe('PONG');
  });

  const roomPlaceholder = '00000000-0000-4000-8000-000000000000';
  const badFrames: { name: string; frame: (roomId: string) => string; code: string; ref?: string }[] = [
    { name: 'not JSON', frame: () => '{"type": "PING", ', code: 'invalid_json' },
    { name: 'a JSON array', frame: () => '[{"type":"PING"}]', code: 'unknown_type' },
    { name: 'JSON null', frame: () => 'null', code: 'unknown_type' },
    { name: 'a JSON string', frame: () => '"PING"', code: 'unknown_type' },
    {
      name: 'an unknown type',
      frame: () => JSON.stringify({ type: 'DELETE_EVERYTHING', ref: 'r1', data: {} }),
      code: 'unknown_type',
      ref: 'r1',
    },
    { name: 'a missing type', frame: () => JSON.stringify({ ref: 'r2', data: {} }), code: 'unknown_type', ref: 'r2' },
    {
      name: 'SEND_MESSAGE without content',
      frame: (roomId) => JSON.stringify({ type: 'SEND_MESSAGE', ref: 'r3', data: { chat_room_id: roomId, client_msg_id: 'x' } }),
      code: 'validation_failed',
      ref: 'r3',
    },
    {
      name: 'SEND_MESSAGE without content',
      frame: (roomId) => JSON.stringify({ type: 'SEND_MESSAGE', ref: 'r4', data: { chat_room_id: roomId, client_msg_id: 'x' } }),
      code: 'validation_failed',
      ref: 'r4',
    },
    {
      name: 'SEND_MESSAGE without data',
      frame: () => JSON.stringify({ type: 'SEND_MESSAGE', ref: 'r5' }),
      code: 'validation_failed',
      ref: 'r5',
    },
    {
      name: 'JOIN_ROOM without chat_room_id',
      frame: () => JSON.stringify({ type: 'JOIN_ROOM', ref: 'r6', data: {} }),
      code: 'validation_failed',
      ref: 'r6',
    },
    {
      name: 'content of the wrong type',
      frame: (roomId) =>
        JSON.stringify({ type: 'SEND_MESSAGE', ref: 'r7', data: { chat_room_id: roomId, client_msg_id: 'x', content: 42 } }),
      code: 'validation_failed',
      ref: 'r7',
    },
    {
      name: 'a chat_room_id that is not a UUID',
      frame: () => JSON.stringify({ type: 'JOIN_ROOM', ref: 'r8', data: { chat_room_id: "1' OR '1'='1" } }),
      code: 'validation_failed',
      ref: 'r8',
    },
    {
      name: 'a since_seq of the wrong type',
      frame: (roomId) => JSON.stringify({ type: 'JOIN_ROOM', ref: 'r9', data: { chat_room_id: roomId, since_seq: '3' } }),
      code: 'validation_failed',
      ref: 'r9',
    },
    {
      name: 'a negative since_seq',
      frame: (roomId) => JSON.stringify({ type: 'JOIN_ROOM', ref: 'r10', data: { chat_room_id: roomId, since_seq: -1 } }),
      code: 'validation_failed',
      ref: 'r10',
    },
    {
      name: 'data that is an array',
      frame: () => JSON.stringify({ type: 'LEAVE_ROOM', ref: 'r11', data: [] }),
      code: 'validation_failed',
      ref: 'r11',
    },
    {
      name: 'an unknown field in data (sender_id)',
      frame: (roomId) =>
        JSON.stringify({
          type: 'SEND_MESSAGE',
          ref: 'r12',
          data: { chat_room_id: roomId, client_msg_id: 'x', content: 'hi', sender_id: roomPlaceholder },
        }),
      code: 'validation_failed',
      ref: 'r12',
    },
    {
      name: 'an unknown top-level field',
      frame: () => JSON.stringify({ type: 'PING', ref: 'r13', admin: true }),
      code: 'validation_failed',
      ref: 'r13',
    },
    {
      // Frames are held to the REST body's JSON rules: invalid_json, as over REST.
      name: 'a __proto__ key in data',
      frame: (roomId) =>
        `{"type":"SEND_MESSAGE","ref":"r14","data":{"chat_room_id":"${roomId}","client_msg_id":"x","content":"hi","__proto__":{"admin":true}}}`,
      code: 'invalid_json',
      ref: 'r14',
    },
    {
      name: 'content over 4000 code points',
      frame: (roomId) =>
        JSON.stringify({
          type: 'SEND_MESSAGE',
          ref: 'r15',
          data: { chat_room_id: roomId, client_msg_id: 'x', content: '😀'.repeat(4001) },
        }),
      code: 'validation_failed',
      ref: 'r15',
    },
    {
      name: 'blank content',
      frame: (roomId) =>
        JSON.stringify({ type: 'SEND_MESSAGE', ref: 'r16', data: { chat_room_id: roomId, client_msg_id: 'x', content: '   ' } }),
      code: 'validation_failed',
      ref: 'r16',
    },
    {
      name: 'zero-width-only content',
      frame: (roomId) =>
        JSON.stringify({
          type: 'SEND_MESSAGE',
          ref: 'r18',
          data: { chat_room_id: roomId, client_msg_id: 'x', content: '\u200b \u200c\u200d\u2060\ufeff' },
        }),
      code: 'validation_failed',
      ref: 'r18',
    },
    {
      name: 'a mime_type outside the allow-list',
      frame: (roomId) =>
        JSON.stringify({
          type: 'SEND_MESSAGE',
          ref: 'r21',
          data: { chat_room_id: roomId, client_msg_id: 'x', content: '<b>x</b>', mime_type: 'text/html' },
        }),
      code: 'validation_failed',
      ref: 'r21',
    },
    {
      // As over REST (rooms.e2e.spec.ts): refused, never stored as U+FFFD.
      name: 'a lone surrogate in content',
      frame: (roomId) =>
        `{"type": "SEND_MESSAGE", "ref": "r19", "data": {"chat_room_id": "${roomId}", "client_msg_id": "x", "content": "a\\ud800b"}}`,
      code: 'invalid_json',
      ref: 'r19',
    },
    {
      name: 'a duplicate key',
      frame: (roomId) =>
        `{"type": "SEND_MESSAGE", "ref": "r20", "data": {"chat_room_id": "${roomId}", "client_msg_id": "x", "content": "a", "content": "b"}}`,
      code: 'invalid_json',
      ref: 'r20',
    },
    {
      name: 'a second AUTH on an authenticated socket',
      frame: () => JSON.stringify({ type: 'AUTH', ref: 'r17', data: { token: 'whatever' } }),
      code: 'already_authenticated',
      ref: 'r17',
    },
  ];

  test.each(badFrames)('a bad frame ($name) gets ERROR $code and the socket stays open', async ({ frame, code, ref }) => {
    const alice = await user('alice');
    const roomId = await createRoom(parley.url, alice);
    const client = await connect(alice);
    client.send(frame(roomId));
    const error = await client.next((f) => f.type === 'ERROR');
    expect(error.data.code).toBe(code);
    expect(typeof error.data.message).toBe('string');
    if (ref !== undefined) {
      expect(error.ref).toBe(ref);
      expect(error.data.ref).toBe(ref);
    }
    // The same frame again gets the same code: codes are stable.
    client.send(frame(roomId));
    await client.waitForCount((f) => f.type === 'ERROR', 2);
    expect(client.frames.filter((f) => f.type === 'ERROR').map((f) => f.data.code)).toEqual([code, code]);
    // Still open and serving.
    await barrier(client);
    expect(client.closeCode).toBeNull();
    // Nothing was stored.
    expect(await fullHistory(parley.url, alice, roomId)).toEqual([]);
  });

  test('validation_failed has the same shape over WS as over REST: one {path, message} per problem', async () => {
    const alice = await user('alice');
    const roomId = await createRoom(parley.url, alice);
    const client = await connect(alice);
    const bad = { client_msg_id: '', content: 42, sender: 'me' };
    const reply = await client.call('SEND_MESSAGE', { chat_room_id: roomId, ...bad });
    expect(reply.type).toBe('ERROR');
    expect(reply.data).toMatchObject({ code: 'validation_failed', message: 'invalid frame' });
    const rest = await request<ErrorBody>(parley.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: alice.token,
      body: bad,
    });
    expect(rest.status).toBe(400);
    expect(rest.body.error).toMatchObject({ code: 'validation_failed', message: 'invalid request body' });
    // The frame's paths start at the frame (`data.…`), the body's at the body.
    const wsDetails = (reply.data.details as { path: string; message: string }[]).map((d) => ({
      ...d,
      path: d.path.replace(/^data\./, ''),
    }));
    expect(wsDetails).toEqual(rest.body.error.details);
    expect(wsDetails.map((d) => d.path).sort()).toEqual(['client_msg_id', 'content', 'sender']);
  });

  test('content of exactly 4000 code points (emoji) is accepted', async () => {
    const alice = await user('alice');
    const roomId = await createRoom(parley.url, alice);
    const client = await connect(alice);
    const content = '😀'.repeat(4000);
    const ack = await sendOk(client, roomId, content);
    expect(ack.data.message.content).toBe(content);
    const [stored] = await historyWith(parley.url, alice, roomId, 1);
    expect(stored?.content).toBe(content);
  });

  test('a binary frame gets ERROR and the socket stays open', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    client.socket.send(Buffer.from(JSON.stringify({ type: 'PING', ref: 'bin' })), { binary: true });
    const error = await client.next((frame) => frame.type === 'ERROR');
    expect(error.data.code).toBe('invalid_frame');
    await barrier(client);
    expect(client.frames.some((frame) => frame.type === 'PONG' && frame.ref === 'bin')).toBe(false);
    expect(client.closeCode).toBeNull();
  });

  test('a frame over 64 KiB closes the socket with 1009; other sockets are unaffected', async () => {
    const alice = await user('alice');
    const bystander = await connect(alice);
    const client = await connect(alice);
    const roomId = await createRoom(parley.url, alice);
    client.send(
      JSON.stringify({
        type: 'SEND_MESSAGE',
        data: { chat_room_id: roomId, client_msg_id: 'big', content: 'x'.repeat(65 * 1024) },
      }),
    );
    expect(await client.closed).toBe(1009);
    expect(client.frames.some((frame) => frame.type === 'ACK')).toBe(false);
    await barrier(bystander);
    expect(await fullHistory(parley.url, alice, roomId)).toEqual([]);
  });

  test('a flood of 500 frames gets ERROR rate_limited, then the socket is closed 1008', async () => {
    const alice = await user('alice');
    const client = await connect(alice);
    for (let i = 0; i < 500; i++) client.send({ type: 'PING', ref: `f${i}`, timestamp: Date.now() });
    expect(await client.closed).toBe(1008);
    const limited = client.frames.filter((frame) => frame.type === 'ERROR' && frame.data.code === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    const pongs = client.frames.filter((frame) => frame.type === 'PONG');
    expect(pongs.length).toBeLessThan(500);
    // Throttling came first: the rate_limited errors precede the close, and nothing else was wrong.
    expect(
      client.frames.every((frame) => frame.type === 'PONG' || frame.type === 'AUTH_SUCCESS' || isError('rate_limited')(frame)),
    ).toBe(true);
    // The user is not locked out: a new socket works.
    const again = await connect(alice);
    await barrier(again);
  });

  test('an 11th socket of one user is closed 1008; after one closes, a new one is accepted', async () => {
    const alice = await user('alice');
    const open: WsClient[] = [];
    for (let i = 0; i < 10; i++) open.push(await connect(alice));
    for (const client of open) await barrier(client);

    const eleventh = sockets.add(new WsClient(parley.wsUrl, { token: alice.token }));
    expect(await eleventh.closed).toBe(1008);
    expect(eleventh.frames.some((frame) => frame.type === 'AUTH_SUCCESS')).toBe(false);
    // The ten are still serving.
    for (const client of open) await barrier(client);

    await open[0]!.close();
    // The server notices the close asynchronously; retry within a bounded time.
    let replacement: WsClient | undefined;
    await eventually(async () => {
      const attempt = sockets.add(new WsClient(parley.wsUrl, { token: alice.token }));
      const outcome = await Promise.race([
        attempt.next((frame) => frame.type === 'AUTH_SUCCESS').then(() => 'ok' as const),
        attempt.closed.then(() => 'closed' as const),
      ]);
      if (outcome === 'ok') replacement = attempt;
      return outcome === 'ok';
    }, 'a replacement socket to be accepted');
    await barrier(replacement!);
  });
});
