// A fix to kafkajs 2.2.4 (unmaintained; pinned), applied once on import.
//
// After every look at a connection's queue of pending requests, kafkajs arms
// a timer for the next look — also when nothing is pending. Its delay is then
// `throttledUntil - now` with throttledUntil = -1, a negative number that
// Node turns into 1 ms: every broker connection wakes the event loop about a
// thousand times a second for as long as it is open (kafkajs#1751 reports the
// TimeoutNegativeWarning Node 24 prints for it). Measured here: 3.6 % of a
// core on a gateway-only instance with no client. With nothing pending there
// is nothing to look at: a request that has to wait arms the timer itself
// (RequestQueue.push), and every response or timeout looks again.

import { createRequire } from 'node:module';

interface RequestQueue {
  pending: unknown[];
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
// The module kafkajs' own index loads, so this is the class its connections use.
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
const scheduleCheck = prototype.scheduleCheckPendingRequests;

prototype.scheduleCheckPendingRequests = function scheduleCheckWhenPending(this: RequestQueue) {
  if (this.pending.length === 0) return;
  scheduleCheck.call(this);
};
