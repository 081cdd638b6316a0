// Wakes idle partition workers when their partition gets records. In-process
// appends notify directly after their transaction commits, so a consumer sees
// a record without polling; commits by other processes are noticed by the
// slow data_version poll, which wakes everyone (see sqlite-log.ts).
//
// It also remembers where this process's appends ended each partition, so a
// worker that has handled everything up to there waits instead of asking the
// file (a read that finds nothing was half of all reads: one after every
// batch). A commit by another connection makes every end unknown again.

type Listener = () => void;

export class WakeHub {
  readonly #byTopic = new Map<number, Map<number, Set<Listener>>>();
  /** End offset per partition, per topic id, as this process's appends left it; absent = unknown. */
  readonly #ends = new Map<number, Map<number, number>>();

  /** Registers `listener` for one partition; returns the function that removes it. */
  listen(topicId: number, partition: number, listener: Listener): () => void {
    let partitions = this.#byTopic.get(topicId);
    if (!partitions) {
      partitions = new Map();
      this.#byTopic.set(topicId, partitions);
    }
    let listeners = partitions.get(partition);
    if (!listeners) {
      listeners = new Set();
      partitions.set(partition, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  /** The partition's end offset as this process's appends left it, or undefined when another connection may have moved it. */
  knownEnd(topicId: number, partition: number): number | undefined {
    return this.#ends.get(topicId)?.get(partition);
  }

  /** Records were committed to these partitions; `ends` = each one's new end offset. */
  notify(topicId: number, ends: ReadonlyMap<number, number>): void {
    let known = this.#ends.get(topicId);
    if (!known) {
      known = new Map();
      this.#ends.set(topicId, known);
    }
    for (const [partition, end] of ends) known.set(partition, Math.max(end, known.get(partition) ?? 0));
    const byPartition = this.#byTopic.get(topicId);
    if (!byPartition) return;
    for (const partition of ends.keys()) {
      const listeners = byPartition.get(partition);
      if (listeners) for (const listener of listeners) listener();
    }
  }

  /** Another connection committed: every end is unknown, and everyone looks. */
  notifyAll(): void {
    this.#ends.clear();
    for (const byPartition of this.#byTopic.values()) {
      for (const listeners of byPartition.values()) for (const listener of listeners) listener();
    }
  }
}
