// Scenario 5: command throughput and partition restore, on the embedded log
// (see commands-worker.ts for what one run does). Each run is a fresh process
// pinned to the server CPU; rounds interleave the processor and the bare-log
// floor (processor, log, processor, log, …).

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { markdownTable, ratios, ratioTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
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
  readline.createInterface({ input: child.stdout! }).on('line', (line) => (last = line));
  readline.createInterface({ input: child.stderr! }).on('line', (line) => options.log(`  ${line}`));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(last) as CommandsResult) : reject(new Error(`worker exited with ${code}`)))),
  );
}

export async function runCommands(options: BenchOptions): Promise<void> {
  if (options.mode === 'distributed') {
    // TODO(distributed): the same worker on the Kafka log (KAFKA_BROKERS), with
    // kafkajs' raw produce→consume round trip on the same broker as the floor.
    throw new Error('command throughput on the distributed stack is not wired yet (needs the Kafka adapter in main)');
  }
  const { warmupS, durationS } = timing(options);
  const base = { rooms: 1_000, membersPerRoom: 5, inFlight: 500, warmupS, durationS: options.quick ? 3 : durationS * 2, partitions: 12 };
  const records = await interleaved(options, ['processor', 'log'] as const as ('processor' | 'log')[], async (kind) => {
    const result = await runWorker(options, { ...base, kind });
    options.log(
      `  ${kind}: ${result.perS}/s, CPU ${result.cpuPct}%, p99 ${result.latency.p99} ms` +
        (result.restore ? `; restore ${result.restore.events} events in ${result.restore.wallMs} ms` : ''),
    );
    return result;
  });
  const samples: Sample[] = records.map(({ round, impl, result }) => ({
    group: impl === 'processor' ? 'send_message via bus + processor' : 'append → consume, bare log',
    impl: impl === 'processor' ? 'parley' : 'sqlite log',
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
  const ratioRows = ratios(paired, 'perS', 'parley', 'sqlite log');
  const table = markdownTable(rows, metrics);
  const ratioText = ratioTable(ratioRows, { perS: 'accepted/s' });
  process.stdout.write(`\n### Command throughput (embedded log, ${base.rooms} rooms × ${base.membersPerRoom} senders, ${base.inFlight} in flight)\n\n${table}\n\n${ratioText}\n\n`);
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
