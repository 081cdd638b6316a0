// Consumer lag through the real embedded log: a consumer that handled
// everything is at 0; one held inside a batch shows the records past it; it
// returns to 0 once the batch is done, and a stopped consumer is no longer
// reported.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/chat.ts';
import { trackConsumerLag } from './consumer-lag.ts';
import { openSqliteLog } from './sqlite-log.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const records = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`r${i}`), partition: 0 }));

describe('consumer lag', () => {
  it('is 0 when caught up, the records past a held batch while it runs, and gone once the consumer stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-lag-'));
    const inner = openSqliteLog({ path: join(dir, 'log.sqlite'), onError: () => undefined });
    cleanups.push(async () => {
      await inner.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await inner.ensureTopics([{ name: 't', partitions: 2, retentionMs: null }]);
    // What the metrics hear: each handled batch, by group and topic, with its records.
    const batches: string[] = [];
    const tracked = trackConsumerLag(inner, {
      countBatches: (group, topic) => (size) => batches.push(`${group} ${topic} ${size}`),
    });
    const { log } = tracked;
    const lag = () => tracked.lag();

    let hold: Promise<void> | null = null;
    let release: () => void = () => undefined;
    let handled = 0;
    const consumer = await log.consume({
      topic: 't',
      group: 'g',
      from: 'earliest',
      eachBatch: async ({ records: batch }) => {
        if (hold !== null) await hold;
        handled += batch.length;
      },
    });
    await log.append('t', records(3));
    await eventually(() => handled === 3, 'the first records handled');
    expect(await lag()).toEqual([{ group: 'g', topic: 't', partition: 0, lag: 0 }]);
    expect(batches).toEqual(['g t 3']);

    hold = new Promise<void>((resolve) => (release = resolve));
    await log.append('t', records(4));
    await eventually(async () => (await lag())[0]?.lag === 4, 'the held batch shows as lag');
    expect(handled).toBe(3);

    release();
    await eventually(() => handled === 7, 'the held batch done');
    expect(await lag()).toEqual([{ group: 'g', topic: 't', partition: 0, lag: 0 }]);
    // A batch is counted once handled, not while it runs.
    expect(batches).toEqual(['g t 3', 'g t 4']);

    await consumer.stop();
    expect(await lag()).toEqual([]);
  });
});
