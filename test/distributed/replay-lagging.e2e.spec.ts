// A since_seq replay never leaves a gap when the read model lags behind the
// live stream. Three instances with one role each where it matters: node 0
// takes commands (api, processor, gateway), node 1 only streams (gateway),
// node 2 is the only projector. Freezing node 2 (SIGSTOP) holds the read model
// back while node 1 keeps streaming new messages live; a socket that resumes
// on node 1 then must be told to join again (read_model_lagging), not be
// replayed the stale history, which would lose every message streamed since.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { acceptInvitations, barrier, eventually, range1, seqsIn } from '../support/chat.ts';
import { registerUser, request, WsClient, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import type { Message } from '../support/wire.ts';

const available = await stackAvailable('replay while the read model lags');

describe.runIf(available)('JOIN_ROOM since_seq while the only projector is frozen', () => {
  let cluster: Cluster;
  let frozen = false;
  const sockets: WsClient[] = [];

  beforeAll(async () => {
    // Short waits: a lagging read model is reported after 1 s, not the default.
    cluster = await startCluster('replay_lagging', 0, { PARLEY_READ_YOUR_WRITES_TIMEOUT_MS: '1000' });
    return () => cluster.stop(); // after afterAll below
  }, 180_000);
  beforeAll(async () => {
    await cluster.start({ env: { PARLEY_ROLES: 'api,processor,gateway' } });
    await cluster.start({ env: { PARLEY_ROLES: 'gateway' } });
    await cluster.start({ env: { PARLEY_ROLES: 'projector' } });
  }, 180_000);
  afterAll(async () => {
    if (frozen) cluster.nodes[2]?.child.kill('SIGCONT');
    for (const socket of sockets) await socket.close().catch(() => undefined);
  });

  async function connect(node: number, user: TestUser): Promise<WsClient> {
    const socket = await WsClient.connect(cluster.nodes[node]!.wsUrl, user.token);
    sockets.push(socket);
    return socket;
  }

  test('the replay answers read_model_lagging until the projector resumes, then replays every message once', async () => {
    const api = cluster.nodes[0]!.url;
    const [alice, bob] = [await registerUser(api, 'lag'), await registerUser(api, 'lag')];
    const created = await request(api, 'POST', '/api/v1/rooms', {
      token: alice.token,
      body: { name: 'lagging', member_ids: [bob.id] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const roomId = created.body.id as string;
    await acceptInvitations(api, roomId, [bob]);

    const sender = await connect(0, alice);
    const live = await connect(1, bob);
    const send = (n: number) => sender.call('SEND_MESSAGE', { chat_room_id: roomId, content: `m${n}`, client_msg_id: `m${n}` });
    for (let n = 1; n <= 3; n++) expect((await send(n)).type).toBe('ACK');
    await eventually(() => seqsIn(live, roomId).length === 3, 'messages 1-3 live on node 1');
    // Once the read model holds 1-3 too, the projector freezes.
    await eventually(async () => {
      // A lagging read model answers an error, with no messages.
      const history = await request<{ messages?: Message[] }>(api, 'GET', `/api/v1/rooms/${roomId}/messages`, {
        token: bob.token,
      });
      return history.body.messages?.length === 3;
    }, 'messages 1-3 projected');
    cluster.nodes[2]!.child.kill('SIGSTOP');
    frozen = true;

    // Accepted and streamed while nothing projects them.
    for (let n = 4; n <= 8; n++) expect((await send(n)).type).toBe('ACK');
    await eventually(() => seqsIn(live, roomId).length === 8, 'messages 4-8 live on node 1');

    const resuming = await connect(1, bob);
    const lagging = await resuming.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 0 });
    expect(lagging.type).toBe('ERROR');
    expect(lagging.data.code).toBe('read_model_lagging');
    expect(seqsIn(resuming, roomId)).toEqual([]);

    cluster.nodes[2]!.child.kill('SIGCONT');
    frozen = false;
    let join = lagging;
    await eventually(
      async () => {
        join = await resuming.call('JOIN_ROOM', { chat_room_id: roomId, since_seq: 0 });
        return join.type === 'JOIN_SUCCESS';
      },
      'a join once the projector caught up',
      20_000,
    );
    expect(join.data.last_seq).toBe(8);
    await barrier(resuming);
    expect(seqsIn(resuming, roomId)).toEqual(range1(8));
    // Live delivery goes on after the replay, once each.
    expect((await send(9)).type).toBe('ACK');
    await eventually(() => seqsIn(resuming, roomId).length === 9, 'message 9 after the replay');
    await barrier(resuming);
    expect(seqsIn(resuming, roomId)).toEqual(range1(9));
    expect(seqsIn(live, roomId)).toEqual(range1(9));
  });
});
