// What every scenario shares: the run options, the interleaved round loop
// (round 1: A B C, round 2: A B C, …; a fresh server per run), and running the
// load generator pinned to its own CPU.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { LoadJob, LoadResult } from '../loadgen/job.ts';
import type { Impl } from '../loadgen/protocols.ts';
import { startDistributedParley } from './distributed.ts';
import { parleyFixture, type Population } from './fixture.ts';
import type { Profiler } from './perf-record.ts';
import { LOADGEN_CPU, profiling, repoRoot, SERVER_CPU, startServer, type RunningServer, type ServerOptions } from './targets.ts';

/**
 * A server under test: Parley, a baseline, or `parley-b` — Parley from
 * another checkout (--parley-b DIR), to compare two versions of the code
 * interleaved on the same fixture.
 */
export type Target = Impl | 'parley-b';

/** The wire protocol a target speaks. */
export const wire = (target: Target): Impl => (target === 'parley-b' ? 'parley' : target);
export const isParley = (target: Target): boolean => wire(target) === 'parley';

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  mode: 'embedded' | 'distributed';
  /** Servers to compare, in the order they run inside a round. */
  impls: Target[];
  /** The checkout `parley-b` runs from. */
  parleyB?: string;
  /** Write CPU profiles of the servers to this dir: V8's (node --cpu-prof), or perf's (`profiler: 'perf'`). */
  profileDir?: string;
  profiler?: Profiler;
  freshFixture: boolean;
  /**
   * Distributed fan-out: the senders' sockets on the core instance, so the
   * gateway-only instance under test only streams (its CPU is fan-out alone,
   * and only the deliveries it makes are counted).
   */
  sendersOnCore?: boolean;
  /** Override of the measured window per phase, in seconds (e.g. for profiling). */
  durationS?: number;
  /** Run only the phases whose name is listed (e.g. `closed`, `10k/s`). */
  only?: string[];
  log: (line: string) => void;
}

/** How Parley runs in this invocation, for table titles. */
export const modeLabel = (options: BenchOptions): string =>
  options.mode === 'distributed' ? 'distributed: Parley = a gateway-only instance on Kafka + MySQL + Redis' : 'embedded';

/** Warm-up and measured window of one phase. */
export function timing(options: BenchOptions): { warmupS: number; durationS: number } {
  const base = options.quick ? { warmupS: 0.2, durationS: 0.6 } : { warmupS: 2, durationS: 10 };
  return options.durationS === undefined ? base : { ...base, durationS: options.durationS };
}

/**
 * The warm-up of the first phase a fresh server runs: V8 compiles its hot
 * paths over the first seconds of load (perf, WS 1k msg/s: ~12 % of the
 * server's CPU compiling at first; 9 % of a window that began 2 s in, 3.5 %
 * of one that began 20 s in), and without this the first phase alone would
 * pay for it. --quick keeps its short warm-up.
 */
export const JIT_WARMUP_S = 20;

/** `phases` with the first one's warm-up stretched to JIT_WARMUP_S. */
export function warmingUpFirst<T extends { warmupS: number }>(options: BenchOptions, phases: T[]): T[] {
  if (options.quick) return phases;
  return phases.map((phase, index) => (index === 0 ? { ...phase, warmupS: Math.max(phase.warmupS, JIT_WARMUP_S) } : phase));
}

/** The phases `--only` keeps (all of them without it). */
export function selected<T extends { name: string }>(options: BenchOptions, phases: T[]): T[] {
  return options.only === undefined ? phases : phases.filter((phase) => options.only!.includes(phase.name));
}

export interface RunRecord<R = LoadResult, I extends string = Target> {
  round: number;
  impl: I;
  result: R;
}

/**
 * A B C, A B C, …: every round runs each server once, in the same order, each
 * on a fresh process, so drift (thermal, page cache, a noisy neighbour) hits
 * all of them alike.
 */
export async function interleaved<R, I extends string = Target>(
  options: BenchOptions,
  impls: I[],
  run: (impl: I, round: number) => Promise<R>,
): Promise<RunRecord<R, I>[]> {
  const records: RunRecord<R, I>[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const impl of impls) {
      options.log(`round ${round}/${options.rounds}: ${impl}`);
      records.push({ round, impl, result: await run(impl, round) });
    }
  }
  return records;
}

/** Starts `impl` on the server CPU, hands it to `use`, and always stops it. */
export async function withServer<T>(
  options: BenchOptions,
  impl: Target,
  serverOptions: ServerOptions,
  use: (server: RunningServer) => Promise<T>,
): Promise<T> {
  if (impl === 'parley-b' && options.parleyB === undefined) throw new Error('parley-b needs --parley-b DIR');
  const server = await startServer(wire(impl), {
    cpu: SERVER_CPU,
    ...serverOptions,
    ...profiling(options.profileDir, options.profiler, `${impl}-${Date.now().toString(36)}`),
    ...(impl === 'parley-b' ? { parleyRoot: options.parleyB } : {}),
  });
  try {
    return await use(server);
  } catch (error) {
    options.log(`${impl} server output:\n${server.tail()}`);
    throw error;
  } finally {
    await server.stop();
  }
}

/** Runs the load generator on its own CPU with `job`; resolves with its result line. */
export function runLoadgen(options: BenchOptions, job: LoadJob): Promise<LoadResult> {
  return runPinnedClient<LoadResult>(options, 'bench/loadgen/main.ts', job);
}

/**
 * Runs a client script (`node <script> <job.json>`) pinned to the load
 * generator's CPU; its stderr goes to the log, its last stdout line is its result.
 */
export async function runPinnedClient<Result>(options: BenchOptions, script: string, job: unknown): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-loadgen-'));
  const jobFile = path.join(dir, 'job.json');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  const child = spawn('taskset', ['-c', LOADGEN_CPU, process.execPath, path.join(repoRoot, script), jobFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let last = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => (last = line));
  readline.createInterface({ input: child.stderr }).on('line', (line) => options.log(`  ${line}`));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return JSON.parse(last) as Result;
}

/**
 * Runs a bench script (`node <script> <args>`) pinned to the server's CPU,
 * as the rebuild and restore scenarios measure their code; every line it
 * prints goes to the log, and its stdout lines are returned.
 */
export async function runPinnedScript(
  options: BenchOptions,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string[]> {
  const child = spawn('taskset', ['-c', SERVER_CPU, process.execPath, '--expose-gc', path.join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    options.log(`  ${line}`);
    lines.push(line);
  });
  readline.createInterface({ input: child.stderr }).on('line', (line) => options.log(`  ${line}`));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return lines;
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    serverCpu: SERVER_CPU,
    loadgenCpu: LOADGEN_CPU,
  };
}

/** The Parley the fan-out, idle and end-to-end scenarios run against, in either mode. */
export interface ParleySetup {
  population: Population;
  /** How to start the Parley under test (a copy of the embedded fixture, or a gateway-only instance). */
  serverOptions: ServerOptions;
  /** Distributed only: the instance with every role, where end to end posts (instance A). */
  core?: RunningServer;
  close(): Promise<void>;
}

/** Undefined when no Parley target is selected (baselines only). */
export async function parleySetup(options: BenchOptions): Promise<ParleySetup | undefined> {
  if (!options.impls.some(isParley)) return undefined;
  if (options.mode === 'distributed') {
    const parley = await startDistributedParley({
      fresh: options.freshFixture,
      log: options.log,
      ...profiling(options.profileDir, options.profiler),
    });
    return {
      population: parley.population,
      serverOptions: parley.gatewayOptions(),
      core: parley.core,
      close: () => parley.stop(),
    };
  }
  const fixture = await parleyFixture({ fresh: options.freshFixture, log: options.log });
  return { population: fixture.population, serverOptions: { parleyTemplate: fixture.templateDir }, close: async () => {} };
}

/** Runs `use` with the setup and always closes it. */
export async function withParleySetup<T>(options: BenchOptions, use: (setup: ParleySetup | undefined) => Promise<T>): Promise<T> {
  const setup = await parleySetup(options);
  try {
    return await use(setup);
  } finally {
    await setup?.close();
  }
}
