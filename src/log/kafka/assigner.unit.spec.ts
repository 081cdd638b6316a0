// The sticky assignment and the join metadata of the Kafka adapter's assigner.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeClaims, encodeClaims, stickyAssignment } from './assigner.ts';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('stickyAssignment', () => {
  test('a first member takes everything; a second takes half of it, the holder keeps the rest', () => {
    expect(stickyAssignment(range(4), [{ id: 'a', owned: [] }])).toEqual(new Map([['a', [0, 1, 2, 3]]]));
    const plan = stickyAssignment(range(4), [
      { id: 'a', owned: [0, 1, 2, 3] },
      { id: 'b', owned: [] },
    ]);
    expect(plan).toEqual(
      new Map([
        ['a', [0, 1]],
        ['b', [2, 3]],
      ]),
    );
  });

  test('a member leaving hands on only its partitions', () => {
    const plan = stickyAssignment(range(6), [
      { id: 'a', owned: [0, 3] },
      { id: 'c', owned: [2, 5] },
    ]);
    expect(plan.get('a')).toEqual(expect.arrayContaining([0, 3]));
    expect(plan.get('c')).toEqual(expect.arrayContaining([2, 5]));
    expect([...plan.values()].flat().sort()).toEqual(range(6));
  });

  test('balanced, complete, disjoint and sticky for any holdings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }), { minLength: 1, maxLength: 8 }),
        (count, holdings) => {
          const members = holdings.map((owned, i) => ({ id: `m${i}`, owned }));
          const plan = stickyAssignment(range(count), members);
          const all = [...plan.values()].flat();
          expect(all.sort((x, y) => x - y)).toEqual(range(count)); // complete and disjoint
          const sizes = [...plan.values()].map((ps) => ps.length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
          expect(plan.size).toBe(members.length);
          // Sticky: a partition held by exactly one member moves only if that
          // member holds more than its share.
          const quota = Math.floor(count / members.length);
          for (const m of members) {
            const mine = new Set(m.owned.filter((p) => p < count));
            const exclusive = [...mine].filter((p) => members.every((o) => o === m || !o.owned.includes(p)));
            const kept = exclusive.filter((p) => plan.get(m.id)!.includes(p));
            expect(kept.length).toBeGreaterThanOrEqual(Math.min(exclusive.length, quota));
          }
        },
      ),
    );
  });
});

describe('claims', () => {
  test('round-trip, and anything unreadable claims nothing', () => {
    const claims = { owned: [1, 4], releasing: [2], nonce: 'n-1' };
    expect(decodeClaims(encodeClaims(claims))).toEqual(claims);
    const none = { owned: [], releasing: [], nonce: '' };
    expect(decodeClaims(Buffer.alloc(0))).toEqual(none);
    expect(decodeClaims(Buffer.from('not json'))).toEqual(none);
    expect(decodeClaims(Buffer.from('{"owned":[-1],"releasing":"x","nonce":3}'))).toEqual(none);
  });
});
