// Scenario 6: projection rebuild — 1,000,000 events (--quick: 100,000)
// replayed into fresh read-model tables by `parley rebuild`'s code
// (projections/rebuild.ts), events/s on SQLite and on MySQL/MariaDB (target
// ≥ 50,000 events/s into MySQL). Each round is one run of
// bench/rebuild.bench.ts pinned to the server CPU: it generates the log with
// the real deciders (projections/testing/chat-events.ts), then rebuilds it
// into SQLite and into a throwaway MySQL database (PARLEY_TEST_MYSQL_URL,
// default mysql://root@127.0.0.1:3306; MariaDB from scripts/stack.sh).
// MySQL's own CPU (mariadbd, not pinned) is not in the CPU column.
//
// --mode distributed: the same bench with KAFKA=1 — the events are generated
// into Kafka (KAFKA_BROKERS, default the local stack's broker) under a fresh
// namespace, and rebuilt from there into the throwaway MySQL database only
// (the distributed stack's read models); the namespace's topics and groups are
// deleted afterwards. The broker (java) is not pinned either and its CPU is
// not counted; the rebuild's time includes joining its consumer group.

import { markdownTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { benchKafkaBrokers } from '../support/fresh-kafka-log.ts';
import { machine, runPinnedScript, type BenchOptions } from '../support/harness.ts';

const metrics: MetricSpec[] = [
  { key: 'events', label: 'events' },
  { key: 'seconds', label: 's', digits: 1 },
  { key: 'perS', label: 'events/s' },
  { key: 'cpuPct', label: 'rebuild process CPU %', digits: 0 },
  { key: 'usPerEvent', label: 'CPU µs/event', digits: 1 },
];

const line =
  /^((?:SQLite|MySQL)(?: from Kafka)?), batch (\d+): ([\d,]+) events in ([\d.]+) s = ([\d,]+) events\/s; this process's CPU (\d+)% \(([\d.]+) µs\/event\)/;
/** Events replayed per round (the target is about 1,000,000; --quick keeps a round well under a minute). */
const FULL_EVENTS = 1_000_000;
const QUICK_EVENTS = 100_000;
const num = (text: string) => Number(text.replace(/,/g, ''));

interface RebuildRun {
  engine: string;
  batch: number;
  events: number;
  seconds: number;
  perS: number;
  cpuPct: number;
  usPerEvent: number;
}

/** The bench's environment: Kafka and MySQL only when distributed; never an inherited KAFKA otherwise. */
function benchEnv(options: BenchOptions): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.KAFKA;
  return options.mode === 'distributed' ? { ...env, KAFKA: '1', SKIP_SQLITE: '1' } : env;
}

async function runOnce(options: BenchOptions, events: number): Promise<RebuildRun[]> {
  const lines = await runPinnedScript(options, 'bench/rebuild.bench.ts', [String(events)], benchEnv(options));
  return lines.flatMap((text) => {
    const m = line.exec(text);
    if (m === null) return [];
    return [
      {
        engine: m[1]!,
        batch: Number(m[2]),
        events: num(m[3]!),
        seconds: Number(m[4]),
        perS: num(m[5]!),
        cpuPct: Number(m[6]),
        usPerEvent: Number(m[7]),
      },
    ];
  });
}

export async function runRebuild(options: BenchOptions): Promise<void> {
  const events = options.quick ? QUICK_EVENTS : FULL_EVENTS;
  const records: { round: number; runs: RebuildRun[] }[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    options.log(`round ${round}/${options.rounds}: rebuild ${events.toLocaleString('en')} events`);
    records.push({ round, runs: await runOnce(options, events) });
  }
  const samples: Sample[] = records.flatMap(({ round, runs }) =>
    runs.map((run) => ({
      group: `${events.toLocaleString('en')} events, batch ${run.batch}`,
      impl: run.engine,
      round,
      values: { events: run.events, seconds: run.seconds, perS: run.perS, cpuPct: run.cpuPct, usPerEvent: run.usPerEvent },
    })),
  );
  const rows = summarize(samples, metrics);
  const table = markdownTable(rows, metrics);
  const title =
    options.mode === 'distributed'
      ? `Projection rebuild (distributed: from Kafka at ${benchKafkaBrokers().join(',')} into MySQL; MariaDB and the broker (java) are not pinned and their CPU is not counted)`
      : 'Projection rebuild';
  process.stdout.write(`\n### ${title}\n\n${table}\n\n`);
  const file = writeResults('rebuild', {
    title: 'Projection rebuild',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    events,
    summary: rows,
    table,
    runs: records,
  });
  options.log(`results: ${file}`);
}
