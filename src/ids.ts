// Ids: UUID v7 (time-ordered) so rows and log keys sort roughly by creation,
// which keeps B-tree inserts at the right edge. Laid out by the `uuid` package.

import { v7 } from 'uuid';
import { randomBytes } from './random-bytes.ts';

/** The millisecond and counter of the last id: ids minted in one millisecond count up from a random start. */
let lastMs = -Infinity;
let counter = 0;

/**
 * A new UUID v7, greater than every id this process minted before. The random
 * bits come from the pool (random-bytes.ts): uuid's own v7 asks the CSPRNG
 * for every id, and keeps its ordering state only when it draws the bytes
 * itself, so the same rule (RFC 9562's method 1: a 31-bit counter seeded at
 * random in each new millisecond, counting up within it, and moving the
 * millisecond on if it wraps) is kept here.
 */
export function newId(): string {
  const random = randomBytes(16);
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    counter = (counter + 1) | 0;
    if (counter === 0) lastMs++;
  }
  return v7({ msecs: lastMs, seq: counter, random });
}

/**
 * Who acted when no user did: the operator, at the command line (`parley
 * admin`). The nil UUID, so it fits wherever a user id goes (the audit).
 */
export const OPERATOR_ID = '00000000-0000-0000-0000-000000000000';
