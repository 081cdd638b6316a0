// The log port's contract: what every adapter (embedded sqlite, Kafka) must do,
// checked only through the port. Call logContract() from an adapter's spec.
//
// Rules for these tests, so they hold on a real broker too: every test uses its
// own topics and groups (random suffix), nothing asserts on durations, and
// every wait is bounded by `waitUntil`, which fails with what it waited for.
// An adapter's consume() must resolve only once the consumer's start positions
// are fixed, so that records appended afterwards are seen by it.

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  murmur2Partition,
  type Batch,
  type ConsumeOptions,
  type Consumer,
  type Log,
  type LogRecord,
  type Position,
} from './port.ts';

export interface LogContractOptions {
  /** Bound of every wait inside a test (a broker's rebalance takes seconds). */
  waitTimeoutMs?: number;
  /** Timeout of each test. */
  testTimeoutMs?: number;
}

export interface LogFixture {
  log: Log;
  cleanup: () => Promise<void>;
}

export function logContract(
  name: string,
  makeLog: () => LogFixture | Promise<LogFixture>,
  contractOptions: LogContractOptions = {},
): void {
  const waitMs = contractOptions.waitTimeoutMs ?? 10_000;
  const testMs = contractOptions.testTimeoutMs ?? 4 * waitMs;

  describe(`log contract: ${name}`, { timeout: testMs }, () => {
    let log: Log;
    let cleanup: () => Promise<void>;
    let consumers: Consumer[] = [];

    beforeEach(async () => {
      ({ log, cleanup } = await makeLog());
      consumers = [];
    });

    afterEach(async () => {
      await Promise.allSettled(consumers.map((c) => c.stop()));
      await cleanup();
    });

    const until = (predicate: () => boolean, what: string): Promise<void> => waitUntil(predicate, what, waitMs);

    async function topic(partitions: number, retentionMs: number | null = null): Promise<string> {
      const name = unique('topic');
      await log.ensureTopics([{ name, partitions, retentionMs }]);
      return name;
    }

    async function consume(options: ConsumeOptions): Promise<Consumer> {
      const consumer = await log.consume(options);
      consumers.push(consumer);
      return consumer;
    }

    /** Appends `count` records one by one to explicit partitions, round-robin. */
    async function fill(topicName: string, partitions: number, count: number, tag: string): Promise<Position[]> {
      const records = Array.from({ length: count }, (_, i) => ({
        key: `${tag}-${i}`,
        value: Buffer.from(`${tag}-${i}`),
        partition: i % partitions,
      }));
      return log.append(topicName, records);
    }

    describe('topics', () => {
      test('ensureTopics creates topics and leaves existing ones as they are', async () => {
        const a = unique('topic');
        const b = unique('topic');
        await log.ensureTopics([
          { name: a, partitions: 3, retentionMs: null },
          { name: b, partitions: 1, retentionMs: 60_000 },
        ]);
        expect(log.partitionCount(a)).toBe(3);
        expect(log.partitionCount(b)).toBe(1);

        await log.append(a, [{ key: 'k', value: Buffer.from('kept'), partition: 2 }]);
        await log.ensureTopics([{ name: a, partitions: 5, retentionMs: null }]);
        expect(log.partitionCount(a)).toBe(3);
        expect(await log.endOffset(a, 2)).toBe(1);
        expect((await log.read(a, 2, 0, 10)).map(text)).toEqual(['kept']);
      });

      test('partitionForKey is murmur2 and the same for every topic of equal partition count', async () => {
        const a = await topic(6);
        const b = await topic(6);
        const seen = new Set<number>();
        for (let i = 0; i < 200; i++) {
          const key = `room:${i}`;
          const p = log.partitionForKey(a, key);
          expect(p).toBe(murmur2Partition(key, 6));
          expect(log.partitionForKey(b, key)).toBe(p);
          seen.add(p);
        }
        expect(seen.size).toBe(6);
      });
    });

    describe('append and read', () => {
      test('numbers each partition from 0 in input order and answers positions in input order', async () => {
        const t = await topic(3);
        const keys = Array.from({ length: 30 }, (_, i) => `user:${i % 7}`);
        const positions: Position[] = [];
        for (let i = 0; i < keys.length; i += 5) {
          const chunk = keys.slice(i, i + 5).map((key, j) => ({ key, value: Buffer.from(`v${i + j}`) }));
          positions.push(...(await log.append(t, chunk)));
        }

        expect(positions).toHaveLength(keys.length);
        const byPartition = new Map<number, { offset: number; value: string }[]>();
        positions.forEach((pos, i) => {
          expect(pos.topic).toBe(t);
          expect(pos.partition).toBe(log.partitionForKey(t, keys[i]!));
          const list = byPartition.get(pos.partition) ?? [];
          list.push({ offset: pos.offset, value: `v${i}` });
          byPartition.set(pos.partition, list);
        });
        for (const [p, list] of byPartition) {
          // Offsets grow in input order from 0 (the port allows Kafka gaps, not reordering).
          expect(list[0]!.offset).toBe(0);
          for (let i = 1; i < list.length; i++) expect(list[i]!.offset).toBeGreaterThan(list[i - 1]!.offset);
          expect(await log.endOffset(t, p)).toBe(list[list.length - 1]!.offset + 1);
          const read = await log.read(t, p, 0, 1000);
          expect(read.map((r) => [r.offset, text(r)])).toEqual(list.map((e) => [e.offset, e.value]));
          for (const r of read) {
            expect(r.topic).toBe(t);
            expect(r.partition).toBe(p);
          }
        }
      });

      test('an explicit partition is honoured over the key', async () => {
        const t = await topic(4);
        const key = 'room:explicit';
        const positions = await log.append(
          t,
          [0, 1, 2, 3].map((partition) => ({ key, value: Buffer.from(`p${partition}`), partition })),
        );
        expect(positions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
        for (let p = 0; p < 4; p++) {
          const read = await log.read(t, p, 0, 10);
          expect(read.map((r) => [r.key, text(r)])).toEqual([[key, `p${p}`]]);
        }
      });

      test('values and headers round-trip byte-exact, and a timestamp is set', async () => {
        const t = await topic(1);
        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const random = randomBytes(4096);
        const headers = { 'event-type': 'MessageSent', 'x-ünïcødé': 'héllo ✓ 🙂', empty: '' };
        const before = Date.now();
        await log.append(t, [
          { key: 'bin', value: allBytes, headers },
          { key: 'rnd', value: random },
          { key: 'empty', value: Buffer.alloc(0), headers: {} },
        ]);
        const after = Date.now();
        const [a, b, c] = await log.read(t, 0, 0, 10);
        expect(a && Buffer.compare(a.value, allBytes)).toBe(0);
        expect(a?.headers).toEqual(headers);
        expect(b && Buffer.compare(b.value, random)).toBe(0);
        expect(b?.headers).toEqual({});
        expect(c?.value.length).toBe(0);
        expect(c?.key).toBe('empty');
        for (const r of [a, b, c]) {
          expect(Buffer.isBuffer(r?.value)).toBe(true);
          // A clock sanity bound, not a timing assertion: broker and test
          // clocks may differ a little.
          expect(r?.timestamp).toBeGreaterThan(before - 5 * 60_000);
          expect(r?.timestamp).toBeLessThan(after + 5 * 60_000);
        }
      });

      test('read honours offset and limit; past the end it is empty', async () => {
        const t = await topic(2);
        expect(await log.startOffset(t, 0)).toBe(0);
        expect(await log.endOffset(t, 0)).toBe(0);
        expect(await log.read(t, 0, 0, 10)).toEqual([]);

        const positions = await log.append(
          t,
          Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: Buffer.from(`r${i}`), partition: 0 })),
        );
        const offsets = positions.map((p) => p.offset);
        expect(await log.startOffset(t, 0)).toBe(offsets[0]);
        expect(await log.endOffset(t, 0)).toBe(offsets[9]! + 1);
        expect(await log.endOffset(t, 1)).toBe(0);
        expect(await log.endOffsets(t)).toEqual([offsets[9]! + 1, 0]);

        const middle = await log.read(t, 0, offsets[3]!, 4);
        expect(middle.map(text)).toEqual(['r3', 'r4', 'r5', 'r6']);
        const tail = await log.read(t, 0, offsets[8]!, 100);
        expect(tail.map(text)).toEqual(['r8', 'r9']);
        expect(await log.read(t, 0, offsets[9]! + 1, 10)).toEqual([]);
        expect(await log.read(t, 1, 0, 10)).toEqual([]);
      });

      test('concurrent appends each get their own offsets and keep their own order', async () => {
        const t = await topic(1);
        const calls = Array.from({ length: 50 }, (_, i) =>
          log.append(t, [
            { key: 'same', value: Buffer.from(`${i}.a`) },
            { key: 'same', value: Buffer.from(`${i}.b`) },
          ]),
        );
        const results = await Promise.all(calls);
        const offsets = results.flatMap((r) => r.map((p) => p.offset));
        expect(new Set(offsets).size).toBe(100);
        for (const [a, b] of results) expect(b!.offset).toBeGreaterThan(a!.offset);

        const read = await log.read(t, 0, 0, 1000);
        expect(read.map(text).sort()).toEqual(results.flatMap((_, i) => [`${i}.a`, `${i}.b`]).sort());
        results.forEach(([a, b], i) => {
          expect(text(read.find((r) => r.offset === a!.offset)!)).toBe(`${i}.a`);
          expect(text(read.find((r) => r.offset === b!.offset)!)).toBe(`${i}.b`);
        });
      });
    });

    describe('consume without a group', () => {
      test('gets every partition from the earliest offset, in order, including later appends', async () => {
        const t = await topic(3);
        const early = await fill(t, 3, 30, 'early');
        const probe = new Probe('solo');
        await consume(probe.options({ topic: t, group: null, from: 'earliest' }));
        const late = await fill(t, 3, 30, 'late');

        await until(() => probe.delivered.length >= 60, 'all 60 records delivered');
        expect(probe.firstAssigned).toEqual([0, 1, 2]);
        expect(probe.violations).toEqual([]);
        expectDeliveredExactly(probe.delivered, [...early, ...late]);
      });

      test('partitions limits it to those partitions, earlier and later records alike', async () => {
        const t = await topic(3);
        const early = await fill(t, 3, 30, 'early');
        const probe = new Probe('some');
        await consume(probe.options({ topic: t, group: null, from: 'earliest', partitions: [2, 0] }));
        const late = await fill(t, 3, 30, 'late');
        // Appended after everything else: once it is delivered, so is all of
        // partition 0 before it, and partition 1's records had their chance.
        const [marker] = await log.append(t, [{ key: 'marker', value: Buffer.from('marker'), partition: 0 }]);

        const expected = [...early, ...late, marker!].filter((p) => p.partition !== 1);
        await until(() => probe.delivered.some((d) => d.offset === marker!.offset && d.partition === 0), 'the marker delivered');
        await until(() => probe.delivered.length >= expected.length, `${expected.length} records delivered`);
        expect(probe.firstAssigned).toEqual([0, 2]);
        expectDeliveredExactly(probe.delivered, expected);
      });

      test('partitions are refused to a group, and outside the topic', async () => {
        const t = await topic(2);
        const probe = new Probe('refused');
        await expect(
          log.consume(probe.options({ topic: t, group: unique('g'), from: 'earliest', partitions: [0] })),
        ).rejects.toThrow(/group-less/);
        await expect(log.consume(probe.options({ topic: t, group: null, from: 'earliest', partitions: [2] }))).rejects.toThrow(
          /partitions 0–1, not 2/,
        );
      });

      test("'latest' starts at the end offset at subscribe time", async () => {
        const t = await topic(2);
        await fill(t, 2, 10, 'old');
        const probe = new Probe('latest');
        await consume(probe.options({ topic: t, group: null, from: 'latest' }));
        const fresh = await fill(t, 2, 6, 'new');

        await until(() => probe.delivered.length >= 6, 'the 6 new records delivered');
        expectDeliveredExactly(probe.delivered, fresh);
      });

      test('startAt chooses each partition’s start; null falls back to from', async () => {
        const t = await topic(2);
        const positions = await fill(t, 2, 10, 'r');
        const p0 = positions.filter((p) => p.partition === 0);
        const asked: number[] = [];
        const probe = new Probe('seek');
        await consume(
          probe.options({
            topic: t,
            group: null,
            from: 'earliest',
            startAt: (partition) => {
              asked.push(partition);
              return Promise.resolve(partition === 0 ? p0[3]!.offset : null);
            },
          }),
        );
        const expected = [...p0.slice(3), ...positions.filter((p) => p.partition === 1)];
        await until(() => probe.delivered.length >= expected.length, `${expected.length} records delivered`);
        expect(asked.sort()).toEqual([0, 1]);
        expectDeliveredExactly(probe.delivered, expected);
      });

      test('stop waits for the in-flight batch, calls onRevoked, and no handler runs afterwards', async () => {
        const t = await topic(2);
        const gate = deferred();
        const probe = new Probe('stopper', async () => gate.promise);
        const consumer = await consume(probe.options({ topic: t, group: null, from: 'earliest' }));
        await fill(t, 2, 4, 'before');
        await until(() => probe.inFlight > 0, 'a batch in flight');

        let stopped = false;
        const stopping = consumer.stop().then(() => {
          stopped = true;
        });
        await sleep(50);
        expect(stopped).toBe(false); // the batch is still running
        gate.resolve();
        await within(stopping, waitMs, 'stop() to resolve after the batch finished');
        expect(probe.inFlight).toBe(0);
        expect(probe.revokedAll.sort()).toEqual([0, 1]);
        probe.closed = true;

        // Records appended after stop must reach nobody but a fresh consumer;
        // the fresh consumer seeing them bounds how long we look.
        const after = await fill(t, 2, 4, 'after');
        const witness = new Probe('witness');
        await consume(witness.options({ topic: t, group: null, from: 'earliest' }));
        await until(() => after.every((pos) => witness.has(pos)), 'a fresh consumer to see the records appended after stop');
        await sleep(20);
        expect(probe.violations).toEqual([]);
        expect(probe.delivered.some((r) => text(r).startsWith('after'))).toBe(false);
      });
    });

    describe('consumer groups', () => {
      test('a group resumes from its committed offsets after a restart', async () => {
        const t = await topic(2);
        const group = unique('group');
        const first = await fill(t, 2, 10, 'first');
        const one = new Probe('one');
        const c1 = await consume(one.options({ topic: t, group, from: 'earliest' }));
        await until(() => one.delivered.length >= 10, 'the first 10 records delivered');
        await c1.stop();

        const second = await fill(t, 2, 6, 'second');
        const two = new Probe('two');
        await consume(two.options({ topic: t, group, from: 'earliest' }));
        await until(() => two.delivered.length >= 6, 'the 6 new records delivered after restart');
        expectDeliveredExactly(one.delivered, first);
        // Per partition in order: a redelivered old record would come first.
        expectDeliveredExactly(two.delivered, second);
      });

      test("'latest' for a group without committed offsets starts at the end", async () => {
        const t = await topic(2);
        await fill(t, 2, 8, 'old');
        const probe = new Probe('latest-group');
        await consume(probe.options({ topic: t, group: unique('group'), from: 'latest' }));
        const fresh = await fill(t, 2, 4, 'new');
        await until(() => probe.delivered.length >= 4, 'the 4 new records delivered');
        expectDeliveredExactly(probe.delivered, fresh);
      });

      test('startAt returning null falls back to the committed offset, then to from', async () => {
        const t = await topic(3);
        const group = unique('group');
        const first = await fill(t, 3, 9, 'first');
        const one = new Probe('one');
        const c1 = await consume(one.options({ topic: t, group, from: 'earliest' }));
        await until(() => one.delivered.length >= 9, 'the first 9 records delivered');
        await c1.stop();
        const second = await fill(t, 3, 9, 'second');

        // p0 is sought back to its second record; p1 and p2 resume at the commit.
        const p0 = first.filter((p) => p.partition === 0);
        const two = new Probe('two');
        await consume(
          two.options({
            topic: t,
            group,
            from: 'earliest',
            startAt: (p) => Promise.resolve(p === 0 ? p0[1]!.offset : null),
          }),
        );
        const expected = [...p0.slice(1), ...second];
        await until(() => two.delivered.length >= expected.length, `${expected.length} records delivered`);
        expectDeliveredExactly(two.delivered, expected);
      });

      test('different groups each get every record', async () => {
        const t = await topic(2);
        const positions = await fill(t, 2, 12, 'r');
        const a = new Probe('a');
        const b = new Probe('b');
        await consume(a.options({ topic: t, group: unique('group'), from: 'earliest' }));
        await consume(b.options({ topic: t, group: unique('group'), from: 'earliest' }));
        await until(() => a.delivered.length >= 12 && b.delivered.length >= 12, 'both groups got 12 records');
        expectDeliveredExactly(a.delivered, positions);
        expectDeliveredExactly(b.delivered, positions);
      });

      test('a failed batch is delivered again, unchanged, and nothing is skipped or committed past it', async () => {
        const t = await topic(1);
        const group = unique('group');
        const positions = await fill(t, 1, 10, 'r');
        const poisoned = positions[5]!.offset;
        let failures = 0;
        const one = new Probe('flaky', (batch) => {
          if (batch.records.some((r) => r.offset === poisoned)) {
            failures++;
            throw new Error('handler failure (expected by the test)');
          }
        });
        const c1 = await consume(one.options({ topic: t, group, from: 'earliest', maxBatchSize: 2 }));
        await until(() => failures >= 3, 'the failing batch to be retried twice');
        await c1.stop();

        const failing = one.attempts.filter((b) => b.records.some((r) => r.offset === poisoned));
        const firstFailing = failing[0]!.records.map((r) => r.offset);
        for (const retry of failing) expect(retry.records.map((r) => r.offset)).toEqual(firstFailing);
        // Nothing after the failing batch was handed out.
        const failingStart = Math.min(...firstFailing);
        expect(one.delivered.every((r) => r.offset < failingStart)).toBe(true);

        // A new member of the group starts exactly at the failing batch.
        const two = new Probe('healthy');
        await consume(two.options({ topic: t, group, from: 'earliest' }));
        await until(() => two.has(positions[9]!), 'the rest delivered to a healthy member');
        expectDeliveredExactly(inDeliveryOrder(one, two), positions);
        expect(one.violations).toEqual([]);
      });

      test('maxBatchSize bounds every batch', async () => {
        const t = await topic(1);
        const positions = await fill(t, 1, 25, 'r');
        const probe = new Probe('small');
        await consume(probe.options({ topic: t, group: unique('group'), from: 'earliest', maxBatchSize: 4 }));
        await until(() => probe.delivered.length >= 25, 'all 25 records delivered');
        expect(Math.max(...probe.attempts.map((b) => b.records.length))).toBeLessThanOrEqual(4);
        expectDeliveredExactly(probe.delivered, positions);
      });

      test('a consumer that may see records late (maxDelayMs) gets records appended one by one in a few batches, every one, in order', async () => {
        const t = await topic(1);
        const probe = new Probe('patient');
        await consume(probe.options({ topic: t, group: unique('group'), from: 'earliest', maxDelayMs: 1_500 }));
        // First one record, delivered: the consumer is reading (a fresh
        // Kafka consumer's first fetch comes late and would gather anyway).
        const positions = await fill(t, 1, 1, 'first');
        await until(() => probe.delivered.length >= 1, 'the first record delivered');
        const before = probe.attempts.length;
        for (let i = 0; i < 10; i++) {
          positions.push(...(await fill(t, 1, 1, `r${i}`)));
          await sleep(20);
        }
        await until(() => probe.delivered.length >= 11, 'all 11 records delivered');
        // A consumer without it takes each record as it comes: ten batches.
        // The ten appends span well under the delay: at most two windows.
        expect(probe.attempts.length - before).toBeLessThanOrEqual(2);
        expectDeliveredExactly(probe.delivered, positions);
      });

      test('each partition is handled in order, one batch at a time', async () => {
        const t = await topic(4);
        const tracker = new Tracker();
        const probe = new Probe('ordered', () => sleep(Math.floor(Math.random() * 3)), tracker);
        await consume(probe.options({ topic: t, group: unique('group'), from: 'earliest', maxBatchSize: 3 }));
        const positions: Position[] = [];
        for (let i = 0; i < 10; i++) positions.push(...(await fill(t, 4, 12, `r${i}`)));
        await until(() => probe.delivered.length >= positions.length, `${positions.length} records delivered`);
        expect(tracker.violations).toEqual([]);
        for (const batch of probe.attempts) {
          for (const r of batch.records) {
            expect(r.topic).toBe(batch.topic);
            expect(r.partition).toBe(batch.partition);
          }
        }
        expectDeliveredExactly(probe.delivered, positions);
      });

      test('members of a group split the partitions and together see every record once', async () => {
        const t = await topic(4);
        const group = unique('group');
        const tracker = new Tracker();
        const a = new Probe('a', undefined, tracker);
        const b = new Probe('b', undefined, tracker);
        await consume(a.options({ topic: t, group, from: 'earliest' }));
        await consume(b.options({ topic: t, group, from: 'earliest' }));
        await until(
          () => a.owned.size > 0 && b.owned.size > 0 && a.owned.size + b.owned.size === 4,
          'both members to own partitions',
        );
        expect([...a.owned].filter((p) => b.owned.has(p))).toEqual([]);

        const positions = await fill(t, 4, 40, 'r');
        await until(() => a.delivered.length + b.delivered.length >= 40, 'all 40 records delivered');
        expectDeliveredExactly(inDeliveryOrder(a, b), positions);
        for (const r of a.delivered) expect(a.owned.has(r.partition)).toBe(true);
        for (const r of b.delivered) expect(b.owned.has(r.partition)).toBe(true);
        expect(tracker.violations).toEqual([]);
      });

      test('a joining member gets partitions only after the old owner finished and heard onRevoked', async () => {
        const t = await topic(4);
        const group = unique('group');
        const tracker = new Tracker();
        const gate = deferred();
        let blockedOnce = false;
        const a = new Probe(
          'a',
          async () => {
            if (!blockedOnce) {
              blockedOnce = true;
              await gate.promise; // keep one batch in flight across the join
            }
          },
          tracker,
        );
        const b = new Probe('b', () => sleep(1), tracker);
        await consume(a.options({ topic: t, group, from: 'earliest', maxBatchSize: 5 }));
        const positions = await fill(t, 4, 40, 'before');
        await until(() => a.inFlight > 0, 'a batch of the first member in flight');

        const joining = consume(b.options({ topic: t, group, from: 'earliest', maxBatchSize: 5 }));
        await sleep(20);
        gate.resolve();
        await within(joining, waitMs, 'the second member to join');
        await until(() => a.owned.size > 0 && b.owned.size > 0, 'the partitions to be shared');
        positions.push(...(await fill(t, 4, 40, 'after')));

        await until(() => a.delivered.length + b.delivered.length >= positions.length, `${positions.length} records delivered`);
        expect(tracker.violations).toEqual([]);
        expect(b.firstAssigned.length).toBeGreaterThan(0);
        expectDeliveredExactly(inDeliveryOrder(a, b), positions);
      });

      test('when a member stops, the others take over its partitions', async () => {
        const t = await topic(4);
        const group = unique('group');
        const tracker = new Tracker();
        const a = new Probe('a', undefined, tracker);
        const b = new Probe('b', undefined, tracker);
        await consume(a.options({ topic: t, group, from: 'earliest' }));
        const cb = await consume(b.options({ topic: t, group, from: 'earliest' }));
        await until(() => a.owned.size > 0 && b.owned.size > 0, 'the partitions to be shared');
        const first = await fill(t, 4, 20, 'first');
        await until(() => a.delivered.length + b.delivered.length >= 20, 'the first 20 records delivered');

        const bHeld = [...b.owned].sort();
        await cb.stop();
        expect(b.owned.size).toBe(0);
        expect(b.revokedAll.sort()).toEqual(expect.arrayContaining(bHeld));
        b.closed = true;

        await until(() => a.owned.size === 4, 'the remaining member to own all 4 partitions');
        const second = await fill(t, 4, 20, 'second');
        await until(() => second.every((p) => a.has(p)), 'the new records delivered to the remaining member');
        expectDeliveredExactly(inDeliveryOrder(a, b), [...first, ...second]);
        expect(tracker.violations).toEqual([]);
        expect(b.violations).toEqual([]);
      });
    });
  });
}

// ---- helpers ----------------------------------------------------------------

function unique(prefix: string): string {
  return `contract.${prefix}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`;
}

function text(record: LogRecord): string {
  return record.value.toString('utf8');
}

/** Polls `predicate` until true; fails with `what` after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Every appended position delivered exactly once, each partition in offset order. */
function expectDeliveredExactly(delivered: LogRecord[], expected: Position[]): void {
  const got = new Map<number, number[]>();
  for (const r of delivered) got.set(r.partition, [...(got.get(r.partition) ?? []), r.offset]);
  const want = new Map<number, number[]>();
  for (const p of expected) want.set(p.partition, [...(want.get(p.partition) ?? []), p.offset]);
  for (const list of want.values()) list.sort((a, b) => a - b);
  const asObject = (m: Map<number, number[]>) => Object.fromEntries([...m].sort(([a], [b]) => a - b));
  // Delivery order per partition is compared as is: a reordering fails here.
  expect(asObject(got)).toEqual(asObject(want));
}

/**
 * Watches a partition's ownership and batches across the members of a test:
 * a partition is never handled by two batches at once, a member handles a
 * partition only between its onAssigned and onRevoked, and a new owner is told
 * only after the old one was revoked.
 */
class Tracker {
  readonly violations: string[] = [];
  readonly #owner = new Map<number, string>();
  readonly #busy = new Set<number>();

  assigned(member: string, partitions: number[]): void {
    for (const p of partitions) {
      const owner = this.#owner.get(p);
      if (owner !== undefined) this.violations.push(`${member} assigned p${p} still owned by ${owner}`);
      this.#owner.set(p, member);
    }
  }

  revoked(member: string, partitions: number[]): void {
    for (const p of partitions) {
      if (this.#owner.get(p) !== member) this.violations.push(`${member} revoked p${p} it did not own`);
      if (this.#busy.has(p)) this.violations.push(`${member} revoked p${p} during a batch`);
      this.#owner.delete(p);
    }
  }

  batchStart(member: string, partition: number): void {
    if (this.#owner.get(partition) !== member) {
      this.violations.push(`${member} got a batch of p${partition} owned by ${this.#owner.get(partition)}`);
    }
    if (this.#busy.has(partition)) this.violations.push(`two batches of p${partition} at once`);
    this.#busy.add(partition);
  }

  batchEnd(partition: number): void {
    this.#busy.delete(partition);
  }
}

/** Orders deliveries across probes, for checks that span members. */
let deliverySequence = 0;

/** The records several probes handled, in the order they were handled. */
function inDeliveryOrder(...probes: Probe[]): LogRecord[] {
  return probes
    .flatMap((probe) => probe.deliveries)
    .sort((a, b) => a.sequence - b.sequence)
    .map((d) => d.record);
}

/** A consumer's handlers that record what they are given. */
class Probe {
  readonly name: string;
  /** Records of batches whose handler resolved. */
  readonly delivered: LogRecord[] = [];
  readonly deliveries: { sequence: number; record: LogRecord }[] = [];
  /** Every batch handed over, failed ones included. */
  readonly attempts: Batch[] = [];
  readonly owned = new Set<number>();
  readonly revokedAll: number[] = [];
  firstAssigned: number[] = [];
  inFlight = 0;
  /** Set by the test once stop() resolved: any handler call after it is a violation. */
  closed = false;
  readonly violations: string[] = [];
  readonly #handle: (batch: Batch) => Promise<void> | void;
  readonly #tracker: Tracker | undefined;
  readonly #seen = new Set<string>();

  constructor(name: string, handle?: (batch: Batch) => Promise<void> | void, tracker?: Tracker) {
    this.name = name;
    this.#handle = handle ?? (() => undefined);
    this.#tracker = tracker;
  }

  has(position: Position): boolean {
    return this.#seen.has(`${position.partition}:${position.offset}`);
  }

  options(base: Omit<ConsumeOptions, 'eachBatch' | 'onAssigned' | 'onRevoked'>): ConsumeOptions {
    return {
      ...base,
      onAssigned: (partitions) => {
        this.#check('onAssigned');
        if (this.firstAssigned.length === 0) this.firstAssigned = [...partitions].sort((a, b) => a - b);
        for (const p of partitions) this.owned.add(p);
        this.#tracker?.assigned(this.name, partitions);
      },
      onRevoked: (partitions) => {
        this.#check('onRevoked');
        for (const p of partitions) this.owned.delete(p);
        this.revokedAll.push(...partitions);
        this.#tracker?.revoked(this.name, partitions);
      },
      eachBatch: async (batch) => {
        this.#check('eachBatch');
        if (!this.owned.has(batch.partition)) {
          this.violations.push(`${this.name} got p${batch.partition} before onAssigned`);
        }
        this.attempts.push(batch);
        this.inFlight++;
        this.#tracker?.batchStart(this.name, batch.partition);
        try {
          await this.#handle(batch);
        } finally {
          this.inFlight--;
          this.#tracker?.batchEnd(batch.partition);
        }
        for (const r of batch.records) {
          this.delivered.push(r);
          this.deliveries.push({ sequence: deliverySequence++, record: r });
          this.#seen.add(`${r.partition}:${r.offset}`);
        }
      },
    };
  }

  #check(handler: string): void {
    if (this.closed) this.violations.push(`${this.name}.${handler} ran after stop() resolved`);
  }
}
