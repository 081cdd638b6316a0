// The Kafka adapter against the port's contract on a real broker, plus what
// only Kafka brings: kafkajs's partitioner, topic configs, broker restarts,
// and consumer-group members living in different processes (here: separate
// adapter instances, which share nothing but the broker).
//
// Needs Kafka (`npm run stack:up`; PARLEY_TEST_KAFKA_BROKERS, default
// 127.0.0.1:9092). Unreachable: the suite is skipped with a loud warning,
// unless PARLEY_REQUIRE_INFRA=1. The broker-restart test restarts the local
// broker (scripts/stack.sh restart-kafka), which breaks whatever else uses it
// at that moment, so it only runs with PARLEY_KAFKA_RESTART_TEST=1 (a clean
// stop and start) or =kill (SIGKILL, a crash).

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { infraAvailable } from '../../test/support/infra.ts';
import { createKafkaLog, type KafkaLog, type KafkaLogOptions } from './kafka-log.ts';
import { UnderReplicatedError } from './kafka/replication.ts';
import { logContract, waitUntil } from './log.contract.ts';
import { murmur2Partition, type Batch, type Consumer, type Log, type LogRecord, type Position } from './port.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

const brokers = (process.env.PARLEY_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const stackScript = join(import.meta.dirname, '../../scripts/stack.sh');

/** Short timeouts so rebalances take a fraction of a second, not the production seconds. */
const fast: Partial<KafkaLogOptions> = {
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 250,
  rebalanceTimeoutMs: 10_000,
  maxWaitTimeMs: 200,
  retryBackoffMs: 20,
  retryBackoffMaxMs: 500,
  handoverTimeoutMs: 6_000,
  joinTimeoutMs: 30_000,
};

/** Handler failures the tests provoke on purpose are expected; anything else is printed. */
function onError(error: unknown, context: string): void {
  if (error instanceof Error && error.message.includes('expected by the test')) return;
  console.error(`[kafka-log test] ${context}:`, error);
}

const kafkaUp = await infraAvailable('Kafka', brokers.join(','), 'kafka log', async () => {
  const admin = new Kafka({
    clientId: 'parley-test-probe',
    brokers,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
});

function unique(prefix: string): string {
  return `test.${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}

const text = (r: LogRecord): string => r.value.toString('utf8');

// Not a Kafka test: the port's murmur2 must route a key exactly as kafkajs's
// default partitioner does, or records would land elsewhere than Kafka tools
// (and other clients) expect.
test('murmur2Partition routes keys exactly as kafkajs’s DefaultPartitioner', () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const keys = [
    '',
    'a',
    'ab',
    'abc',
    'abcd',
    'room:0',
    'user:ünïcødé',
    'friendship:🙂:✓',
    ...Array.from({ length: 500 }, (_, i) => `room:${i}:${randomBytes(i % 13).toString('hex')}`),
  ];
  for (const partitions of [1, 2, 3, 6, 7, 12, 64, 1000]) {
    const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));
    for (const key of keys) {
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      expect([key, murmur2Partition(key, partitions)]).toEqual([key, expected]);
    }
  }
});

describe.runIf(kafkaUp)('kafka log', () => {
  const cleanupAdmin = new Kafka({ clientId: 'parley-test-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  beforeAll(() => cleanupAdmin.connect());
  afterAll(() => cleanupAdmin.disconnect());

  /** Deletes what a test created (best effort: a leftover only costs disk). */
  async function removeAll(topics: Iterable<string>, groups: Iterable<string>): Promise<void> {
    const groupIds = [...groups];
    if (groupIds.length > 0) await cleanupAdmin.deleteGroups(groupIds).catch(() => undefined);
    const names = [...topics];
    if (names.length > 0) await cleanupAdmin.deleteTopics({ topics: names }).catch(() => undefined);
  }

  /** A log whose topics and groups are deleted after the test. */
  function trackedLog(overrides: Partial<KafkaLogOptions> = {}): {
    log: KafkaLog;
    topics: Set<string>;
    groups: Set<string>;
    cleanup: () => Promise<void>;
  } {
    const inner = createKafkaLog({ brokers, clientId: 'parley-test', onError, ...fast, ...overrides });
    const topics = new Set<string>();
    const groups = new Set<string>();
    const log: KafkaLog = {
      ...inner,
      ensureTopics: async (specs) => {
        for (const s of specs) topics.add(s.name);
        return inner.ensureTopics(specs);
      },
      consume: async (options) => {
        if (options.group !== null) groups.add(options.group);
        return inner.consume(options);
      },
    };
    return {
      log,
      topics,
      groups,
      cleanup: async () => {
        await inner.close();
        await removeAll(topics, groups);
      },
    };
  }

  logContract(
    'kafka',
    () => {
      const { log, cleanup } = trackedLog();
      return { log, cleanup };
    },
    // A rebalance is a heartbeat plus a JoinGroup/SyncGroup round; on a
    // shared 2-core machine allow more than the embedded log needs.
    { waitTimeoutMs: 30_000, testTimeoutMs: 90_000 },
  );

  describe('kafka specifics', { timeout: 120_000 }, () => {
    const opened: { cleanup(): Promise<void> }[] = [];
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((o) => o.cleanup()));
    });

    function open(overrides: Partial<KafkaLogOptions> = {}): ReturnType<typeof trackedLog> {
      const tracked = trackedLog(overrides);
      opened.push(tracked);
      return tracked;
    }

    test('reads of every partition at once, right after opening, leave no connection behind once closed', async () => {
      const socketsOpen = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length;
      const before = socketsOpen();
      const writer = trackedLog();
      const log = writer.log;
      const t = unique('concurrent-reads');
      await log.ensureTopics([{ name: t, partitions: 12, retentionMs: null }]);
      await log.append(
        t,
        Array.from({ length: 12 }, (_, p) => ({ key: `k${p}`, value: Buffer.from(`v${p}`), partition: p })),
      );
      // A fresh adapter's reader: its first reads of the topic all start together.
      const { log: reader, cleanup } = trackedLog();
      const pages = await Promise.all(Array.from({ length: 12 }, (_, p) => reader.read(t, p, 0, 10)));
      expect(pages.map((page) => page.map(text))).toEqual(Array.from({ length: 12 }, (_, p) => [`v${p}`]));
      await cleanup();
      await writer.cleanup();
      await waitUntil(() => socketsOpen() <= before, 'every socket closed', 5_000).catch(() => undefined);
      expect(socketsOpen()).toBeLessThanOrEqual(before);
    });

    test('ensureTopics sets retention.ms, counts partitions, and unknown topics fail clearly', async () => {
      const { log } = open();
      const forever = unique('forever');
      const hourly = unique('hourly');
      await log.ensureTopics([
        { name: forever, partitions: 2, retentionMs: null },
        { name: hourly, partitions: 5, retentionMs: 3_600_000 },
      ]);
      const configs = await cleanupAdmin.describeConfigs({
        includeSynonyms: false,
        resources: [forever, hourly].map((name) => ({ type: kafkajs.ConfigResourceTypes.TOPIC, name })),
      });
      const retention = Object.fromEntries(
        configs.resources.map((r) => [r.resourceName, r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue]),
      );
      expect(retention).toEqual({ [forever]: '-1', [hourly]: '3600000' });
      expect(log.partitionCount(hourly)).toBe(5);

      // Another instance (a fresh adapter) learns the count on first use.
      const { log: other } = open();
      expect(() => other.partitionCount(hourly)).toThrow(/unknown topic/);
      expect(await other.endOffset(hourly, 4)).toBe(0);
      expect(other.partitionCount(hourly)).toBe(5);

      const missing = unique('missing');
      await expect(log.append(missing, [{ key: 'k', value: Buffer.from('x') }])).rejects.toThrow(/unknown topic/);
      await expect(log.read(missing, 0, 0, 1)).rejects.toThrow(/unknown topic/);
      await expect(log.append(forever, [{ key: 'k', value: Buffer.from('x'), partition: 2 }])).rejects.toThrow(RangeError);
      await expect(log.read(forever, -1, 0, 1)).rejects.toThrow(RangeError);
    });

    test('concurrent appends across topics and partitions each get their exact positions', async () => {
      const { log } = open();
      const a = unique('a');
      const b = unique('b');
      await log.ensureTopics([
        { name: a, partitions: 4, retentionMs: null },
        { name: b, partitions: 3, retentionMs: null },
      ]);
      const calls = Array.from({ length: 300 }, (_, i) => {
        const topic = i % 3 === 0 ? b : a;
        const records = Array.from({ length: 1 + (i % 7) }, (_, j) => ({
          key: `k${(i * 7 + j) % 11}`,
          value: Buffer.from(`${i}.${j}`),
          headers: { call: String(i) },
        }));
        return log.append(topic, records).then((positions) => ({ i, topic, positions }));
      });
      const results = await Promise.all(calls);
      const seen = new Set<string>();
      for (const { i, topic, positions } of results) {
        positions.forEach((pos, j) => {
          expect(pos.topic).toBe(topic);
          expect(pos.partition).toBe(log.partitionForKey(topic, `k${(i * 7 + j) % 11}`));
          seen.add(`${topic}/${pos.partition}/${pos.offset}`);
        });
      }
      expect(seen.size).toBe(results.reduce((n, r) => n + r.positions.length, 0));
      // Every position holds exactly the record its append was told about.
      for (const topic of [a, b]) {
        for (let p = 0; p < log.partitionCount(topic); p++) {
          const read = await log.read(topic, p, 0, 10_000);
          const byOffset = new Map(read.map((r) => [r.offset, r]));
          for (const { i, positions } of results.filter((r) => r.topic === topic)) {
            positions.forEach((pos, j) => {
              if (pos.partition !== p) return;
              const record = byOffset.get(pos.offset);
              expect(record && text(record)).toBe(`${i}.${j}`);
              expect(record?.headers).toEqual({ call: String(i) });
            });
          }
          expect(read.map((r) => r.offset)).toEqual(read.map((_, k) => k)); // gapless from 0
        }
      }
    });

    test('read pages through many fetches and stops at the end', async () => {
      // 2 KiB per fetch: a 300-record read needs dozens of fetches.
      const { log } = open({ readMaxBytes: 2_048 });
      const t = unique('paged');
      await log.ensureTopics([{ name: t, partitions: 1, retentionMs: null }]);
      for (let i = 0; i < 10; i++) {
        await log.append(
          t,
          Array.from({ length: 40 }, (_, j) => ({ key: 'k', value: Buffer.from(`${i * 40 + j}:${'x'.repeat(100)}`) })),
        );
      }
      const all = await log.read(t, 0, 0, 1_000);
      expect(all.map((r) => r.offset)).toEqual(Array.from({ length: 400 }, (_, i) => i));
      expect((await log.read(t, 0, 37, 300)).map((r) => r.offset)).toEqual(Array.from({ length: 300 }, (_, i) => 37 + i));
      expect(await log.read(t, 0, 400, 10)).toEqual([]);
      expect(await log.read(t, 0, 5_000, 10)).toEqual([]);
    });

    test('a handler slower than the session timeout keeps its partitions (heartbeats go on)', async () => {
      const { log } = open({ sessionTimeoutMs: 2_000, heartbeatIntervalMs: 300 });
      const t = unique('slow');
      await log.ensureTopics([{ name: t, partitions: 2, retentionMs: null }]);
      const revoked: number[] = [];
      const handled: number[] = [];
      let assignments = 0;
      await log.consume({
        topic: t,
        group: unique('group'),
        from: 'earliest',
        onAssigned: () => {
          assignments++;
        },
        onRevoked: (partitions) => {
          revoked.push(...partitions);
        },
        eachBatch: async (batch) => {
          await sleep(5_000); // 2.5 session timeouts
          handled.push(...batch.records.map((r) => r.offset));
        },
      });
      await log.append(t, [{ key: 'k', value: Buffer.from('slow'), partition: 0 }]);
      await waitUntil(() => handled.length >= 1, 'the slow batch to finish', 20_000);
      expect(revoked).toEqual([]);
      expect(assignments).toBe(1);
    });

    test('members in different processes share a group without ever handling a partition at once', async () => {
      // Two adapter instances: nothing in-process is shared, as with two servers.
      const one = open();
      const two = open();
      const t = unique('shared');
      const group = unique('group');
      await one.log.ensureTopics([{ name: t, partitions: 6, retentionMs: null }]);
      two.topics.add(t);
      two.groups.add(group);

      const events: string[] = [];
      const owner = new Map<number, string>();
      const busy = new Map<number, string>();
      const violations: string[] = [];
      const handled = new Map<string, string>(); // "p/offset" -> member
      const member = (name: string, log: Log): Promise<Consumer> =>
        log.consume({
          topic: t,
          group,
          from: 'earliest',
          maxBatchSize: 5,
          onAssigned: (partitions) => {
            events.push(`${name}+${partitions.join(',')}`);
            for (const p of partitions) {
              const previous = owner.get(p);
              if (previous !== undefined) violations.push(`${name} assigned p${p} before ${previous} revoked it`);
              owner.set(p, name);
            }
          },
          onRevoked: (partitions) => {
            events.push(`${name}-${partitions.join(',')}`);
            for (const p of partitions) {
              if (busy.has(p)) violations.push(`${name} revoked p${p} during a batch`);
              if (owner.get(p) === name) owner.delete(p);
              else violations.push(`${name} revoked p${p} owned by ${owner.get(p)}`);
            }
          },
          eachBatch: async (batch: Batch) => {
            const p = batch.partition;
            if (owner.get(p) !== name) violations.push(`${name} got a batch of p${p} owned by ${owner.get(p)}`);
            const other = busy.get(p);
            if (other !== undefined) violations.push(`${name} and ${other} handled p${p} at once`);
            busy.set(p, name);
            await sleep(2);
            busy.delete(p);
            for (const r of batch.records) {
              const key = `${p}/${r.offset}`;
              if (handled.has(key)) violations.push(`p${p}@${r.offset} handled twice`);
              handled.set(key, name);
            }
          },
        });

      const appended: Position[] = [];
      // Cleared below, while the writer runs; `as boolean` keeps TypeScript
      // from narrowing it to `true` inside the writer.
      let appending = true as boolean;
      const writer = (async () => {
        for (let i = 0; appending; i++) {
          appended.push(
            ...(await one.log.append(
              t,
              Array.from({ length: 6 }, (_, p) => ({ key: `k${i}`, value: Buffer.from(`${i}`), partition: p })),
            )),
          );
          await sleep(5);
        }
      })();

      const a = await member('A', one.log);
      await waitUntil(() => handled.size >= 60, 'A to handle records', 30_000);
      const b = await member('B', two.log);
      await waitUntil(() => [...owner.values()].filter((m) => m === 'B').length === 3, 'B to own half', 30_000);
      expect([...owner.values()].filter((m) => m === 'A')).toHaveLength(3);
      const bOwned = [...owner].filter(([, m]) => m === 'B').map(([p]) => p);
      // Steady state: what is appended from now on goes to B for B's
      // partitions and to A for the others.
      const mark = appended.length;
      await waitUntil(() => appended.length >= mark + 60, '60 more records appended', 30_000);
      const late = appended.slice(mark, mark + 60);
      await waitUntil(() => late.every((pos) => handled.has(`${pos.partition}/${pos.offset}`)), 'them handled', 30_000);
      for (const pos of late) {
        expect(handled.get(`${pos.partition}/${pos.offset}`)).toBe(bOwned.includes(pos.partition) ? 'B' : 'A');
      }

      await a.stop();
      await waitUntil(() => [...owner.values()].filter((m) => m === 'B').length === 6, 'B to own all 6', 30_000);
      appending = false;
      await writer;
      await waitUntil(
        () => appended.every((pos) => handled.has(`${pos.partition}/${pos.offset}`)),
        'every appended record handled',
        30_000,
      );
      await b.stop();
      expect(violations).toEqual([]);
      expect(events[0]).toBe('A+0,1,2,3,4,5');
      // A gave up exactly B's half before B heard of it, then the rest on stop.
      expect(events.slice(1, 3)).toEqual([`A-${bOwned.join(',')}`, `B+${bOwned.join(',')}`]);
    });

    test('a partition’s new owner hears onAssigned only after the old owner’s slow onRevoked finished', async () => {
      const one = open();
      const two = open();
      const t = unique('handover');
      const group = unique('group');
      await one.log.ensureTopics([{ name: t, partitions: 4, retentionMs: null }]);
      two.groups.add(group);
      const timeline: string[] = [];
      const noop = () => undefined;
      const a = await one.log.consume({
        topic: t,
        group,
        from: 'earliest',
        onRevoked: async (partitions) => {
          timeline.push(`A revoking ${partitions.join(',')}`);
          await sleep(1_500);
          timeline.push('A revoked');
        },
        eachBatch: noop,
      });
      await two.log.consume({
        topic: t,
        group,
        from: 'earliest',
        onAssigned: (partitions) => {
          timeline.push(`B assigned ${partitions.join(',')}`);
        },
        eachBatch: noop,
      });
      expect(timeline).toEqual(['A revoking 2,3', 'A revoked', 'B assigned 2,3']);
      await a.stop();
    });

    test('a gainer whose old owner never hands over takes the partition after handoverTimeoutMs', async () => {
      const errors: string[] = [];
      const one = open();
      const two = open({
        handoverTimeoutMs: 1_000,
        onError: (error, context) => errors.push(`${context}: ${error instanceof Error ? error.message : String(error)}`),
      });
      const t = unique('stuck');
      const group = unique('group');
      await one.log.ensureTopics([{ name: t, partitions: 2, retentionMs: null }]);
      two.groups.add(group);
      const stuck: PromiseWithResolvers<void> = Promise.withResolvers();
      const a = await one.log.consume({
        topic: t,
        group,
        from: 'earliest',
        onRevoked: () => stuck.promise,
        eachBatch: () => undefined,
      });
      const assigned: number[] = [];
      await two.log.consume({
        topic: t,
        group,
        from: 'earliest',
        onAssigned: (partitions) => {
          assigned.push(...partitions);
        },
        eachBatch: () => undefined,
      });
      expect(assigned).toEqual([1]);
      expect(errors).toEqual([expect.stringMatching(/no handover within 1000 ms for partitions 1 from .*taking them anyway/)]);
      stuck.resolve();
      await a.stop();
    });

    test('ensureTopics refuses topics less durable than asked (kafka_under_replicated), unless allowed', async () => {
      // The single broker's topics have one replica: what a development stack
      // asks for (the broker's default) passes; asking for more is refused.
      const t = unique('replication');
      const { log: plain } = open();
      await plain.ensureTopics([{ name: t, partitions: 2, retentionMs: null }]);

      const { log: strict } = open({ replicationFactor: 3, minInsyncReplicas: 2 });
      const refused = await strict.ensureTopics([{ name: t, partitions: 2, retentionMs: null }]).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(UnderReplicatedError);
      expect((refused as UnderReplicatedError).code).toBe('kafka_under_replicated');
      expect((refused as UnderReplicatedError).problems).toEqual([
        `topic ${t}: 1 replica(s) on partition(s) 0,1, below PARLEY_KAFKA_REPLICATION_FACTOR=3`,
        `topic ${t}: min.insync.replicas=1, below PARLEY_KAFKA_MIN_INSYNC_REPLICAS=2`,
      ]);

      // A topic created with min.insync.replicas 2 on one replica could never take an acks=all write.
      const impossible = unique('replication-impossible');
      const { log: creator } = open({ minInsyncReplicas: 2 });
      await expect(creator.ensureTopics([{ name: impossible, partitions: 1, retentionMs: null }])).rejects.toThrow(
        `topic ${impossible}: min.insync.replicas=2 but only 1 replica(s): no write could be acknowledged`,
      );

      const warnings: string[] = [];
      const logger = {
        error: () => {},
        info: () => {},
        debug: () => {},
        warn: (fields: object) => warnings.push(JSON.stringify(fields)),
      };
      const { log: allowed } = open({ replicationFactor: 3, allowUnderReplicated: true, logger });
      await allowed.ensureTopics([{ name: t, partitions: 2, retentionMs: null }]);
      expect(allowed.partitionCount(t)).toBe(2);
      expect(warnings).toEqual([expect.stringContaining('"code":"kafka_under_replicated"')]);
    });

    test('group-less consumers leave no group behind', async () => {
      const clientId = unique('client');
      const { log } = open({ clientId });
      const t = unique('nogroup');
      await log.ensureTopics([{ name: t, partitions: 1, retentionMs: null }]);
      const ours = async () =>
        (await cleanupAdmin.listGroups()).groups.filter((g) => g.groupId.startsWith(`${clientId}.ungrouped.`));
      const consumer = await log.consume({ topic: t, group: null, from: 'latest', eachBatch: () => undefined });
      expect(await ours()).toHaveLength(1);
      await consumer.stop();
      expect(await ours()).toEqual([]);
    });

    test('calls against an unreachable broker reject instead of hanging', async () => {
      const log = createKafkaLog({
        brokers: ['127.0.0.1:1'],
        clientId: 'parley-test-unreachable',
        connectionTimeoutMs: 200,
        retries: 2,
        retryMaxMs: 100,
        kafkaLogLevel: 'nothing',
        onError,
      });
      try {
        await expect(log.ensureTopics([{ name: 'x', partitions: 1, retentionMs: null }])).rejects.toThrow();
        await expect(log.endOffset('x', 0)).rejects.toThrow();
      } finally {
        await log.close();
      }
    });

    const restartMode = process.env.PARLEY_KAFKA_RESTART_TEST;
    test.runIf(restartMode === '1' || restartMode === 'kill')(
      'a broker restart during appends loses no acknowledged record, and a group consumer gets them all',
      { timeout: 240_000 },
      async () => {
        const { log } = open();
        const t = unique('restart');
        await log.ensureTopics([{ name: t, partitions: 3, retentionMs: null }]);
        const consumed = new Set<string>();
        const revokedEver: number[] = [];
        await log.consume({
          topic: t,
          group: unique('group'),
          from: 'earliest',
          onRevoked: (partitions) => {
            revokedEver.push(...partitions);
          },
          eachBatch: (batch) => {
            for (const r of batch.records) consumed.add(text(r));
          },
        });
        // A gateway-like consumer: no group, nothing committed; after a crash
        // and rejoin it resumes where it stood, so it sees nothing twice.
        const seenByGateway = new Map<string, number>();
        await log.consume({
          topic: t,
          group: null,
          from: 'latest',
          eachBatch: (batch) => {
            for (const r of batch.records) seenByGateway.set(text(r), (seenByGateway.get(text(r)) ?? 0) + 1);
          },
        });
        const acked: { value: string; position: Position }[] = [];
        const failed: string[] = [];
        let running = true;
        let restarted = false;
        let ackedAfterRestart = 0;
        // Four writers: single appends and batches of 10, all concurrent.
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; running; i++) {
            const size = w % 2 === 0 ? 1 : 10;
            const values = Array.from({ length: size }, (_, j) => `w${w}.${i}.${j}`);
            try {
              const positions = await log.append(
                t,
                values.map((value) => ({ key: value, value: Buffer.from(value) })),
              );
              positions.forEach((position, j) => acked.push({ value: values[j]!, position }));
              if (restarted) ackedAfterRestart += positions.length;
            } catch (error) {
              failed.push(`${values[0]}: ${error instanceof Error ? error.message : String(error)}`);
            }
            await sleep(2);
          }
        });
        await waitUntil(() => acked.length >= 500, '500 acknowledged records before the restart', 30_000);
        const restartArgs = restartMode === 'kill' ? ['restart-kafka', '--kill'] : ['restart-kafka'];
        await promisify(execFile)('bash', [stackScript, ...restartArgs], { timeout: 180_000 });
        restarted = true;
        await waitUntil(() => ackedAfterRestart >= 500, '500 acknowledged records after the restart', 120_000);
        running = false;
        await Promise.all(writers);

        expect(failed).toEqual([]);
        const byPartition = new Map<number, Map<number, string>>();
        for (let p = 0; p < 3; p++) {
          const read = await log.read(t, p, 0, 1_000_000);
          byPartition.set(p, new Map(read.map((r) => [r.offset, text(r)])));
        }
        const lost = acked.filter(({ value, position }) => byPartition.get(position.partition)?.get(position.offset) !== value);
        expect(lost).toEqual([]);
        // And nothing twice: the idempotent producer dedups its retries.
        const values = [...byPartition.values()].flatMap((m) => [...m.values()]);
        expect(new Set(values).size).toBe(values.length);
        // The consumer rode out the restart (rejoining if it had to).
        await waitUntil(() => acked.every(({ value }) => consumed.has(value)), 'the consumer to see every record', 60_000);
        await waitUntil(
          () => acked.every(({ value }) => seenByGateway.has(value)),
          'the group-less consumer to see every record',
          60_000,
        );
        expect([...seenByGateway].filter(([, n]) => n > 1)).toEqual([]);
        if (revokedEver.length > 0)
          console.info(`[restart test] the consumer was revoked ${revokedEver.join(',')} and reassigned`);
      },
    );
  });
});
