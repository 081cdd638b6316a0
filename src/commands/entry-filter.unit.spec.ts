// The Bloom filter of a spilled aggregate's stored entries: never "no" for an
// id it was given, rarely "maybe" for one it was not, the same after a
// snapshot's round trip through V8's serialization.

import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { EntryFilter, type StoredFilter } from './entry-filter.ts';

const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}:01900000-0000-7000-8000-${String(i).padStart(12, '0')}`);

describe('entry filter', () => {
  it('knows every id it was given, and answers "maybe" for under 2 % of the others as it grows', () => {
    const filter = new EntryFilter();
    const added = ids('c', 100_000);
    for (const id of added) filter.add(id);
    expect(added.every((id) => filter.mightHave(id))).toBe(true);
    const others = ids('x', 100_000);
    const falsePositives = others.filter((id) => filter.mightHave(id)).length / others.length;
    // Seven layers (1,024 … 65,536 entries), each's false positives half the last's.
    expect(falsePositives).toBeLessThan(0.02);
  });

  it('an empty filter says no; a stored one says what it said before', () => {
    expect(new EntryFilter().mightHave('m:anything')).toBe(false);
    const filter = new EntryFilter();
    for (const id of ids('m', 3_000)) filter.add(id);
    const back = new EntryFilter(v8.deserialize(v8.serialize(filter.stored())) as StoredFilter);
    const probe = [...ids('m', 3_000), ...ids('y', 3_000)];
    expect(probe.map((id) => back.mightHave(id))).toEqual(probe.map((id) => filter.mightHave(id)));
    expect(ids('m', 3_000).every((id) => back.mightHave(id))).toBe(true);
  });
});
