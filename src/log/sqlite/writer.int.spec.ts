// The group commit's fsync decision, on a real SQLite file: a transaction
// is made durable (synchronous=FULL, an fsync at commit) exactly when it holds
// an append to a topic that must survive a power failure; batches of
// ephemeral topics' appends (signals, outcomes) and offset commits are not.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { SqliteStore, type Durability } from './store.ts';
import { BatchWriter } from './writer.ts';

const record = (partition: number) => ({ partition, key: 'k', value: Buffer.from('v'), headers: undefined });

describe('group commit durability', () => {
  let dir: string;
  let store: SqliteStore;
  let durabilities: Durability[];
  let writer: BatchWriter;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-writer-'));
    store = new SqliteStore({ path: path.join(dir, 'log.sqlite'), durability: 'full', busyTimeoutMs: 1_000 });
    store.ensureTopics([
      { name: 'events', partitions: 2, retentionMs: null },
      { name: 'signals', partitions: 2, retentionMs: 60_000, ephemeral: true },
    ]);
    const ephemeral = new Set([store.topic('signals')!.id]);
    durabilities = [];
    const transaction = store.transaction.bind(store);
    store.transaction = <T>(durability: Durability, fn: () => T): T => {
      durabilities.push(durability);
      return transaction(durability, fn);
    };
    writer = new BatchWriter(store, {
      maxWriteBatch: 1_000,
      clock: Date.now,
      onAppended: () => undefined,
      isEphemeral: (topicId) => ephemeral.has(topicId),
    });
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
