// Durability across restarts of a real `parley start` process on the same
// data dir: nothing a client was told is stored (REST 201, WS ACK) is lost or
// doubled, seqs stay gapless, tokens survive, and a client that reconnects
// with since_seq gets exactly what it missed.

import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import mysql from 'mysql2/promise';
import { afterEach, expect, test } from 'vitest';
import { registerUser, request, WsClient, type Frame, type TestUser } from '../support/client.ts';
import { barrier, createRoom, eventually, fullHistory, range1, seqsIn, Sockets, type StoredMessage } from '../support/chat.ts';
import { modeEnv } from '../support/modes.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';
import type { Message, RoomSummary } from '../support/wire.ts';

const env = {
  PARLEY_REGISTER_MAX_PER_IP: '100000',
  // The senders below go as fast as the server answers; the per-socket rate
  // limit is not what these tests are about.
  PARLEY_WS_RATE_PER_S: '10000',
  PARLEY_WS_RATE_BURST: '10000',
};

const processes: ParleyProcess[] = [];
const sockets = new Sockets();

async function start(dataDir: string, settings: Record<string, string> = {}): Promise<ParleyProcess> {
  const parley = await startParley({ dataDir, env: { ...env, ...settings } });
  processes.push(parley);
  return parley;
}

afterEach(async () => {
  sockets.closeAll();
  for (const parley of processes.splice(0)) await parley.kill();
});

/** What a sender was told was stored, keyed by its own client_msg_id. */
interface Acked {
  clientMsgId: string;
  senderId: string;
  id: string;
  seq: number;
  content: string;
}

interface Sender {
  /** Every client_msg_id this sender tried, ACKed or not. */
  attempted: Set<string>;
  acked: Acked[];
  done: Promise<void>;
}

/**
 * Sends messages one after another until told to stop, the cap is reached, or
 * the server goes away. Each message has a unique client_msg_id. `onAck` runs
 * for every confirmed message.
 */
function restSender(
  baseUrl: string,
  who: TestUser,
  roomId: string,
  tag: string,
  cap: number,
  stop: () => boolean,
  onAck: () => void,
): Sender {
  const sender: Sender = { attempted: new Set(), acked: [], done: Promise.resolve() };
  sender.done = (async () => {
    for (let n = 0; n < cap && !stop(); n++) {
      const clientMsgId = `${tag}-${n}`;
      const content = `${tag} message ${n}`;
      sender.attempted.add(clientMsgId);
      let response;
      try {
        response = await request<Message>(baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, {
          token: who.token,
          body: { client_msg_id: clientMsgId, content },
        });
      } catch {
        return; // connection refused or reset: the server is gone
      }
      if (response.status !== 201) return; // e.g. 503 while shutting down
      sender.acked.push({ clientMsgId, senderId: who.id, id: response.body.id, seq: response.body.seq, content });
      onAck();
    }
  })();
  return sender;
}

function wsSender(
  client: WsClient,
  who: TestUser,
  roomId: string,
  tag: string,
  cap: number,
  stop: () => boolean,
  onAck: () => void,
): Sender {
  const sender: Sender = { attempted: new Set(), acked: [], done: Promise.resolve() };
  sender.done = (async () => {
    for (let n = 0; n < cap && !stop(); n++) {
      const clientMsgId = `${tag}-${n}`;
      const content = `${tag} message ${n}`;
      sender.attempted.add(clientMsgId);
      const ref = clientMsgId;
      const reply = client
        .next<{ message: Message }>((frame) => frame.ref === ref, 15_000)
        .then(
          (frame) => frame,
          () => null,
        );
      if (client.closeCode !== null) return;
      client.send({
        type: 'SEND_MESSAGE',
        ref,
        timestamp: Date.now(),
        data: { chat_room_id: roomId, content, client_msg_id: clientMsgId },
      });
      const frame = await Promise.race([reply, client.closed.then(() => null)]);
      if (frame === null || frame.type !== 'ACK') return;
      sender.acked.push({ clientMsgId, senderId: who.id, id: frame.data.message.id, seq: frame.data.message.seq, content });
      onAck();
    }
  })();
  return sender;
}

/**
 * What a user checks after the restart: every ACKed message is stored exactly
 * once with what was sent, seqs are 1..n without gaps, and messages that were
 * sent but never ACKed are there at most once.
 */
function checkHistory(history: StoredMessage[], senders: Sender[]): void {
  expect(history.map((m) => m.seq)).toEqual(range1(history.length));
  const ids = history.map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
  const byKey = new Map<string, StoredMessage[]>();
  for (const message of history) {
    const key = `${message.sender_id}/${message.client_msg_id}`;
    byKey.set(key, [...(byKey.get(key) ?? []), message]);
  }
  for (const [key, copies] of byKey) expect(copies, `stored copies of ${key}`).toHaveLength(1);
  for (const sender of senders) {
    for (const acked of sender.acked) {
      const stored = byKey.get(`${acked.senderId}/${acked.clientMsgId}`);
      expect(stored, `ACKed message ${acked.clientMsgId} (seq ${acked.seq}) after restart`).toHaveLength(1);
      expect(stored![0]).toMatchObject({ id: acked.id, seq: acked.seq, content: acked.content });
    }
  }
  // Nothing appears that nobody sent.
  const attempted = new Set(senders.flatMap((sender) => [...sender.attempted]));
  for (const message of history)
    expect(attempted.has(message.client_msg_id), `unexpected message ${message.client_msg_id}`).toBe(true);
}

/** Rows of processor_snapshot_entries in the read-model database of `dataDir`, in this run's mode. */
async function snapshotEntryRows(dataDir: string): Promise<number> {
  const count = 'select count(*) as n from processor_snapshot_entries';
  const url = (await modeEnv(dataDir)).DATABASE_URL;
  if (url === undefined) {
    const database = new DatabaseSync(path.join(dataDir, 'read-models.sqlite'), { readOnly: true });
    try {
      return (database.prepare(count).get() as { n: number }).n;
    } finally {
      database.close();
    }
  }
  const connection = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await connection.query(count);
    return (rows as { n: number }[])[0]!.n;
  } finally {
    await connection.end();
  }
}

async function postMessage(baseUrl: string, who: TestUser, roomId: string, clientMsgId: string, content: string) {
  const response = await request(baseUrl, 'POST', `/api/v1/rooms/${roomId}/messages`, {
    token: who.token,
    body: { client_msg_id: clientMsgId, content },
  });
  expect(response.status).toBe(201);
  return response.body as StoredMessage;
}

// Each room stays under one history page (100) so the check reads it whole.
const perSenderCap = 20;
const killAfterAcks = 30;

test('after a SIGKILL restart, a room whose old messages live only in the snapshots decides about them as before', async () => {
  // Snapshots every 5 events, 2 messages kept in memory per room: the room
  // spills, and the restarted processor starts from a snapshot
  // (docs/ARCHITECTURE.md, "Snapshots").
  const settings = { PARLEY_SNAPSHOT_EVERY_EVENTS: '5', PARLEY_SNAPSHOT_HOT_MESSAGES: '2' };
  const dataDir = tempDataDir();
  const first = await start(dataDir, settings);
  const alice = await registerUser(first.url, 'alice');
  const bob = await registerUser(first.url, 'bob');
  const roomId = await createRoom(first.url, alice, [bob]);
  const posted: StoredMessage[] = [];
  for (let n = 0; n < 12; n++) posted.push(await postMessage(first.url, alice, roomId, `old-${n}`, `old ${n}`));
  const messagePath = (message: StoredMessage) => `/api/v1/rooms/${roomId}/messages/${message.id}`;
  const thumbsUp = (message: StoredMessage) => `${messagePath(message)}/reactions/${encodeURIComponent('👍')}`;
  expect((await request(first.url, 'PUT', thumbsUp(posted[0]!), { token: bob.token })).status).toBe(200);
  await first.kill();

  expect(await snapshotEntryRows(dataDir)).toBeGreaterThan(0);

  const second = await start(dataDir, settings);
  const edit = (who: TestUser, message: StoredMessage) =>
    request<Message>(second.url, 'PATCH', messagePath(message), { token: who.token, body: { content: 'edited' } });
  expect((await edit(bob, posted[1]!)).status).toBe(403);
  expect((await edit(alice, posted[1]!)).status).toBe(200);
  const again = await request<Message>(second.url, 'PUT', thumbsUp(posted[0]!), { token: bob.token });
  expect(again.status).toBe(200);
  expect(again.body.reactions).toEqual({ '👍': [bob.id] });
  expect((await request(second.url, 'DELETE', thumbsUp(posted[0]!), { token: bob.token })).status).toBe(200);
  const retried = await postMessage(second.url, alice, roomId, 'old-0', 'old 0');
  expect(retried).toMatchObject({ id: posted[0]!.id, seq: 1 });
  const next = await postMessage(second.url, alice, roomId, 'new', 'new');
  expect(next.seq).toBe(13);
  const history = await fullHistory(second.url, alice, roomId);
  expect(history.map((m) => m.seq)).toEqual(range1(13));
  expect(history[0]!.reactions).toEqual({});
  expect(history[1]!.content).toBe('edited');
});

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`${how} while messages flow from several clients: after restart every ACKed message is stored once, seqs are gapless, new ones continue at last_seq+1`, async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((name) => registerUser(first.url, name)));
    const roomId = await createRoom(first.url, alice!, [bob!, carol!]);
    const aliceWs = await sockets.connect(first.wsUrl, alice!);
    const bobWs = await sockets.connect(first.wsUrl, bob!);

    let ackCount = 0;
    let reached!: () => void;
    const enoughAcks = new Promise<void>((resolve) => (reached = resolve));
    const onAck = () => {
      if (++ackCount === killAfterAcks) reached();
    };
    // Senders go on until the server is gone (or their cap).
    const stop = () => false;
    const senders = [
      wsSender(aliceWs, alice!, roomId, 'alice-ws', perSenderCap, stop, onAck),
      wsSender(bobWs, bob!, roomId, 'bob-ws', perSenderCap, stop, onAck),
      restSender(first.url, carol!, roomId, 'carol-rest', perSenderCap, stop, onAck),
      restSender(first.url, alice!, roomId, 'alice-rest', perSenderCap, stop, onAck),
    ];
    await enoughAcks;
    if (how === 'SIGTERM') await first.stop();
    else await first.kill();
    await Promise.all(senders.map((sender) => sender.done));
    const ackedBeforeKill = senders.reduce((sum, sender) => sum + sender.acked.length, 0);
    expect(ackedBeforeKill).toBeGreaterThanOrEqual(killAfterAcks);
    // The flow was really interrupted: not every sender finished its run.
    expect(senders.some((sender) => sender.acked.length < perSenderCap)).toBe(true);

    const second = await start(dataDir);
    // On Kafka the new process's projector gets the partitions only once the
    // killed one's consumer session times out: the history is read once it
    // holds the newest ACKed seq (what is in it is then checked whole).
    const newestAcked = Math.max(...senders.flatMap((s) => s.acked.map((a) => a.seq)));
    let history: StoredMessage[] = [];
    await eventually(
      async () => {
        history = await fullHistory(second.url, alice!, roomId);
        return history.length >= newestAcked;
      },
      'the read model to hold every ACKed message',
      30_000,
    );
    checkHistory(history, senders);

    // New messages continue right after the last stored one, over REST and WS.
    const next = await postMessage(second.url, carol!, roomId, 'after-restart-1', 'after the restart');
    const aliceAgain = await sockets.connect(second.wsUrl, alice!);
    const ack = await aliceAgain.call<{ message: Message }>('SEND_MESSAGE', {
      chat_room_id: roomId,
      content: 'after, over WS',
      client_msg_id: 'after-restart-2',
    });
    expect(ack.type).toBe('ACK');
    // A WS ACK says the message is in the log; REST shows it once projected.
    let after: StoredMessage[] = [];
    await eventually(async () => {
      after = await fullHistory(second.url, alice!, roomId);
      return after.some((m) => m.client_msg_id === 'after-restart-2');
    }, 'the WS message in the history');
    expect(after.map((m) => m.seq)).toEqual(range1(after.length));
    expect(after.slice(-2).map((m) => m.client_msg_id)).toEqual(['after-restart-1', 'after-restart-2']);
    expect(next.seq).toBe(after.length - 1);
    expect(ack.data.message.seq).toBe(after.length);
    // What was stored before the restart did not move.
    expect(after.slice(0, history.length)).toEqual(history);
    expect(after.length).toBe(history.length + 2);
  });
}

test('the same client_msg_id retried after a SIGKILL restart is not stored twice', async () => {
  const dataDir = tempDataDir();
  const first = await start(dataDir);
  const alice = await registerUser(first.url, 'alice');
  const roomId = await createRoom(first.url, alice);
  const original = await postMessage(first.url, alice, roomId, 'retry-me', 'once only');
  await first.kill();

  const second = await start(dataDir);
  const retry = await request(second.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
    token: alice.token,
    body: { client_msg_id: 'retry-me', content: 'once only' },
  });
  expect(retry.status).toBe(201);
  expect(retry.body).toMatchObject({ id: original.id, seq: original.seq });
  const client = await sockets.connect(second.wsUrl, alice);
  const ack = await client.call('SEND_MESSAGE', { chat_room_id: roomId, content: 'once only', client_msg_id: 'retry-me' });
  expect(ack.type).toBe('ACK');
  expect(ack.data.message).toMatchObject({ id: original.id, seq: original.seq });
  const history = await fullHistory(second.url, alice, roomId);
  expect(history.map((m) => [m.seq, m.client_msg_id])).toEqual([[1, 'retry-me']]);
});

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`tokens issued before a ${how} restart still work after it (REST and WS)`, async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const alice = await registerUser(first.url, 'alice');
    const roomId = await createRoom(first.url, alice);
    if (how === 'SIGTERM') await first.stop();
    else await first.kill();

    const second = await start(dataDir);
    const me = await request<{ id?: string; user?: { id: string } }>(second.url, 'GET', '/api/v1/users/me', {
      token: alice.token,
    });
    expect(me.status).toBe(200);
    expect(me.body.id ?? me.body.user?.id).toBe(alice.id);
    const rooms = await request<{ rooms: RoomSummary[] }>(second.url, 'GET', '/api/v1/rooms', { token: alice.token });
    expect(rooms.status).toBe(200);
    expect(rooms.body.rooms.map((room) => room.id)).toContain(roomId);

    const client = await sockets.connect(second.wsUrl, alice);
    expect(client.frames.find((frame) => frame.type === 'AUTH_SUCCESS')?.data.user_id).toBe(alice.id);
    const ack = await client.call<{ message: Message }>('SEND_MESSAGE', {
      chat_room_id: roomId,
      content: 'still me',
      client_msg_id: 'after',
    });
    expect(ack.type).toBe('ACK');
    expect(ack.data.message.sender_id).toBe(alice.id);

    // The refresh token issued before the restart also still works.
    const refreshed = await request(second.url, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: alice.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.access_token).toBe('string');
  });
}

for (const how of ['SIGTERM', 'SIGKILL'] as const) {
  test(`a client reconnecting after a ${how} restart with JOIN_ROOM since_seq=<last seq seen> gets exactly the missing messages`, async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    const [alice, bob] = await Promise.all([registerUser(first.url, 'alice'), registerUser(first.url, 'bob')]);
    const roomId = await createRoom(first.url, alice, [bob]);

    // Bob follows the room and sees the first messages.
    const bobWs = await sockets.connect(first.wsUrl, bob);
    const joined = await bobWs.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 0 });
    expect(joined.type).toBe('JOIN_SUCCESS');
    for (let i = 1; i <= 6; i++) await postMessage(first.url, alice, roomId, `before-${i}`, `before ${i}`);
    await bobWs.waitForCount((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId, 6);
    // Bob's connection drops; alice keeps writing before the server goes down.
    await bobWs.close();
    for (let i = 1; i <= 4; i++) await postMessage(first.url, alice, roomId, `missed-${i}`, `missed ${i}`);
    const lastSeen = Math.max(...seqsIn(bobWs, roomId));
    expect(lastSeen).toBe(6);
    if (how === 'SIGTERM') await first.stop();
    else await first.kill();

    // While bob is away the server comes back and alice writes more.
    const second = await start(dataDir);
    const aliceWs = await sockets.connect(second.wsUrl, alice);
    for (let i = 1; i <= 3; i++) await postMessage(second.url, alice, roomId, `after-${i}`, `after ${i}`);
    // Bob comes back once the new gateway streams live (on Kafka its consumer
    // may take seconds to get its partitions): what this test checks is the
    // resume, not a socket that connects while the gateway still catches up
    // (that one hears 11..13 live before its JOIN_ROOM replays 7..10).
    await aliceWs.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.client_msg_id === 'after-3', 60_000);

    const again = await sockets.connect(second.wsUrl, bob);
    const rejoin = await again.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: lastSeen });
    expect(rejoin.type).toBe('JOIN_SUCCESS');
    expect(rejoin.data.last_seq).toBe(13);
    await again.waitForCount((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId, 7);
    // A live message after the replay is the barrier: nothing else arrives before it.
    const live = await postMessage(second.url, alice, roomId, 'live', 'live');
    await again.next((frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === live.id);
    await barrier(again);
    const got = again.frames.filter((frame: Frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId);
    expect(got.map((frame) => frame.data.seq)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]);
    expect(got.map((frame) => frame.data.client_msg_id)).toEqual([
      'missed-1',
      'missed-2',
      'missed-3',
      'missed-4',
      'after-1',
      'after-2',
      'after-3',
      'live',
    ]);
  });
}

test('a socket open during a SIGTERM is closed by the server and can reconnect to the new process', async () => {
  const dataDir = tempDataDir();
  const first = await start(dataDir);
  const alice = await registerUser(first.url, 'alice');
  const client = await sockets.connect(first.wsUrl, alice);
  await first.stop();
  // 1001 "going away" is what the server sends on shutdown.
  expect(await client.closed).toBe(1001);
  const second = await start(dataDir);
  await eventually(async () => (await request(second.url, 'GET', '/healthz')).status === 200, 'the new process to be healthy');
  const again = await sockets.connect(second.wsUrl, alice);
  await barrier(again);
});
