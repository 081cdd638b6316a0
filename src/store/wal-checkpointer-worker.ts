// The worker thread of wal-checkpointer.ts: its own connection to the file,
// a PASSIVE checkpoint every intervalMs, repeated at once while commits keep
// landing during it, and an orderly close when told to stop.

import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointerWorkerData } from './wal-checkpointer.ts';

/** Passes per round: each copies only what was committed during the one before, so a few catch up. */
const MAX_PASSES = 4;

const { filename, intervalMs } = workerData as CheckpointerWorkerData;
const database = new DatabaseSync(filename);
// The checkpoint itself never waits; the busy timeout only covers opening the
// file while the main connection holds a lock.
database.exec('PRAGMA busy_timeout = 1000');
const checkpoint = database.prepare('PRAGMA wal_checkpoint(PASSIVE)');

function checkpointRound(): void {
  try {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const row = checkpoint.get() as { busy: number; log: number; checkpointed: number } | undefined;
      // busy: another checkpoint (the scrubber's TRUNCATE) holds the lock; next round.
      if (row === undefined || row.busy !== 0 || row.checkpointed >= row.log) return;
    }
  } catch (error) {
    // Reported, and tried again next round: a checkpoint that failed lost nothing.
    parentPort?.postMessage({ failed: error instanceof Error ? error.message : String(error) });
  }
}

const timer = setInterval(checkpointRound, intervalMs);

parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  database.close();
  parentPort?.close();
});
