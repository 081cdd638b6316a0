// WAL checkpoints off the event loop.
//
// A SQLite file in WAL mode grows its -wal file with every commit until a
// checkpoint copies the pages back into the database file and fsyncs it. By
// default the committing connection does that itself every 1,000 pages — on
// the event loop, as one 10–20 ms stall every ~150 commits at 1k messages/s
// (measured: 60 of 1,685 read-model commits in 10 s, 0.8 s of the loop's
// time, and most of the p99). Here a worker thread with its own connection
// runs PASSIVE checkpoints on a timer instead: they wait for no reader or
// writer, so the event loop's connection keeps committing meanwhile.
//
// The connection on the event loop keeps a far-off automatic checkpoint
// (BACKSTOP_PAGES) as a backstop: should the worker fall behind or die, the
// -wal file still stops growing, only with the old stall.
//
// A PASSIVE checkpoint copies what was committed when it started; the -wal
// file is reused from its start only once a checkpoint has caught up with
// the last commit. Under steady writes a commit often lands while one runs, so
// the worker goes again at once (up to MAX_PASSES, each smaller than the last)
// until it has caught up.

import type { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';

/** Pages in the -wal file after which the event loop's connection checkpoints itself (~40 MB at 4 KiB pages). */
export const BACKSTOP_PAGES = 10_000;

export interface CheckpointerOptions {
  /** How often the worker checkpoints. */
  intervalMs: number;
  /** Told when a checkpoint fails (tried again next round) or the worker dies (not restarted; the backstop takes over). */
  onError: (error: unknown) => void;
}

export interface WalCheckpointer {
  /** Lets a running checkpoint finish, then ends the worker and its connection. */
  stop(): Promise<void>;
}

/** What the worker is given (workerData). */
export interface CheckpointerWorkerData {
  filename: string;
  intervalMs: number;
}

/**
 * Moves the checkpoints of `database` (the connection on the event loop, in
 * WAL mode, on `filename`) to a worker thread.
 */
export function checkpointInBackground(database: DatabaseSync, filename: string, options: CheckpointerOptions): WalCheckpointer {
  database.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const workerData: CheckpointerWorkerData = { filename, intervalMs: options.intervalMs };
  const worker = new Worker(new URL('./wal-checkpointer-worker.ts', import.meta.url), { workerData });
  // Housekeeping keeps no process alive; stop() is still the orderly way out.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (error) => options.onError(error));
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed !== undefined) options.onError(new Error(`WAL checkpoint of ${filename} failed: ${message.failed}`));
  });
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        // Held while it winds down: with the worker unref'd and nothing else
        // left, the process would end with this promise never settled —
        // silently, exit code 0, whatever the caller was to do next.
        worker.ref();
        worker.postMessage('stop');
        await exited;
      })();
      return stopping;
    },
  };
}
