// Starting and stopping the servers under test, each pinned to the server CPU:
// Parley (`node src/main.ts start`, exactly as a user runs it, on a copy of a
// prepared data dir) and the two baselines. Every one is started with
// --expose-gc and the stats hook (server-hooks.ts), optionally profiled
// (--cpu-prof, or perf: support/perf-record.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { unthrottledCommands } from '../../test/support/server.ts';
import type { Impl } from '../loadgen/protocols.ts';
import { assertPerfAvailable, perfNodeArgs, startPerfRecord, type Profiler } from './perf-record.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const SERVER_CPU = '0';
export const LOADGEN_CPU = '1';

export interface RunningServer {
  impl: Impl;
  pid: number;
  host: string;
  port: number;
  statsFile: string;
  /** The last lines the server printed (for error reports). */
  tail(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Parley: the data dir to copy (a prepared fixture; without one, an empty dir); the copy is deleted on stop. */
  parleyTemplate?: string;
  /** Parley: run on this data dir itself (kept on stop). */
  parleyDataDir?: string;
  /** Parley: the checkout to run (default: this one). */
  parleyRoot?: string;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  /** Write a CPU profile here: V8's (node --cpu-prof), or perf's with `profiler: 'perf'`. */
  profileDir?: string;
  profiler?: Profiler;
  /** Pin to this CPU list (taskset -c); undefined = not pinned. */
  cpu?: string;
}

/** The profile options of one server: into `dir/sub` (or `dir`), or none without a dir. */
export function profiling(
  dir: string | undefined,
  profiler: Profiler | undefined,
  sub?: string,
): Pick<ServerOptions, 'profileDir' | 'profiler'> {
  if (dir === undefined) return {};
  return { profileDir: sub === undefined ? dir : path.join(dir, sub), profiler: profiler ?? 'v8' };
}

/** The environment every Parley process gets in the benchmarks. */
export function parleyEnv(dataDir: string): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_DATA_DIR: dataDir,
    PARLEY_BCRYPT_COST: '4',
    LOG_LEVEL: 'info',
    // The load generator posts from one socket per room far above a person's
    // rate; the per-socket frame limit would refuse it.
    PARLEY_WS_RATE_PER_S: '1000000',
    PARLEY_WS_RATE_BURST: '1000000',
    // A load test, so the per-user command budgets too (one user posts every
    // message of its room; fixture setup creates 1,251 rooms).
    ...unthrottledCommands,
    // Fixture setup registers thousands of users from one address, and the
    // load generator holds up to 10,000 sockets from it.
    PARLEY_REGISTER_MAX_PER_IP: '1000000',
    PARLEY_MAX_CONNECTIONS_PER_IP: '1000000',
    // Tokens minted once for a cached fixture stay valid for a week.
    PARLEY_ACCESS_TTL_S: String(7 * 24 * 3600),
  };
}

/**
 * `BENCH_PARLEY_<NAME>=value` in the bench's environment reaches every Parley
 * server it starts as `PARLEY_<NAME>=value`: the same code measured with one
 * setting changed (an A/B of a setting). The harness's own settings win.
 */
function settingsFromEnvironment(): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_PARLEY_') && value !== undefined) settings[name.slice('BENCH_'.length)] = value;
  }
  return settings;
}

const hooks = pathToFileURL(path.join(repoRoot, 'bench/support/server-hooks.ts')).href;

export async function startServer(impl: Impl, options: ServerOptions = {}): Promise<RunningServer> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-bench-${impl}-`));
  const statsFile = path.join(workDir, 'stats.json');
  let script: string;
  let args: string[] = [];
  let env: Record<string, string> = { PORT: '0' };
  if (impl === 'parley') {
    let dataDir = options.parleyDataDir;
    if (dataDir === undefined) {
      // Distributed instances keep nothing in theirs (state is in Kafka and MySQL).
      dataDir = path.join(workDir, 'data');
      if (options.parleyTemplate === undefined) fs.mkdirSync(dataDir);
      else fs.cpSync(options.parleyTemplate, dataDir, { recursive: true });
    }
    script = path.join(options.parleyRoot ?? repoRoot, 'src/main.ts');
    args = ['start'];
    env = parleyEnv(dataDir);
  } else {
    script = path.join(repoRoot, `bench/baselines/${impl === 'ws' ? 'ws-server.ts' : 'sio-server.ts'}`);
  }
  const nodeArgs = ['--expose-gc', '--import', hooks];
  const perfDir = options.profiler === 'perf' ? options.profileDir : undefined;
  if (perfDir !== undefined) {
    assertPerfAvailable();
    fs.mkdirSync(perfDir, { recursive: true });
    nodeArgs.push(...perfNodeArgs(perfDir));
  } else if (options.profileDir !== undefined) {
    fs.mkdirSync(options.profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}`);
  }
  const command = options.cpu === undefined ? process.execPath : 'taskset';
  const commandArgs = [...(options.cpu === undefined ? [] : ['-c', options.cpu, process.execPath]), ...nodeArgs, script, ...args];
  const child: ChildProcess = spawn(command, commandArgs, {
    cwd: options.parleyRoot ?? repoRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      BENCH_STATS_FILE: statsFile,
      ...(process.env.BENCH_SQL_TIMING === undefined ? {} : { BENCH_SQL_TIMING: process.env.BENCH_SQL_TIMING }),
      ...(impl === 'parley' ? settingsFromEnvironment() : {}),
      ...env,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
  };
  readline.createInterface({ input: child.stderr! }).on('line', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${impl} did not start within 60 s\n${lines.join('\n')}`)), 60_000);
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (!line.includes('"parley started"') && !line.includes('"listening"')) return;
      try {
        const entry = JSON.parse(line) as { port?: number };
        clearTimeout(timer);
        resolve(entry.port ?? 0);
      } catch {
        // not JSON: ignore
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${impl} exited with ${code} before listening\n${lines.join('\n')}`));
    });
  });

  const perf = perfDir === undefined ? undefined : startPerfRecord(child.pid!, perfDir);

  return {
    impl,
    pid: child.pid!,
    host: '127.0.0.1',
    port,
    statsFile,
    tail: () => lines.slice(-30).join('\n'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      await perf?.done;
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
