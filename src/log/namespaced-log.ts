// Several Parley deployments (or test runs) on one Kafka cluster: every topic
// and consumer group gets a namespace prefix, and records read back carry the
// plain names again. The rest of the code never sees the prefix.

import type { Batch, ConsumeOptions, Log, LogRecord, Position } from './port.ts';

export function namespacedLog(log: Log, namespace: string): Log {
  if (namespace === '') return log;
  const outer = (topic: string) => `${namespace}.${topic}`;
  const inner = (topic: string) => topic.slice(namespace.length + 1);
  const record = (r: LogRecord): LogRecord => ({ ...r, topic: inner(r.topic) });
  const position = (p: Position): Position => ({ ...p, topic: inner(p.topic) });
  const batch = (b: Batch): Batch => ({ ...b, topic: inner(b.topic), records: b.records.map(record) });

  return {
    ensureTopics: (specs) => log.ensureTopics(specs.map((spec) => ({ ...spec, name: outer(spec.name) }))),
    partitionCount: (topic) => log.partitionCount(outer(topic)),
    partitionForKey: (topic, key) => log.partitionForKey(outer(topic), key),
    append: async (topic, records) => (await log.append(outer(topic), records)).map(position),
    read: async (topic, partition, offset, limit) => (await log.read(outer(topic), partition, offset, limit)).map(record),
    endOffset: (topic, partition) => log.endOffset(outer(topic), partition),
    endOffsets: (topic) => log.endOffsets(outer(topic)),
    startOffset: (topic, partition) => log.startOffset(outer(topic), partition),
    consume: (options: ConsumeOptions) =>
      log.consume({
        ...options,
        topic: outer(options.topic),
        group: options.group === null ? null : `${namespace}.${options.group}`,
        eachBatch: (b) => options.eachBatch(batch(b)),
      }),
    close: () => log.close(),
  };
}
