// Where a moment falls in a partition: the first record appended at or after
// a time, found by a binary search over the embedded log's append times.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteLog, type SqliteLog } from './sqlite-log.ts';
import { firstOffsetAtOrAfter } from './offset-at-time.ts';

const TOPIC = 'events-under-test';
const logs: SqliteLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

async function openLog(): Promise<SqliteLog> {
  const log = openSqliteLog({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-positions-')), 'log.sqlite') });
  logs.push(log);
  await log.ensureTopics([{ name: TOPIC, partitions: 1, retentionMs: null }]);
  return log;
}

/** Appends `count` records one by one to partition 0; resolves with the time before the first. */
async function appendRun(log: SqliteLog, count: number): Promise<number> {
  // A new millisecond: the run's records are strictly later than everything before.
  const start = Date.now();
  while (Date.now() === start) await new Promise((resolve) => setTimeout(resolve, 1));
  const before = Date.now();
  for (let i = 0; i < count; i++) await log.append(TOPIC, [{ key: 'k', value: Buffer.from(String(i)), partition: 0 }]);
  return before;
}

describe('firstOffsetAtOrAfter', () => {
  it('finds the first record of each run of appends by the time it started', async () => {
    const log = await openLog();
    const runs = [];
    for (const count of [7, 1, 12, 3]) runs.push({ at: await appendRun(log, count), count });
    let offset = 0;
    for (const run of runs) {
      expect(await firstOffsetAtOrAfter(log, TOPIC, 0, run.at)).toBe(offset);
      offset += run.count;
    }
    // Before everything: the start; after everything: the end (nothing to replay).
    expect(await firstOffsetAtOrAfter(log, TOPIC, 0, 0)).toBe(0);
    expect(await firstOffsetAtOrAfter(log, TOPIC, 0, Date.now() + 60_000)).toBe(offset);
  });

  it('answers 0 for an empty partition', async () => {
    const log = await openLog();
    expect(await firstOffsetAtOrAfter(log, TOPIC, 0, Date.now())).toBe(0);
  });
});
