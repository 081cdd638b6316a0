// Fault: a client reconnects to a gateway that is behind the log. The gateway
// instance's Kafka connection is slow (a fault proxy adds latency), so it
// streams each message a few hundred milliseconds after the other instance
// does — as a gateway does while it catches up after a restart. The client
// hops between the two instances, resuming with JOIN_ROOM since_seq = the
// newest seq it has, while messages keep coming; like an app, it loads its
// room list before it joins. The lagging gateway must not stream the new
// socket, before its JOIN_ROOM, the messages the client already got on the
// other instance (the nemesis soak found exactly that): across its sockets
// the client gets every message once.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FaultProxy } from '../support/fault-proxy.ts';
import { createRoom, fullHistory, range1, seqsIn } from '../support/chat.ts';
import { registerUser, request, WsClient, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import type { ParleyProcess } from '../support/server.ts';
import { stopCluster } from './harness.ts';
import { kafkaThrough, startKafkaProxy } from './network.ts';

const available = await stackAvailable('faults: lagging gateway');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Added each way to the lagging instance's Kafka traffic. */
const latencyMs = 150;
/** How long the client stays on an instance before it hops. */
const stayMs = 500;
/** Between AUTH_SUCCESS and JOIN_ROOM the client looks around (an app loads its room list first). */
const lookAroundMs = 300;
const hops = 8;

describe.runIf(available)('fault: a client reconnects to a gateway that lags behind the log', () => {
  let cluster: Cluster | undefined;
  let proxy: FaultProxy | undefined;
  let current: ParleyProcess;
  let lagging: ParleyProcess;

  beforeAll(async () => {
    cluster = await startCluster('lagging_gateway', 1);
    current = cluster.nodes[0]!;
    proxy = await startKafkaProxy();
    // Serves sockets and REST only: the processors and projectors run on the other instance at full speed.
    lagging = await cluster.start({ env: { PARLEY_ROLES: 'api,gateway', ...kafkaThrough(proxy) } });
  });
  afterAll(async () => {
    proxy?.heal();
    await stopCluster(cluster);
    await proxy?.close();
  });

  test('hopping between the instances while messages flow, the client gets every message once', async () => {
    const sender = await registerUser(current.url, 'lagsender');
    const reader = await registerUser(current.url, 'lagreader');
    const roomId = await createRoom(current.url, sender, [reader]);
    proxy!.setLatency(latencyMs);

    const flow = { sending: true };
    const posts = (async () => {
      for (let n = 0; flow.sending; n++) {
        const response = await request(current.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
          token: sender.token,
          body: { client_msg_id: `lag-${n}`, content: `message ${n}` },
        });
        expect(response.status).toBe(201);
        await sleep(10);
      }
    })();

    /** Each socket's NEW_MESSAGE seqs, and the since_seq it joined with. */
    const sockets: { node: string; since: number; seqs: number[] }[] = [];
    const newest = () => Math.max(0, ...sockets.flatMap((socket) => socket.seqs));
    const stay = async (node: ParleyProcess, reader: TestUser) => {
      const since = newest();
      const client = await WsClient.connect(node.wsUrl, reader.token);
      // Messages streamed while the socket was set up waited for this frame.
      expect(client.frames[0]?.type).toBe('AUTH_SUCCESS');
      await sleep(lookAroundMs);
      const joined = await client.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: since });
      expect(joined.type).toBe('JOIN_SUCCESS');
      await sleep(stayMs);
      await client.close();
      sockets.push({ node: node === lagging ? 'lagging' : 'current', since, seqs: seqsIn(client, roomId) });
    };
    for (let hop = 0; hop < hops; hop++) await stay(hop % 2 === 0 ? current : lagging, reader);
    flow.sending = false;
    await posts;
    proxy!.heal();

    // The last socket gets the rest, up to the newest message stored.
    const stored = await fullHistory(current.url, reader, roomId);
    const last = await WsClient.connect(current.wsUrl, reader.token);
    const since = newest();
    await last.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: since });
    await last.waitForCount((frame) => frame.type === 'NEW_MESSAGE', stored.length - since);
    sockets.push({ node: 'current', since, seqs: seqsIn(last, roomId) });
    await last.close();

    const view = sockets.map((socket) => `${socket.node} since ${socket.since}: ${socket.seqs.join(',')}`).join('\n');
    // Nothing a socket's client already had when it joined comes to that socket.
    for (const socket of sockets)
      expect(
        socket.seqs.filter((seq) => seq <= socket.since),
        view,
      ).toEqual([]);
    // Together: every stored message exactly once.
    const all = sockets.flatMap((socket) => socket.seqs).sort((a, b) => a - b);
    expect(all, view).toEqual(range1(stored.length));
    // The lagging instance did stream live (not only replays): the hops tested what they should.
    expect(sockets.filter((socket) => socket.node === 'lagging' && socket.seqs.length > 0).length).toBeGreaterThan(0);
  });
});
