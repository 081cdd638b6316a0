import { describe, expect, test } from 'vitest';
import { assignPartitions } from './assignment.ts';

function counts(plan: Map<number, number[]>): number[] {
  return [...plan.values()].map((ps) => ps.length).sort();
}

function all(plan: Map<number, number[]>): number[] {
  return [...plan.values()].flat().sort((a, b) => a - b);
}

describe('assignPartitions', () => {
  test('gives every partition to exactly one member, balanced within one', () => {
    for (let partitions = 1; partitions <= 13; partitions++) {
      for (let n = 1; n <= 5; n++) {
        const plan = assignPartitions(
          partitions,
          Array.from({ length: n }, (_, id) => ({ id, owned: [] })),
        );
        expect(all(plan)).toEqual(Array.from({ length: partitions }, (_, i) => i));
        const sizes = counts(plan);
        expect(sizes[sizes.length - 1]! - sizes[0]!).toBeLessThanOrEqual(1);
      }
    }
  });

  test('a joining member takes partitions from others; nobody else swaps', () => {
    const before = assignPartitions(12, [
      { id: 1, owned: [] },
      { id: 2, owned: [] },
    ]);
    const after = assignPartitions(12, [
      { id: 1, owned: before.get(1)! },
      { id: 2, owned: before.get(2)! },
      { id: 3, owned: [] },
    ]);
    expect(counts(after)).toEqual([4, 4, 4]);
    for (const id of [1, 2]) {
      for (const p of after.get(id)!) expect(before.get(id)).toContain(p);
    }
  });

  test('after a member leaves, the rest keep theirs and share its partitions', () => {
    const plan = assignPartitions(6, [
      { id: 1, owned: [0, 1] },
      { id: 3, owned: [4, 5] },
    ]);
    expect(plan.get(1)!.slice(0, 2)).toEqual([0, 1]);
    expect(plan.get(3)).toEqual(expect.arrayContaining([4, 5]));
    expect(all(plan)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  test('no members, no assignment; fewer partitions than members leaves some idle', () => {
    expect(assignPartitions(4, []).size).toBe(0);
    const plan = assignPartitions(2, [
      { id: 1, owned: [] },
      { id: 2, owned: [] },
      { id: 3, owned: [] },
    ]);
    expect(counts(plan)).toEqual([0, 1, 1]);
  });
});
