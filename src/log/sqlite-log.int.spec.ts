// The embedded log against the port's contract, plus what only a file-backed
// log can promise: durability across close/reopen and SIGKILL, retention,
// group commit, and records written by another connection to the same file.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { logContract, waitUntil } from './log.contract.ts';
import type { Batch, Consumer, LogRecord } from './port.ts';
import { openSqliteLog, type SqliteLog, type SqliteLogOptions } from './sqlite-log.ts';

const WAIT_MS = 10_000;

/** Handler failures the tests provoke on purpose are expected; anything else is printed. */
function onError(error: unknown, context: string): void {
  if (error instanceof Error && error.message.includes('expected by the test')) return;
  console.error(`[sqlite-log test] ${context}:`, error);
}

function tempDir(): { dir: string; path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'parley-log-'));
  return { dir, path: join(dir, 'log.db'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

logContract('sqlite', () => {
  const tmp = tempDir();
  const log = openSqliteLog({ path: tmp.path, retryBackoffMs: 10, onError });
  return {
    log,
    cleanup: async () => {
      await log.close();
      tmp.remove();
    },
  };
});

describe('sqlite log', () => {
  const opened: SqliteLog[] = [];
  const dirs: (() => void)[] = [];

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((log) => log.close()));
    for (const remove of dirs.splice(0)) remove();
  });

  function newPath(): string {
    const tmp = tempDir();
    dirs.push(tmp.remove);
    return tmp.path;
  }

  function open(path: string, options: Partial<SqliteLogOptions> = {}): SqliteLog {
    const log = openSqliteLog({ path, retryBackoffMs: 10, onError, ...options });
    opened.push(log);
    return log;
  }

  const text = (r: LogRecord): string => r.value.toString('utf8');
  const records = (n: number, tag: string, partition?: number) =>
    Array.from({ length: n }, (_, i) => ({
      key: `${tag}-${i}`,
      value: Buffer.from(`${tag}-${i}`),
      ...(partition === undefined ? {} : { partition }),
    }));

  /** Every record of topic 't' from the start, as group 'g' gets them (the array fills as they come). */
  const consumeAll = async (log: SqliteLog): Promise<string[]> => {
    const seen: string[] = [];
    await log.consume({
      topic: 't',
      group: 'g',
      from: 'earliest',
      eachBatch: (batch) => {
        seen.push(...batch.records.map(text));
      },
    });
    return seen;
  };

  test('offsets are gapless from 0 in every partition', async () => {
    const log = open(newPath());
    await log.ensureTopics([{ name: 't', partitions: 3, retentionMs: null }]);
    const positions = [...(await log.append('t', records(20, 'a'))), ...(await log.append('t', records(25, 'b')))];
    for (let p = 0; p < 3; p++) {
      const offsets = positions.filter((pos) => pos.partition === p).map((pos) => pos.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
      expect(await log.endOffset('t', p)).toBe(offsets.length);
    }
  });

  test('records, offsets and committed group offsets survive close and reopen', async () => {
    const path = newPath();
    const first = open(path);
    await first.ensureTopics([{ name: 'events', partitions: 1, retentionMs: null }]);
    const value = Buffer.from([0, 255, 1, 254, 10, 13]);
    await first.append('events', [{ key: 'bin', value, headers: { 'event-type': 'Bin' } }]);
    await first.append('events', records(9, 'r'));

    // The group handles offsets 0..5 and keeps failing from 6 on.
    const handled: number[] = [];
    await first.consume({
      topic: 'events',
      group: 'projector',
      from: 'earliest',
      maxBatchSize: 2,
      eachBatch: (batch) => {
        if (batch.records.some((r) => r.offset >= 6)) throw new Error('failure expected by the test');
        handled.push(...batch.records.map((r) => r.offset));
      },
    });
    await waitUntil(() => handled.length >= 6, 'offsets 0..5 handled', WAIT_MS);
    await first.close();

    const again = open(path);
    expect(again.partitionCount('events')).toBe(1);
    expect(await again.endOffset('events', 0)).toBe(10);
    const [bin] = await again.read('events', 0, 0, 1);
    expect(bin && Buffer.compare(bin.value, value)).toBe(0);
    expect(bin?.headers).toEqual({ 'event-type': 'Bin' });
    const [next] = await again.append('events', [{ key: 'k', value: Buffer.from('after reopen') }]);
    expect(next?.offset).toBe(10);

    const resumed: number[] = [];
    await again.consume({
      topic: 'events',
      group: 'projector',
      from: 'earliest',
      eachBatch: (batch) => {
        resumed.push(...batch.records.map((r) => r.offset));
      },
    });
    await waitUntil(() => resumed.includes(10), 'the resumed group to reach offset 10', WAIT_MS);
    expect(handled).toEqual([0, 1, 2, 3, 4, 5]);
    expect(resumed).toEqual([6, 7, 8, 9, 10]);
  });

  test('appends acknowledged before a SIGKILL are still there', async () => {
    const path = newPath();
    const setup = open(path);
    await setup.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    await setup.close();

    // A child process appends and prints each acknowledged position; we kill
    // it mid-stream without warning and check every printed one survived.
    const moduleUrl = pathToFileURL(join(import.meta.dirname, 'sqlite-log.ts')).href;
    const script = `
      import { openSqliteLog } from ${JSON.stringify(moduleUrl)};
      const log = openSqliteLog({ path: ${JSON.stringify(path)} });
      for (let i = 0; ; i++) {
        const batch = Array.from({ length: 20 }, (_, j) => ({ key: 'k' + j, value: Buffer.from(i + '.' + j) }));
        const positions = await log.append('t', batch);
        process.stdout.write(JSON.stringify({ i, positions }) + '\\n');
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: { i: number; positions: { partition: number; offset: number }[] }[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) acked.push(JSON.parse(line));
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
    await waitUntil(() => acked.length >= 50, '50 acknowledged appends from the child', WAIT_MS);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const log = open(path);
    for (const { i, positions } of acked) {
      for (const [j, pos] of positions.entries()) {
        const [record] = await log.read('t', pos.partition, pos.offset, 1);
        expect(record && text(record)).toBe(`${i}.${j}`);
      }
    }
  });

  test('retention deletes expired records, moves startOffset, and offsets go on', async () => {
    const path = newPath();
    let now = 1_000_000;
    const log = open(path, { clock: () => now, retentionSweepIntervalMs: 0 });
    await log.ensureTopics([
      { name: 'signals', partitions: 2, retentionMs: 1_000 },
      { name: 'events', partitions: 1, retentionMs: null },
    ]);
    await log.append('signals', records(5, 'old', 0));
    await log.append('events', records(3, 'forever', 0));
    now += 600;
    await log.append('signals', records(5, 'young', 0));
    await log.append('signals', records(3, 'young', 1));
    now += 600; // the first five are 1200 ms old, the rest 600

    expect(log.sweepRetention()).toBe(5);
    expect(await log.startOffset('signals', 0)).toBe(5);
    expect(await log.endOffset('signals', 0)).toBe(10);
    expect((await log.read('signals', 0, 0, 100)).map((r) => r.offset)).toEqual([5, 6, 7, 8, 9]);
    expect(await log.startOffset('signals', 1)).toBe(0);
    expect(log.sweepRetention()).toBe(0);

    now += 10_000;
    expect(log.sweepRetention()).toBe(8);
    expect(await log.startOffset('signals', 0)).toBe(10);
    expect(await log.read('signals', 0, 0, 100)).toEqual([]);
    expect(await log.startOffset('signals', 1)).toBe(3);
    expect((await log.read('events', 0, 0, 100)).map(text)).toEqual(['forever-0', 'forever-1', 'forever-2']);
    const [next] = await log.append('signals', [{ key: 'k', value: Buffer.from('x'), partition: 0 }]);
    expect(next?.offset).toBe(10);

    await log.close();
    const reopened = open(path, { clock: () => now });
    expect(await reopened.startOffset('signals', 0)).toBe(10);
    expect(await reopened.endOffset('signals', 0)).toBe(11);
  });

  test('a consumer whose start fell out of retention starts at the first record kept', async () => {
    let now = 5_000_000;
    const log = open(newPath(), { clock: () => now, retentionSweepIntervalMs: 0 });
    await log.ensureTopics([{ name: 't', partitions: 1, retentionMs: 1_000 }]);
    await log.append('t', records(4, 'gone'));
    now += 2_000;
    await log.append('t', records(2, 'kept'));
    log.sweepRetention();

    const seen: number[] = [];
    await log.consume({
      topic: 't',
      group: null,
      from: 'earliest',
      startAt: () => Promise.resolve(1),
      eachBatch: (batch) => {
        seen.push(...batch.records.map((r) => r.offset));
      },
    });
    await waitUntil(() => seen.length >= 2, 'the kept records', WAIT_MS);
    expect(seen).toEqual([4, 5]);
  });

  test('the periodic sweep runs on its own', async () => {
    let now = 0;
    const log = open(newPath(), { clock: () => now, retentionSweepIntervalMs: 10 });
    await log.ensureTopics([{ name: 't', partitions: 1, retentionMs: 100 }]);
    await log.append('t', records(3, 'r'));
    now = 1_000;
    await waitUntil(async () => (await log.startOffset('t', 0)) === 3, 'the periodic sweep to drop the expired records', WAIT_MS);
    expect(await log.read('t', 0, 0, 10)).toEqual([]);
  });

  test('concurrent appends are written in one transaction, bounded by maxWriteBatch', async () => {
    let clockCalls = 0;
    const clock = () => {
      clockCalls++; // the writer reads the clock once per transaction
      return Date.now();
    };
    // What the metrics hear: one write per transaction, with its records.
    const writes: number[] = [];
    const log = open(newPath(), { clock, maxWriteBatch: 25, onWrite: ({ records }) => writes.push(records) });
    await log.ensureTopics([{ name: 't', partitions: 4, retentionMs: null }]);

    clockCalls = 0;
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append('t', records(1, `a${i}`))));
    expect(clockCalls).toBe(1);
    expect(writes.splice(0)).toEqual([20]);

    clockCalls = 0;
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append('t', records(1, `b${i}`))));
    expect(clockCalls).toBe(4);
    expect(writes.splice(0)).toEqual([25, 25, 25, 25]);

    // Appends reached through promise chains of different depths in the same
    // turn of the event loop still share one transaction.
    clockCalls = 0;
    const afterHops = async (hops: number, tag: string): Promise<unknown> => {
      for (let i = 0; i < hops; i++) await Promise.resolve();
      return log.append('t', records(1, tag));
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => afterHops(i % 6, `c${i}`)));
    expect(clockCalls).toBe(1);

    // One call larger than maxWriteBatch is not split.
    clockCalls = 0;
    const big = await log.append('t', records(60, 'big', 0));
    expect(clockCalls).toBe(1);
    expect(big.map((p) => p.offset)).toEqual(big.map((_, i) => big[0]!.offset + i));
  });

  test('a bad append is rejected alone; its neighbours in the same transaction succeed', async () => {
    const log = open(newPath());
    await log.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    const good = log.append('t', records(2, 'good'));
    const badPartition = log.append('t', [{ key: 'k', value: Buffer.from('x'), partition: 2 }]);
    const unknownTopic = log.append('nope', records(1, 'x'));
    await expect(badPartition).rejects.toThrow(/partition 2 out of range/);
    await expect(unknownTopic).rejects.toThrow(/unknown topic/);
    expect(await good).toHaveLength(2);
    await expect(log.read('t', -1, 0, 1)).rejects.toThrow(RangeError);
    expect(() => log.partitionCount('nope')).toThrow(/unknown topic/);
  });

  test('a consumer sees records another connection to the file appends, through the poll', async () => {
    const path = newPath();
    const writer = open(path);
    const reader = open(path, { pollIntervalMs: 20 });
    // Created after the reader opened: the reader finds it in the file.
    await writer.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    expect(reader.partitionCount('t')).toBe(2);

    const seen: string[] = [];
    await reader.consume({
      topic: 't',
      group: null,
      from: 'latest',
      eachBatch: (batch) => {
        seen.push(...batch.records.map(text));
      },
    });
    await writer.append('t', records(6, 'remote'));
    await waitUntil(() => seen.length >= 6, 'the reader to see 6 records written by the other connection', WAIT_MS);
    expect(seen.sort()).toEqual(
      records(6, 'remote')
        .map((r) => r.key)
        .sort(),
    );
  });

  test('a consumer gets every record once, in order, when its own process and another connection append in turns', async () => {
    const path = newPath();
    const mine = open(path, { pollIntervalMs: 20 });
    const other = open(path);
    await mine.ensureTopics([{ name: 't', partitions: 1, retentionMs: null }]);
    const seen: string[] = [];
    const offsets: number[] = [];
    await mine.consume({
      topic: 't',
      group: null,
      from: 'earliest',
      eachBatch: (batch) => {
        seen.push(...batch.records.map(text));
        offsets.push(...batch.records.map((r) => r.offset));
      },
    });
    const expected: string[] = [];
    for (let turn = 0; turn < 6; turn++) {
      // Records from memory (this process appended them) and from the file (the other one did) interleave.
      const [writer, tag] = turn % 2 === 0 ? [mine, `mine${turn}`] : [other, `other${turn}`];
      await writer.append('t', records(3, tag, 0));
      expected.push(...records(3, tag, 0).map((r) => r.key));
      await waitUntil(() => seen.length >= expected.length, `turn ${turn} seen`, WAIT_MS);
    }
    expect(seen).toEqual(expected);
    expect(offsets).toEqual(expected.map((_, i) => i));
    // read() answers the same, from memory and from the file alike.
    expect((await mine.read('t', 0, 0, 100)).map(text)).toEqual(expected);
  });

  test('what a consumer gets from memory is the record as appended, whatever the producer does to its buffer afterwards', async () => {
    const log = open(newPath());
    await log.ensureTopics([{ name: 't', partitions: 1, retentionMs: null }]);
    const value = Buffer.from('original');
    const headers = { kind: 'first' };
    await log.append('t', [{ key: 'k', value, headers, partition: 0 }]);
    value.write('MUTATED!');
    headers.kind = 'changed';
    const [record] = await log.read('t', 0, 0, 1);
    expect(text(record!)).toBe('original');
    expect(record!.headers).toEqual({ kind: 'first' });
  });

  test('with no records kept in memory, consumers read everything from the file', async () => {
    const log = open(newPath(), { tailCacheRecords: 0 });
    await log.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    const seen = await consumeAll(log);
    await log.append('t', records(10, 'x'));
    await waitUntil(() => seen.length >= 10, '10 records', WAIT_MS);
    expect(seen.sort()).toEqual(
      records(10, 'x')
        .map((r) => r.key)
        .sort(),
    );
  });

  test('two connections appending to one file keep offsets gapless and distinct', async () => {
    const path = newPath();
    const one = open(path);
    const two = open(path);
    await one.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    const positions = (
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).append('t', records(3, `w${i}`))))
    ).flat();
    for (let p = 0; p < 2; p++) {
      const offsets = positions.filter((pos) => pos.partition === p).map((pos) => pos.offset);
      expect([...offsets].sort((a, b) => a - b)).toEqual(offsets.map((_, i) => i));
      expect(await two.endOffset('t', p)).toBe(offsets.length);
    }
  });

  test('in-process appends wake an idle consumer with polling switched off', async () => {
    const log = open(newPath(), { pollIntervalMs: 0 });
    await log.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    const seen = await consumeAll(log);
    for (let round = 0; round < 3; round++) {
      await log.append('t', records(4, `round${round}`));
      await waitUntil(() => seen.length >= 4 * (round + 1), `round ${round} delivered`, WAIT_MS);
    }
    expect(seen).toHaveLength(12);
  });

  test('close stops consumers (onRevoked called), is idempotent, and later calls reject', async () => {
    const log = open(newPath());
    await log.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    const revoked: number[] = [];
    const batches: Batch[] = [];
    const consumer: Consumer = await log.consume({
      topic: 't',
      group: 'g',
      from: 'earliest',
      onRevoked: (partitions) => {
        revoked.push(...partitions);
      },
      eachBatch: (batch) => {
        batches.push(batch);
      },
    });
    await log.append('t', records(4, 'r'));
    await waitUntil(() => batches.flatMap((b) => b.records).length >= 4, 'the 4 records', WAIT_MS);

    await Promise.all([log.close(), log.close()]);
    expect(revoked.sort()).toEqual([0, 1]);
    await consumer.stop(); // already stopped: resolves
    await expect(log.append('t', records(1, 'late'))).rejects.toThrow(/closed/);
    await expect(log.read('t', 0, 0, 1)).rejects.toThrow(/closed/);
    await expect(log.consume({ topic: 't', group: null, from: 'earliest', eachBatch: async () => {} })).rejects.toThrow(/closed/);
  });

  test('a failing onAssigned is retried before any batch of its partitions', async () => {
    const log = open(newPath());
    await log.ensureTopics([{ name: 't', partitions: 1, retentionMs: null }]);
    await log.append('t', records(3, 'r'));
    let attempts = 0;
    let assigned = false;
    const violations: string[] = [];
    const seen: number[] = [];
    await log.consume({
      topic: 't',
      group: 'g',
      from: 'earliest',
      onAssigned: () => {
        if (++attempts < 3) throw new Error('onAssigned failure expected by the test');
        assigned = true;
      },
      eachBatch: (batch) => {
        if (!assigned) violations.push('batch before onAssigned succeeded');
        seen.push(...batch.records.map((r) => r.offset));
      },
    });
    await waitUntil(() => seen.length >= 3, 'the 3 records', WAIT_MS);
    expect(attempts).toBe(3);
    expect(violations).toEqual([]);
    expect(seen).toEqual([0, 1, 2]);
  });
});
