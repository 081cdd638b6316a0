// Faults of a replicated log: Parley on its own three-broker Kafka cluster
// (test/faults/brokers.ts; replication factor 3, min.insync.replicas 2) under
// the chat load of the fault harness.
//  a. The leader of the busiest partition (the events partition of room 0) is
//     killed (SIGKILL) and restarted, five times in a row: a copy of every
//     acknowledged write is on another broker, which takes over; afterwards
//     every acknowledged message is stored once and seqs are gapless. While
//     the first one is down, a Parley starting refuses (kafka_under_replicated).
//  b. Two of the three brokers stop: no write can reach two replicas, so
//     nothing is acknowledged meanwhile and clients get 503 `unavailable`
//     with Retry-After; when they are back everything resumes, and the
//     checker passes.
// Per fault it prints acknowledged, lost, duplicated and the longest stall.
// It never touches the shared servers (it runs its own brokers; MariaDB and
// Redis are only used, through a database and a Redis db number of its own).

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { mysqlAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { redisAvailable } from '../support/infra.ts';
import { startParley, tempDataDir } from '../support/server.ts';
import { brokerClusterAvailable, startBrokerCluster, type BrokerCluster } from './brokers.ts';
import { topics } from '../../src/log/topics.ts';
import { ChatLoad, chatSetup, checkInvariants, dbQuery, partitionOfRoom, stopCluster, within } from './harness.ts';

const suite = 'faults: three brokers';
const available =
  (await brokerClusterAvailable(suite)) && (await mysqlAvailable(suite)) && (await redisAvailable(suite)) !== undefined;

interface Window {
  label: string;
  from: number;
  to: number;
}

/** Acknowledged, lost (acknowledged, not stored) and duplicated (stored twice) messages of a window, and its longest stall. */
async function faultReport(load: ChatLoad, rooms: string[], windows: Window[]): Promise<string[]> {
  const rows = await dbQuery<{ sender_id: string; client_msg_id: string }>(
    load.cluster,
    'select sender_id, client_msg_id from messages where room_id in (?)',
    [rooms],
  );
  const stored = new Map<string, number>();
  for (const row of rows)
    stored.set(`${row.sender_id}/${row.client_msg_id}`, (stored.get(`${row.sender_id}/${row.client_msg_id}`) ?? 0) + 1);
  return windows.map(({ label, from, to }) => {
    const acks = load.acks.filter((a) => a.at >= from && a.at < to);
    const keys = [...new Set(acks.map((a) => `${a.senderId}/${a.clientMsgId}`))];
    const times = [from, ...acks.map((a) => a.at).sort((a, b) => a - b), to];
    const stall = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    return (
      `${label}: acknowledged ${keys.length}, lost ${keys.filter((k) => !stored.has(k)).length}, ` +
      `duplicated ${keys.filter((k) => (stored.get(k) ?? 0) > 1).length}, longest stall ${stall} ms (window ${to - from} ms)`
    );
  });
}

describe.runIf(available)('fault: three Kafka brokers, replication factor 3, min.insync.replicas 2', () => {
  let kafka: BrokerCluster | undefined;
  let cluster: Cluster | undefined;
  let namespace: string;
  const loads: ChatLoad[] = [];

  /** Every partition of this cluster's topics (and Kafka's own) has all its replicas in sync again. */
  const allInSync = async (): Promise<number> =>
    within(180_000, 'every partition back to 3 replicas in sync', async () => {
      const partitions = await kafka!.replication('').catch(() => []);
      return partitions.length > 0 && partitions.every((p) => p.leader >= 0 && p.isr.length === p.replicas.length);
    });

  /** Chat load on fresh users and rooms (the checker reads whole rooms), once 40 messages are acknowledged. */
  const loadStarted = async (what: string) => {
    const c = cluster!;
    const setup = await chatSetup(c);
    const load = new ChatLoad(c, { users: setup.plan });
    loads.push(load);
    await load.start();
    await load.progress(40, 60_000, what);
    // The events partition of room 0: the busiest.
    return { c, setup, load, events: `${namespace}.${topics.events}`, busy: partitionOfRoom(c, setup.rooms[0]!) };
  };

  beforeAll(async () => {
    kafka = await startBrokerCluster();
    cluster = await startCluster('fault_brokers', 2, {
      KAFKA_BROKERS: kafka.brokers,
      PARLEY_KAFKA_REPLICATION_FACTOR: '3',
      PARLEY_KAFKA_MIN_INSYNC_REPLICAS: '2',
    });
    namespace = cluster.env.PARLEY_LOG_NAMESPACE!;
  }, 480_000);

  // A test that failed with brokers down leaves them down; the next one needs all three.
  afterEach(async () => {
    await kafka?.startStopped();
  }, 300_000);

  afterAll(async () => {
    for (const load of loads) await load.close();
    await stopCluster(cluster);
    await kafka?.destroy();
  }, 240_000);

  test('Parley created its topics on three brokers, all in sync', async () => {
    const partitions = await kafka!.replication(`${namespace}.`);
    expect(new Set(partitions.map((p) => p.topic.slice(namespace.length + 1)))).toEqual(new Set(Object.values(topics)));
    for (const p of partitions) {
      expect(p.replicas).toHaveLength(3);
      expect(p.isr).toHaveLength(3);
    }
  });

  test('the leader of the busiest partition killed five times: every acknowledged message kept once, seqs gapless', async () => {
    const { c, events, setup, busy, load } = await loadStarted('acks before the first kill');

    const windows: Window[] = [];
    for (let round = 1; round <= 5; round++) {
      await allInSync();
      const leader = await kafka!.leaderOf(events, busy);
      const from = Date.now();
      load.mark(`kill ${round}: broker ${leader}`);
      await kafka!.stop(leader, 'kill');

      if (round === 1) {
        // A copy is missing now (once the controller has fenced the dead
        // broker): an instance starting in this state refuses, saying why.
        await within(60_000, 'a partition out of sync', async () =>
          (await kafka!.replication(`${namespace}.`)).some((p) => p.isr.length < p.replicas.length),
        );
        const refused = await startParley({ env: c.env, dataDir: tempDataDir('parley-refused-'), timeoutMs: 90_000 }).then(
          async (node) => {
            await node.stop();
            return 'it started';
          },
          (error: unknown) => String(error),
        );
        expect(refused).toContain('kafka_under_replicated');
        expect(refused).toMatch(/under-replicated, 2 of 3 replicas in sync/);
        expect(refused).toContain('PARLEY_KAFKA_ALLOW_UNDER_REPLICATED');
      }

      const restartMs = await kafka!.start(leader);
      load.mark(`broker ${leader} back`);
      await load.progress(20, 120_000, `acks after kill ${round}`);
      windows.push({ label: `kill ${round} (broker ${leader}, restart took ${restartMs} ms)`, from, to: Date.now() });
    }
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    const report = await faultReport(load, setup.rooms, windows);
    console.log(
      `[faults] three brokers: leader of ${events}/${busy} killed five times\n${report.join('\n')}\n${load.summary()}\n` +
        `violations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(load.nonRetryableErrors()).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('two of three brokers stopped: nothing acknowledged, clients get 503 unavailable with Retry-After; all resumes when they return', async () => {
    // The previous test's last restart may still be catching up: set up on a whole cluster.
    await allInSync();
    const { c, events, setup, busy, load } = await loadStarted('acks before the outage');
    await allInSync();

    // The busy partition's leader and one follower: one replica is left, below min.insync.replicas.
    const leader = await kafka!.leaderOf(events, busy);
    const stopped = [leader, kafka!.nodes.find((n) => n !== leader)!];
    const from = Date.now();
    load.mark(`stop brokers ${stopped.join(',')}`);
    const errorsBefore = new Map(load.errors);
    await kafka!.stop(stopped[0]!, 'term');
    await kafka!.stop(stopped[1]!, 'term');
    load.mark('two brokers down');

    // A client's send now: no acknowledgement, a retryable answer.
    const { user } = setup.plan[0]!;
    const clientMsgId = `${load.tag}-outage-probe`;
    load.attempted.set(`${user.id}/${clientMsgId}`, { roomId: setup.rooms[0]!, senderId: user.id, clientMsgId });
    const post = () =>
      fetch(`${c.nodes[0]!.url}/api/v1/rooms/${setup.rooms[0]}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ client_msg_id: clientMsgId, content: `message ${clientMsgId}` }),
        signal: AbortSignal.timeout(60_000),
      });
    const during = await post();
    const duringBody = (await during.json()) as { error?: { code?: string; message?: string } };
    const answeredAt = Date.now();
    expect(during.status).toBe(503);
    expect(duringBody.error?.code).toBe('unavailable');
    expect(Number(during.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Once a command has gone unconfirmed for the whole command timeout, the
    // log takes no write: no acknowledgement until the brokers are back.
    const restartBegin = Date.now();
    const acksDuringOutage = load.acks.filter((a) => a.at >= answeredAt && a.at < restartBegin).length;
    const errorsDuring = [...load.errors]
      .map(([kind, n]) => [kind, n - (errorsBefore.get(kind) ?? 0)] as const)
      .filter(([, n]) => n > 0);

    const restartMs = await kafka!.start(...stopped);
    const back = Date.now();
    load.mark('brokers back');

    // The probe's client retries with the same client_msg_id, as clients do after a 503.
    await within(120_000, 'the probe acknowledged after the outage', async () => {
      const response = await post().catch(() => null);
      if (response?.status !== 201) return false;
      load.record((await response.json()) as Record<string, unknown>, user.id, clientMsgId, c.nodes[0]!.url, 'rest');
      return true;
    });
    await load.progress(40, 180_000, 'acks after the brokers are back');
    const to = Date.now();
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    const report = await faultReport(load, setup.rooms, [{ label: `brokers ${stopped.join(',')} stopped`, from, to }]);
    console.log(
      `[faults] three brokers: two of three stopped\n${report.join('\n')}\n` +
        `outage answer: ${during.status} ${JSON.stringify(duringBody)} Retry-After ${during.headers.get('retry-after')}; ` +
        `acks while down (after that answer): ${acksDuringOutage}; brokers back after ${restartMs} ms; first ack after they answered: +${load.firstAckAfter(back)} ms\n` +
        `client-side errors meanwhile: ${errorsDuring.map(([k, n]) => `${k} ×${n}`).join('; ') || 'none'}\n${load.summary()}\n` +
        `violations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(acksDuringOutage).toBe(0);
    expect(load.nonRetryableErrors()).toEqual([]);
    expect(problems).toEqual([]);
  });
});
