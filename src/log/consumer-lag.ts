// Consumer lag of one process: a Log that remembers, for every consumer made
// through it, the next offset each partition's handler has finished with, and
// answers how far that is behind the partition's end. It wraps the log in
// compose.ts, so every consumer (processor, projectors, process manager,
// gateway streams, outcome listener) is counted without knowing it. A
// partition counts from its first handled batch until it is taken away.
// Handled batches are also counted (countBatches, for the metrics: records per
// batch is how well a consumer's wake-ups are shared).

import type { ConsumeOptions, Log } from './port.ts';

export interface ConsumerLagRow {
  /** `none` for a consumer without a group (it reads every partition). */
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

export interface LagTrackingLog {
  log: Log;
  /** Per group, topic and partition read here: end offset − the slowest consumer's position. */
  lag: () => Promise<ConsumerLagRow[]>;
}

export interface LagTrackingOptions {
  /**
   * Called once per consumer (`group` is `none` for one without a group); the
   * function it returns is told the size of every batch that consumer handled.
   */
  countBatches?: (group: string, topic: string) => (records: number) => void;
}

export function trackConsumerLag(inner: Log, options: LagTrackingOptions = {}): LagTrackingLog {
  /** Per consumer: partition → the next offset its handler has not finished. */
  const consumers = new Set<{ group: string; topic: string; positions: Map<number, number> }>();

  const log: Log = {
    ensureTopics: (topics) => inner.ensureTopics(topics),
    partitionCount: (topic) => inner.partitionCount(topic),
    partitionForKey: (topic, key) => inner.partitionForKey(topic, key),
    append: (topic, records) => inner.append(topic, records),
    read: (topic, partition, offset, limit) => inner.read(topic, partition, offset, limit),
    endOffset: (topic, partition) => inner.endOffset(topic, partition),
    endOffsets: (topic) => inner.endOffsets(topic),
    startOffset: (topic, partition) => inner.startOffset(topic, partition),
    close: () => inner.close(),
    async consume(consumeOptions: ConsumeOptions) {
      const tracked = {
        group: consumeOptions.group ?? 'none',
        topic: consumeOptions.topic,
        positions: new Map<number, number>(),
      };
      const countBatch = options.countBatches?.(tracked.group, tracked.topic);
      consumers.add(tracked);
      try {
        const consumer = await inner.consume({
          ...consumeOptions,
          onRevoked: async (partitions) => {
            await consumeOptions.onRevoked?.(partitions);
            for (const partition of partitions) tracked.positions.delete(partition);
          },
          eachBatch: async (batch) => {
            await consumeOptions.eachBatch(batch);
            const last = batch.records.at(-1);
            if (last !== undefined) tracked.positions.set(batch.partition, last.offset + 1);
            countBatch?.(batch.records.length);
          },
        });
        return {
          async stop() {
            consumers.delete(tracked);
            await consumer.stop();
          },
        };
      } catch (error) {
        consumers.delete(tracked);
        throw error;
      }
    },
  };

  return {
    log,
    async lag() {
      // The slowest consumer per (group, topic, partition): two consumers of one
      // group here are a handover in progress (a projection's version switch).
      const slowest = new Map<string, { group: string; topic: string; partition: number; position: number }>();
      for (const { group, topic, positions } of consumers) {
        for (const [partition, position] of positions) {
          const key = `${group}\u0000${topic}\u0000${partition}`;
          const seen = slowest.get(key);
          if (seen === undefined || position < seen.position) slowest.set(key, { group, topic, partition, position });
        }
      }
      const topics = [...new Set([...slowest.values()].map((row) => row.topic))];
      const ends = new Map(await Promise.all(topics.map(async (topic) => [topic, await inner.endOffsets(topic)] as const)));
      return [...slowest.values()]
        .map(({ group, topic, partition, position }) => ({
          group,
          topic,
          partition,
          lag: Math.max(0, (ends.get(topic)?.[partition] ?? position) - position),
        }))
        .sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
    },
  };
}
