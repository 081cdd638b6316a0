// Times every SQLite statement a benchmarked server runs on its event loop
// (BENCH_SQL_TIMING=<file>, read by server-hooks.ts): every 10 s it appends to
// the file, per statement text, the calls, the total time and the time per
// call, and how many commits stalled the loop for over 5 ms. This is how the
// write path's figures in bench/README ("Fixed on the way" 12–14) were found:
// statements per message, reads that found nothing, checkpoint stalls. It
// wraps node:sqlite itself, so it costs a little per statement — compare
// counts and stalls with it, not CPU.

import fs from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { performance } from 'node:perf_hooks';

const INTERVAL_MS = 10_000;
const STALL_MS = 5;
const TOP = 30;

interface Timing {
  calls: number;
  ms: number;
  stalls: number;
  stalledMs: number;
}

type Method = 'run' | 'all' | 'get' | 'iterate';

export function timeSqlite(file: string): void {
  const timings = new Map<string, Timing>();
  const record = (sql: string, ms: number): void => {
    let timing = timings.get(sql);
    if (timing === undefined) {
      timing = { calls: 0, ms: 0, stalls: 0, stalledMs: 0 };
      timings.set(sql, timing);
    }
    timing.calls++;
    timing.ms += ms;
    if (ms > STALL_MS) {
      timing.stalls++;
      timing.stalledMs += ms;
    }
  };
  const timed = <T>(sql: string, fn: () => T): T => {
    const start = performance.now();
    try {
      return fn();
    } finally {
      record(sql, performance.now() - start);
    }
  };

  // Taken off the prototype on purpose, to be called with the database as `this`.
  const prototype = DatabaseSync.prototype as unknown as {
    prepare: (this: DatabaseSync, ...args: unknown[]) => StatementSync;
    exec: (this: DatabaseSync, sql: string) => void;
  };
  const prepare = prototype.prepare;
  prototype.prepare = function (this: DatabaseSync, ...args: unknown[]): StatementSync {
    const sql = String(args[0]);
    const statement = prepare.call(this, ...args);
    for (const method of ['run', 'all', 'get', 'iterate'] as Method[]) {
      const original = statement[method].bind(statement) as (...args: unknown[]) => unknown;
      Object.defineProperty(statement, method, { value: (...args: unknown[]) => timed(sql, () => original(...args)) });
    }
    return statement;
  };
  const exec = prototype.exec;
  prototype.exec = function (this: DatabaseSync, sql: string): void {
    timed(`exec: ${sql}`, () => exec.call(this, sql));
  };

  setInterval(() => {
    const rows = [...timings].sort((a, b) => b[1].ms - a[1].ms);
    timings.clear();
    const total = rows.reduce((sum, [, timing]) => sum + timing.ms, 0);
    const lines = rows.slice(0, TOP).map(([sql, t]) => {
      const stalls = t.stalls > 0 ? `  ${t.stalls} over ${STALL_MS} ms (${t.stalledMs.toFixed(0)} ms)` : '';
      const text = sql.replace(/\s+/g, ' ').slice(0, 140);
      return `${t.ms.toFixed(0).padStart(6)} ms ${String(t.calls).padStart(7)} calls ${((1000 * t.ms) / t.calls).toFixed(1).padStart(7)} µs  ${text}${stalls}`;
    });
    const header = `--- ${new Date().toISOString()} pid ${process.pid}: ${total.toFixed(0)} ms in SQLite over ${INTERVAL_MS / 1000} s`;
    fs.appendFileSync(file, `${header}\n${lines.join('\n')}\n`);
  }, INTERVAL_MS).unref();
}
