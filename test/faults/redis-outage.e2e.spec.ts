// Fault: Redis (presence, rate limits, the read cache) stops for a few
// seconds while messages flow, then starts again (empty: it keeps no data).
// Commands charged to a rate limit fail while it is away, and the projectors
// wait (a batch never commits without fencing the cached answers it changes,
// docs/ARCHITECTURE.md "Read cache"); messages must recover, and afterwards
// every acknowledged message is stored once and delivered once.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRoom } from '../support/chat.ts';
import { registerUser, request, WsClient } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import type { PresenceStatus } from '../support/wire.ts';
import { ChatLoad, chatSetup, checkInvariants, stopCluster, within } from './harness.ts';
import { restoreStack, startRedis, stopRedis } from './stack.ts';

const available = await stackAvailable('faults: Redis outage');
const outageMs = 5_000;
/** Short presence leases (renewed every third), so presence can be judged within seconds. */
const leaseMs = 3_000;

describe.runIf(available)('fault: Redis stops mid-flow and starts again', () => {
  let cluster: Cluster | undefined;
  let load: ChatLoad | undefined;

  beforeAll(async () => {
    cluster = await startCluster('fault_redis', 3, { PARLEY_PRESENCE_LEASE_MS: String(leaseMs) });
  });
  afterAll(async () => {
    await load?.close();
    await restoreStack();
    await stopCluster(cluster);
  });

  test('messages keep flowing; every acknowledged message is stored once, seqs gapless, members get 1..N once', async () => {
    const c = cluster!;
    const setup = await chatSetup(c);
    load = new ChatLoad(c, { users: setup.plan });
    await load.start();
    await load.progress(60, 60_000, 'acks before the fault');

    load.mark('Redis shutdown');
    let acksWhileDown: number;
    let back: number;
    try {
      await stopRedis();
      load.mark('Redis down');
      const before = load.acks.length;
      // One user reconnects while Redis is gone (presence cannot be written).
      load.users[0]!.dropSocket();
      await new Promise((resolve) => setTimeout(resolve, outageMs));
      acksWhileDown = load.acks.length - before;
      load.mark('Redis start');
    } finally {
      await startRedis();
      back = Date.now();
      load.mark('Redis answers');
    }
    await load.progress(60, 120_000, 'acks after Redis is back');
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    console.info(
      `[faults] Redis outage\n${load.summary()}\nacks while Redis was down: ${acksWhileDown}; first ack after Redis answered: +${load.firstAckAfter(back)} ms\n` +
        `violations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(problems).toEqual([]);
  });

  test('presence comes back: a user whose socket stayed open through the restart shows online again within two leases', async () => {
    const c = cluster!;
    const [alice, bob] = [await registerUser(c.nodes[0]!.url, 'pres'), await registerUser(c.nodes[0]!.url, 'pres')];
    // Room peers: bob may see alice's presence (strangers see none).
    await createRoom(c.nodes[0]!.url, alice, [bob], 'presence');
    const socket = await WsClient.connect(c.nodes[1]!.wsUrl, alice.token);
    const online = async () => {
      const profile = await request<{ status?: PresenceStatus }>(c.nodes[2]!.url, 'GET', `/api/v1/users/${alice.id}`, {
        token: bob.token,
      }).catch(() => null);
      return profile?.status === 200 && profile.body.status?.online === true;
    };
    try {
      await within(10_000, 'alice online before the fault', online);
      try {
        await stopRedis();
      } finally {
        await startRedis();
      }
      const waited = await within(
        2 * leaseMs + 2_000,
        'alice (socket still open) online again after Redis came back empty',
        online,
      ).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      console.info(
        `[faults] Redis outage, presence: ${typeof waited === 'number' ? `online again after ${waited} ms` : waited.message}`,
      );
      expect(socket.closeCode, 'the socket stayed open').toBeNull();
      expect(waited).toBeTypeOf('number');
    } finally {
      await socket.close();
    }
  });
});
