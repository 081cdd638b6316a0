// On-CPU profiles of a server with Linux perf (`--profile DIR --profiler perf`).
//
// V8's own profiler (--cpu-prof) samples the main thread on a wall clock: a
// thread blocked in fsync or a socket write shows as busy in the JS function
// that called it, and the kernel, GC helper and checkpointer threads do not
// show at all. perf samples CPU time only (cpu-clock), on every thread, down
// into SQLite and the kernel; node's --perf-basic-prof-only-functions names
// the JIT-compiled JS frames (in /tmp/perf-<pid>.map). Samples carry
// CLOCK_MONOTONIC timestamps, the load generator's clock, so
// bench/perf-summary.ts can keep only a phase's measured window.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Samples per second and thread (perf's -F); ~1 ms apart, off the 1 kHz timer tick. */
const SAMPLE_HZ = 999;

export type Profiler = 'v8' | 'perf';

export interface PerfRecording {
  /** Resolves once perf wrote its file (it stops by itself when the process exits). */
  done: Promise<void>;
}

/**
 * Node flags for a profiled server: the JS symbol map; compiled code kept
 * where it was compiled (a full GC may otherwise move it, and the map would
 * name the old address's new occupant wrongly); interpreted functions as
 * frames of their own; V8's log file kept out of the working directory.
 */
export function perfNodeArgs(dir: string): string[] {
  return [
    '--perf-basic-prof-only-functions',
    '--no-compact-code-space',
    '--interpreted-frames-native-stack',
    '--no-logfile-per-isolate',
    `--logfile=${path.join(dir, 'v8.log')}`,
  ];
}

/** Fails early, with the fix, on a machine without perf. */
export function assertPerfAvailable(): void {
  const probe = spawnSync('perf', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error('--profiler perf needs Linux perf (Debian: apt-get install linux-perf)');
  }
}

/** Starts `perf record` on `pid`, writing `dir/perf.data`; the JS symbol map is copied beside it at the end. */
export function startPerfRecord(pid: number, dir: string): PerfRecording {
  fs.mkdirSync(dir, { recursive: true });
  const args = ['record', '--quiet', '-k', 'CLOCK_MONOTONIC', '-e', 'cpu-clock', '-F', String(SAMPLE_HZ)];
  const child = spawn('perf', [...args, '-g', '-p', String(pid), '-o', path.join(dir, 'perf.data')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', () => {
      // perf script reads /tmp/perf-<pid>.map; a copy keeps the profile readable after /tmp is cleaned.
      const map = `/tmp/perf-${pid}.map`;
      if (fs.existsSync(map)) fs.copyFileSync(map, path.join(dir, path.basename(map)));
      resolve();
    });
  });
  return { done };
}
