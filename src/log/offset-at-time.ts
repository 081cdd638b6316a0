// Where in a partition a moment falls: what a replay from a time (webhooks),
// or a view of a room as it stood at a time, starts or stops at.

import type { Log } from './port.ts';

/**
 * The first offset of a partition appended at or after `time` (its end when
 * none is). A binary search over the log's append times, which grow with the
 * offsets (Kafka's producer time may step back by the clocks' skew between
 * instances: a replay is exact to within it).
 */
export async function firstOffsetAtOrAfter(log: Log, topic: string, partition: number, time: number): Promise<number> {
  let low = await log.startOffset(topic, partition);
  let high = await log.endOffset(topic, partition);
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const [record] = await log.read(topic, partition, middle, 1);
    // Nothing at or after the middle (Kafka may leave gaps), or it is late enough: the answer is at most the middle.
    if (record === undefined || record.timestamp >= time) high = middle;
    else low = record.offset + 1;
  }
  return low;
}
