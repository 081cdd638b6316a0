// Scenario 5: command throughput and partition restore (see commands-worker.ts
// for what one run does). Each run is a fresh process pinned to the server
// CPU; rounds interleave the processor and the floor (processor, log,
// processor, log, …).
//
//   embedded:    the embedded SQLite log; floor = that log's append → consume.
//   distributed: Parley's Kafka adapter on KAFKA_BROKERS (default the local
//                stack's 127.0.0.1:9092), a fresh namespace per run, topics
//                deleted after; floor = kafkajs' own produce → consume round
//                trip on the same broker (bench/support/kafka-raw.ts). The
//                broker (java) is not pinned and its CPU is not counted.

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { markdownTable, ratios, ratioTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { benchKafkaBrokers } from '../support/fresh-kafka-log.ts';
import { interleaved, machine, timing, type BenchOptions } from '../support/harness.ts';
import { repoRoot, SERVER_CPU } from '../support/targets.ts';
import type { CommandsArgs, CommandsResult } from './commands-worker.ts';

const metrics: MetricSpec[] = [
  { key: 'perS', label: 'accepted/s' },
  { key: 'cpuPct', label: 'CPU %', digits: 0 },
  { key: 'cpuUsPerCommand', label: 'CPU µs per command', digits: 0 },
  { key: 'p50', label: 'p50 ms' },
  { key: 'p99', label: 'p99 ms' },
  { key: 'restoreEvents', label: 'events restored' },
  { key: 'restoreWallMs', label: 'restore all partitions ms', digits: 0 },
  { key: 'restoreMaxMs', label: 'slowest partition ms', digits: 0 },
  { key: 'restorePerS', label: 'restored events/s' },
];

function runWorker(options: BenchOptions, args: CommandsArgs): Promise<CommandsResult> {
  const child = spawn(
    'taskset',
    ['-c', SERVER_CPU, process.execPath, path.join(repoRoot, 'bench/scenarios/commands-worker.ts'), JSON.stringify(args)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let last = '';
  readline.createInterface({ input: child.stdout }).on('line', (line) => (last = line));
  readline.createInterface({ input: child.stderr }).on('line', (line) => options.log(`  ${line}`));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(last) as CommandsResult) : reject(new Error(`worker exited with ${code}`)),
    ),
  );
}

/** What each mode runs on, and how its rows and table are named. */
function modeSetup(options: BenchOptions) {
  if (options.mode === 'distributed') {
    const brokers = benchKafkaBrokers();
    return {
      log: 'kafka' as const,
      brokers,
      processorGroup: 'send_message via bus + processor on Kafka',
      floorGroup: 'produce → consume, raw kafkajs',
      floorImpl: 'kafkajs',
      title: `distributed: Kafka at ${brokers.join(',')}; the broker's CPU (java, not pinned) is not counted`,
    };
  }
  return {
    log: 'sqlite' as const,
    brokers: [],
    processorGroup: 'send_message via bus + processor',
    floorGroup: 'append → consume, bare log',
    floorImpl: 'sqlite log',
    title: 'embedded log',
  };
}

export async function runCommands(options: BenchOptions): Promise<void> {
  const setup = modeSetup(options);
  const { warmupS, durationS } = timing(options);
  const base = {
    rooms: 1_000,
    membersPerRoom: 5,
    inFlight: 500,
    warmupS,
    durationS: options.quick ? 3 : durationS * 2,
    partitions: 12,
    log: setup.log,
    brokers: setup.brokers,
  };
  const records = await interleaved(options, ['processor', 'log'] as const, async (kind) => {
    const result = await runWorker(options, { ...base, kind });
    options.log(
      `  ${kind}: ${result.perS}/s, CPU ${result.cpuPct}%, p99 ${result.latency.p99} ms` +
        (result.restore ? `; restore ${result.restore.events} events in ${result.restore.wallMs} ms` : ''),
    );
    return result;
  });
  const samples: Sample[] = records.map(({ round, impl, result }) => ({
    group: impl === 'processor' ? setup.processorGroup : setup.floorGroup,
    impl: impl === 'processor' ? 'parley' : setup.floorImpl,
    round,
    values: {
      perS: result.perS,
      cpuPct: result.cpuPct,
      cpuUsPerCommand: result.cpuUsPerCommand,
      p50: result.latency.p50,
      p99: result.latency.p99,
      restoreEvents: result.restore?.events,
      restoreWallMs: result.restore?.wallMs,
      restoreMaxMs: result.restore?.maxMs,
      restorePerS: result.restore?.eventsPerS,
    },
  }));
  const rows = summarize(samples, metrics);
  // Per round: the processor's rate over the bare log's.
  const paired = samples.map((s) => ({ ...s, group: 'commands' }));
  const ratioRows = ratios(paired, 'perS', 'parley', setup.floorImpl);
  const table = markdownTable(rows, metrics);
  const ratioText = ratioTable(ratioRows, { perS: 'accepted/s' });
  process.stdout.write(
    `\n### Command throughput (${setup.title}; ${base.rooms} rooms × ${base.membersPerRoom} senders, ${base.inFlight} in flight)\n\n${table}\n\n${ratioText}\n\n`,
  );
  const file = writeResults('commands', {
    title: 'Command throughput and restore',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    args: base,
    summary: rows,
    ratios: ratioRows,
    table,
    ratioTable: ratioText,
    runs: records,
  });
  options.log(`results: ${file}`);
}
