// Wakes idle partition workers when their partition gets records. In-process
// appends notify directly after their transaction commits, so a consumer sees
// a record without polling; commits by other processes are noticed by the
// slow data_version poll, which wakes everyone (see sqlite-log.ts).

type Listener = () => void;

export class WakeHub {
  readonly #byTopic = new Map<number, Map<number, Set<Listener>>>();

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

  notify(topicId: number, partitions: Iterable<number>): void {
    const byPartition = this.#byTopic.get(topicId);
    if (!byPartition) return;
    for (const partition of partitions) {
      const listeners = byPartition.get(partition);
      if (listeners) for (const listener of listeners) listener();
    }
  }

  notifyAll(): void {
    for (const byPartition of this.#byTopic.values()) {
      for (const listeners of byPartition.values()) for (const listener of listeners) listener();
    }
  }
}
