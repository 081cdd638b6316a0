// Parley's benchmarks (issue #5). Not part of `npm test`.
//
//   npm run bench -- <scenario|all> [--quick] [--rounds N] [--mode embedded|distributed]
//                    [--impls parley,ws,sio] [--profile DIR [--profiler v8|perf]] [--fresh-fixture]
//                    [--duration SECONDS] [--only PHASE,…]   (for profiling one phase)
//                    [--parley-b DIR]   (adds impl parley-b: Parley from another checkout, for A/B of code)
//
// Scenarios: fanout-wide (1), fanout-small (2), idle (3), e2e (4), commands (5),
// rebuild (6), storm (7, distributed only), restore (8), reads (9, distributed only); `all` runs them in that order. Every scenario that compares
// servers runs them interleaved (A B C, A B C, …), each on a fresh process
// pinned to CPU 0 with the load generator on CPU 1, prints a Markdown table
// of median [min–max] with the per-round ratio Parley / baseline, and writes
// bench/results/<timestamp>-<scenario>.json. See bench/README.md.

import path from 'node:path';
import { parseArgs } from 'node:util';
import { runCommands } from './scenarios/commands.ts';
import { runE2e } from './scenarios/e2e.ts';
import { runFanout } from './scenarios/fanout.ts';
import { runIdle } from './scenarios/idle.ts';
import { runRebuild } from './scenarios/rebuild.ts';
import { runReads } from './scenarios/reads.ts';
import { runRestore } from './scenarios/restore.ts';
import { runStorm } from './scenarios/storm.ts';
import type { BenchOptions, Target } from './support/harness.ts';

const scenarios: Record<string, (options: BenchOptions) => Promise<void>> = {
  'fanout-wide': (options) => runFanout(options, 'wide'),
  'fanout-small': (options) => runFanout(options, 'small'),
  idle: runIdle,
  e2e: runE2e,
  commands: runCommands,
  rebuild: runRebuild,
  storm: runStorm,
  restore: runRestore,
  reads: runReads,
};
const aliases: Record<string, string> = {
  '1': 'fanout-wide',
  '2': 'fanout-small',
  '3': 'idle',
  '4': 'e2e',
  '5': 'commands',
  '6': 'rebuild',
  '7': 'storm',
  '8': 'restore',
  '9': 'reads',
};

const usage = `usage: npm run bench -- <${Object.keys(scenarios).join('|')}|1-9|all> [--quick] [--rounds N]
                      [--mode embedded|distributed] [--impls parley,ws,sio] [--profile DIR [--profiler v8|perf]]
                      [--fresh-fixture]
                      [--duration SECONDS] [--only PHASE,…] [--parley-b DIR] [--senders-on-core]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    mode: { type: 'string', default: 'embedded' },
    impls: { type: 'string', default: 'parley,ws,sio' },
    profile: { type: 'string' },
    profiler: { type: 'string', default: 'v8' },
    'fresh-fixture': { type: 'boolean', default: false },
    duration: { type: 'string' },
    only: { type: 'string' },
    'parley-b': { type: 'string' },
    'senders-on-core': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || positionals.length === 0) {
  process.stdout.write(`${usage}\n`);
  process.exit(values.help ? 0 : 2);
}
/** What `all` runs: the storm kills one of two gateways, which exist in distributed mode only. */
const allScenarios = (mode: string) =>
  Object.keys(scenarios).filter((name) => (name !== 'storm' && name !== 'reads') || mode === 'distributed');
const names = positionals.flatMap((name) => (name === 'all' ? allScenarios(values.mode) : [aliases[name] ?? name]));
const unknown = names.filter((name) => !(name in scenarios));
const mode = values.mode;
const impls = values.impls.split(',').map((impl) => impl.trim()) as Target[];
const rounds = values.rounds === undefined ? 3 : Number(values.rounds);
if (unknown.length > 0 || (mode !== 'embedded' && mode !== 'distributed') || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(`${unknown.length > 0 ? `unknown scenario: ${unknown.join(', ')}\n` : ''}${usage}\n`);
  process.exit(2);
}
if (values.profiler !== 'v8' && values.profiler !== 'perf') {
  process.stderr.write(`--profiler takes v8 (node --cpu-prof) or perf (Linux perf, on-CPU samples of every thread)\n`);
  process.exit(2);
}
if (impls.some((impl) => !['parley', 'ws', 'sio', 'parley-b'].includes(impl))) {
  process.stderr.write(`--impls takes parley, ws, sio (and parley-b with --parley-b DIR)\n`);
  process.exit(2);
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s`;
const options: BenchOptions = {
  quick: values.quick,
  rounds,
  mode,
  impls,
  freshFixture: values['fresh-fixture'],
  sendersOnCore: values['senders-on-core'],
  log: (line) => process.stderr.write(`[${elapsed()}] ${line}\n`),
  ...(values.profile === undefined ? {} : { profileDir: path.resolve(values.profile), profiler: values.profiler }),
  ...(values.duration === undefined ? {} : { durationS: Number(values.duration) }),
  ...(values.only === undefined ? {} : { only: values.only.split(',') }),
  ...(values['parley-b'] === undefined ? {} : { parleyB: path.resolve(values['parley-b']) }),
};

let failed = 0;
for (const name of names) {
  options.log(`== ${name} (${mode}${options.quick ? ', quick' : ''}, ${rounds} rounds)`);
  try {
    await scenarios[name]!(options);
  } catch (error) {
    failed++;
    options.log(`${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
options.log(`done in ${elapsed().trim()}${failed > 0 ? `, ${failed} scenario(s) failed` : ''}`);
process.exit(failed > 0 ? 1 : 0);
