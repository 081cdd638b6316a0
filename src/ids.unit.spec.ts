// Ids are UUID v7: valid, stamped with the time they were minted, and
// increasing in the order this process minted them — also within one
// millisecond, where the counter (not the clock) orders them.

import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

const millisecondOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('newId', () => {
  it('mints valid UUID v7s stamped with the current time', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
    expect(id).toBe(id.toLowerCase());
    expect(millisecondOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondOf(id)).toBeLessThanOrEqual(after);
  });

  it('mints ids in increasing order, many within one millisecond', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    const perMillisecond = new Map<number, number>();
    for (const id of ids) perMillisecond.set(millisecondOf(id), (perMillisecond.get(millisecondOf(id)) ?? 0) + 1);
    expect(Math.max(...perMillisecond.values())).toBeGreaterThan(1);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
