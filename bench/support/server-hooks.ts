// Preloaded into every benchmarked server (`node --expose-gc --import
// bench/support/server-hooks.ts …`): on SIGUSR2 it forces a full GC and writes
// the process's memory to BENCH_STATS_FILE, so the load generator can read
// RSS and heap after a GC at the moment it chooses. Parley's own code is not
// touched; the baselines get the same hook.

import fs from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { timeSqlite } from './sql-timing.ts';

const file = process.env.BENCH_STATS_FILE;
let n = 0;

if (file !== undefined && file !== '') {
  process.on('SIGUSR2', () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    // Twice: the first pass can leave objects that only die in the next.
    gc?.();
    gc?.();
    const memory = process.memoryUsage();
    const stats = { n: ++n, gc: gc !== undefined, ...memory };
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(stats));
    fs.renameSync(`${file}.tmp`, file);
  });
}

// BENCH_SQL_TIMING=<file>: time the event loop's SQLite statements (sql-timing.ts).
const sqlTimingFile = process.env.BENCH_SQL_TIMING;
if (isMainThread && sqlTimingFile !== undefined && sqlTimingFile !== '') timeSqlite(sqlTimingFile);
