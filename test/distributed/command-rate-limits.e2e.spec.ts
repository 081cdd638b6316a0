// Two Parley instances sharing Redis keep one command budget per user: a user
// who spreads messages over both instances — REST on each and a socket on
// each — gets no more accepted than the budget (API.md "Rate limits").

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { barrier, eventually } from '../support/chat.ts';
import { registerUser, request, WsClient, type Frame } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';

const available = await stackAvailable('distributed command rate limits');
const MESSAGES = 8;

describe.runIf(available)('command budgets across instances', () => {
  let cluster: Cluster;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster('rate_limits', 2, {
      PARLEY_RATE_MESSAGES_MAX: String(MESSAGES),
      // An hour: the window cannot turn while the test runs.
      PARLEY_RATE_MESSAGES_WINDOW_S: '3600',
    });
    return () => cluster.stop(); // after afterAll below
  }, 180_000);
  afterAll(async () => {
    for (const socket of sockets) await socket.close().catch(() => undefined);
  });

  test('messages spread over two instances (REST and a socket on each) are held to one budget', async () => {
    const alice = await registerUser(cluster.nodes[0]!.url, 'spread');
    const created = await request(cluster.nodes[0]!.url, 'POST', '/api/v1/rooms', {
      token: alice.token,
      body: { name: 'budget room', member_ids: [] },
    });
    expect(created.status).toBe(201);
    const roomId = created.body.id as string;
    for (const node of cluster.nodes) sockets.push(await WsClient.connect(node.wsUrl, alice.token));

    const perPath = MESSAGES / 2; // four paths of this many: twice the budget
    const viaRest = cluster.nodes.flatMap((node) =>
      Array.from({ length: perPath }, () =>
        request(node.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
          token: alice.token,
          body: { client_msg_id: randomUUID(), content: 'hi' },
        }).then((response) => response.status),
      ),
    );
    const viaSockets = sockets.flatMap((socket) =>
      Array.from({ length: perPath }, () =>
        socket
          .call('SEND_MESSAGE', { chat_room_id: roomId, client_msg_id: randomUUID(), content: 'hi' })
          .then((frame: Frame) => (frame.type === 'ACK' ? 201 : String(frame.data.code))),
      ),
    );
    const outcomes = await Promise.all([...viaRest, ...viaSockets]);

    expect(outcomes.filter((outcome) => outcome === 201)).toHaveLength(MESSAGES);
    // The rest are refused as over the budget: 429 over REST, ERROR rate_limited over a socket.
    const refused = outcomes.filter((outcome) => outcome !== 201);
    expect(refused).toHaveLength(MESSAGES);
    for (const outcome of refused) expect([429, 'rate_limited']).toContain(outcome);
    // A socket's ACK means the message is in the log; history shows it once the
    // projection has applied it (API.md), so wait for the accepted ones, then
    // check that nothing refused was stored.
    for (const socket of sockets) await barrier(socket);
    const stored = async () =>
      (
        await request<{ messages: unknown[] }>(cluster.nodes[1]!.url, 'GET', `/api/v1/rooms/${roomId}/messages`, {
          token: alice.token,
        })
      ).body.messages.length;
    await eventually(async () => (await stored()) >= MESSAGES, 'the accepted messages in history');
    expect(await stored()).toBe(MESSAGES);
  });
});
