// The tail cache answers only for offsets it holds exactly as the file has
// them: a contiguous run per partition, bounded, and started afresh when an
// append does not continue it.

import { describe, expect, test } from 'vitest';
import type { LogRecord } from '../port.ts';
import { TailCache } from './tail-cache.ts';

const records = (partition: number, from: number, count: number): LogRecord[] =>
  Array.from({ length: count }, (_, i) => ({
    topic: 't',
    partition,
    offset: from + i,
    key: `k${from + i}`,
    value: Buffer.from(`v${from + i}`),
    headers: {},
    timestamp: 1,
  }));
const offsets = (found: LogRecord[] | undefined) => found?.map((record) => record.offset);

describe('TailCache', () => {
  test('serves what it holds from the asked offset on, at most limit records', () => {
    const cache = new TailCache(100);
    cache.add(1, 0, records(0, 10, 3));
    cache.add(1, 0, records(0, 13, 2));
    expect(offsets(cache.read(1, 0, 10, 100))).toEqual([10, 11, 12, 13, 14]);
    expect(offsets(cache.read(1, 0, 12, 2))).toEqual([12, 13]);
  });

  test('does not answer before its first record, at its end, or for partitions it never saw', () => {
    const cache = new TailCache(100);
    cache.add(1, 0, records(0, 10, 3));
    expect(cache.read(1, 0, 9, 10)).toBeUndefined();
    // At the end another connection may have appended: the file must answer.
    expect(cache.read(1, 0, 13, 10)).toBeUndefined();
    expect(cache.read(1, 1, 0, 10)).toBeUndefined();
    expect(cache.read(2, 0, 10, 10)).toBeUndefined();
  });

  test('keeps only the newest records of a partition', () => {
    const cache = new TailCache(4);
    cache.add(1, 0, records(0, 0, 3));
    cache.add(1, 0, records(0, 3, 3));
    expect(cache.read(1, 0, 1, 10)).toBeUndefined();
    expect(offsets(cache.read(1, 0, 2, 10))).toEqual([2, 3, 4, 5]);
  });

  test('an append that does not continue the run (another connection wrote between) starts it afresh', () => {
    const cache = new TailCache(100);
    cache.add(1, 0, records(0, 0, 3));
    cache.add(1, 0, records(0, 5, 2));
    expect(cache.read(1, 0, 0, 10)).toBeUndefined();
    expect(cache.read(1, 0, 3, 10)).toBeUndefined();
    expect(offsets(cache.read(1, 0, 5, 10))).toEqual([5, 6]);
  });

  test('records are frozen, since every consumer shares them; clear and capacity 0 hold nothing', () => {
    const cache = new TailCache(10);
    cache.add(1, 0, records(0, 0, 1));
    expect(Object.isFrozen(cache.read(1, 0, 0, 1)![0])).toBe(true);
    cache.clear();
    expect(cache.read(1, 0, 0, 1)).toBeUndefined();

    const none = new TailCache(0);
    none.add(1, 0, records(0, 0, 1));
    expect(none.read(1, 0, 0, 1)).toBeUndefined();
  });
});
