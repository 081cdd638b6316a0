// How the members of one consumer group share a topic's partitions. Balanced
// (counts differ by at most one) and sticky: a member keeps what it already
// owns up to its share, so a join or leave moves as few partitions as possible
// (every moved partition costs the processor a state restore).

export interface MemberHolding {
  id: number;
  owned: Iterable<number>;
}

/** Maps member id → partitions (ascending). Members are given in join order. */
export function assignPartitions(partitionCount: number, members: readonly MemberHolding[]): Map<number, number[]> {
  const result = new Map<number, number[]>();
  if (members.length === 0) return result;

  const owned = members.map((m) => ({
    id: m.id,
    owned: [...m.owned].filter((p) => p >= 0 && p < partitionCount).sort((a, b) => a - b),
  }));
  // The larger shares go to the members holding most, so fewer partitions move.
  const byHolding = [...owned].sort((a, b) => b.owned.length - a.owned.length);
  const base = Math.floor(partitionCount / members.length);
  const extra = partitionCount % members.length;
  const quota = new Map<number, number>();
  byHolding.forEach((m, i) => quota.set(m.id, base + (i < extra ? 1 : 0)));

  const taken = new Set<number>();
  for (const m of byHolding) {
    const keep = m.owned.filter((p) => !taken.has(p)).slice(0, quota.get(m.id));
    for (const p of keep) taken.add(p);
    result.set(m.id, keep);
  }
  const free: number[] = [];
  for (let p = 0; p < partitionCount; p++) if (!taken.has(p)) free.push(p);
  for (const m of owned) {
    const mine = result.get(m.id) ?? [];
    const want = (quota.get(m.id) ?? 0) - mine.length;
    if (want > 0) mine.push(...free.splice(0, want));
    result.set(
      m.id,
      mine.sort((a, b) => a - b),
    );
  }
  return result;
}
