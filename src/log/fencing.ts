// Fencing of stale writers without Kafka transactions.
//
// A consumer group can hand a partition to a new processor while the old one,
// paused or slow, still believes it owns it (kafkajs learns of rebalances
// lazily). Both may append. Each event therefore carries the offset its writer
// expected it to land at — the end of the partition as that writer knew it.
// An event that landed anywhere else was written by a writer whose view was
// stale: every reader (restore, projections, gateways, replay) ignores it, and
// the writer itself sees the mismatch and answers no client. Whoever appended
// first with a correct view wins; the log's order decides it for everyone.

import type { LogRecord } from './port.ts';
import { headers } from './topics.ts';

/** True for an event that a stale writer appended (see above); readers skip it. */
export function isStaleWrite(record: LogRecord): boolean {
  const expected = record.headers[headers.expectedOffset];
  return expected !== undefined && Number(expected) !== record.offset;
}
