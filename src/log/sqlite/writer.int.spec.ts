// The group commit on a real SQLite file. Its fsync decision: a transaction
// is made durable (synchronous=FULL, an fsync at commit) exactly when it holds
// an append to a topic that must survive a power failure; batches of
// ephemeral topics' appends (signals, outcomes) and offset commits are not.
// Its linger: when writes wait for others to share their transaction.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { SqliteStore, type Durability } from './store.ts';
import { BatchWriter } from './writer.ts';

const record = (partition: number) => ({ partition, key: 'k', value: Buffer.from('v'), headers: undefined });

/** A store on a fresh file that records the durability of each transaction, and a writer over it. */
function recordedWriter(dir: string, lingerMs: number) {
  const store = new SqliteStore({ path: path.join(dir, 'log.sqlite'), durability: 'full', busyTimeoutMs: 1_000 });
  store.ensureTopics([
    { name: 'events', partitions: 2, retentionMs: null },
    { name: 'signals', partitions: 2, retentionMs: 60_000, ephemeral: true },
  ]);
  const ephemeral = new Set([store.topic('signals')!.id]);
  const durabilities: Durability[] = [];
  const transaction = store.transaction.bind(store);
  store.transaction = <T>(durability: Durability, fn: () => T): T => {
    durabilities.push(durability);
    return transaction(durability, fn);
  };
  const writer = new BatchWriter(store, {
    maxWriteBatch: 1_000,
    clock: Date.now,
    onAppended: () => undefined,
    isEphemeral: (topicId) => ephemeral.has(topicId),
    lingerMs,
  });
  return { store, durabilities, writer };
}

describe('group commit durability', () => {
  let dir: string;
  let store: SqliteStore;
  let durabilities: Durability[];
  let writer: BatchWriter;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-writer-'));
    ({ store, durabilities, writer } = recordedWriter(dir, 0));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('ephemeral appends alone commit without an fsync, and land like any others', async () => {
    const positions = await Promise.all([
      writer.append(store.topic('signals')!, [record(0)]),
      writer.append(store.topic('signals')!, [record(1)]),
    ]);
    expect(positions.flat().map((p) => [p.partition, p.offset])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(durabilities).toEqual(['normal']);
  });

  test('a batch with one durable append is made durable, ephemeral appends in it too', async () => {
    await Promise.all([writer.append(store.topic('signals')!, [record(0)]), writer.append(store.topic('events')!, [record(0)])]);
    expect(durabilities).toEqual(['full']);
    await writer.append(store.topic('events')!, [record(1)]);
    expect(durabilities).toEqual(['full', 'full']);
  });
});

describe('linger', () => {
  const lingerMs = 20;
  let dir: string;
  let store: SqliteStore;
  let durabilities: Durability[];
  let writer: BatchWriter;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-writer-'));
    ({ store, durabilities, writer } = recordedWriter(dir, lingerMs));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Settles what is due `ms` from now, the writer's timers and the promises they resolve. */
  const after = (ms: number) => vi.advanceTimersByTimeAsync(ms);

  test('a durable append after a quiet spell commits in its turn; one within the linger waits out the rest and shares the next commit', async () => {
    const events = store.topic('events')!;
    let first: unknown;
    void writer.append(events, [record(0)]).then((positions) => (first = positions));
    await after(0);
    expect(durabilities).toEqual(['full']);
    expect(first).toEqual([{ topic: 'events', partition: 0, offset: 0 }]);

    await after(5);
    const second = writer.append(events, [record(0)]);
    await after(10);
    const third = writer.append(events, [record(1)]);
    await after(4); // 19 ms since the first commit: both still wait
    expect(durabilities).toEqual(['full']);

    await after(1);
    expect(durabilities).toEqual(['full', 'full']);
    expect(await second).toEqual([{ topic: 'events', partition: 0, offset: 1 }]);
    expect(await third).toEqual([{ topic: 'events', partition: 1, offset: 0 }]);

    await after(lingerMs);
    void writer.append(events, [record(1)]);
    await after(0);
    expect(durabilities).toEqual(['full', 'full', 'full']);
  });

  test('other writes linger after any transaction, and a durable append due sooner takes them along', async () => {
    const events = store.topic('events')!;
    const signals = store.topic('signals')!;
    await Promise.all([writer.append(events, [record(0)]), after(0)]);
    expect(durabilities).toEqual(['full']);

    // An ephemeral append waits out the linger after the last transaction...
    await after(10);
    void writer.append(signals, [record(0)]);
    await after(9);
    expect(durabilities).toEqual(['full']);
    await after(1);
    expect(durabilities).toEqual(['full', 'normal']);

    // ...an offset commit after it too, until a durable append comes whose
    // linger (from the last fsync'd commit, 20 ms ago) is already over.
    await after(1);
    let committed = false;
    void writer.commit('g', events, 0, 1).then(() => (committed = true));
    await after(5);
    expect(committed).toBe(false);
    void writer.append(events, [record(1)]);
    await after(0);
    expect(durabilities).toEqual(['full', 'normal', 'full']);
    expect(committed).toBe(true);
    expect(store.committedOffset('g', events.id, 0)).toBe(1);
  });
});
