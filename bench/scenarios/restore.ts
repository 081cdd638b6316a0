// Scenario 8: a partition's restore — a processor taking over a partition that
// holds one room of 1,000,000 messages (--quick: 100,000), with and without
// snapshots (issue 13's target: ≤ 2 s whatever the history length). Each round
// is one run of bench/restore.bench.ts pinned to the server CPU: the fold of
// the whole history, the first snapshot's writing, a takeover from the
// snapshot, a takeover with 5,000 events after it, the first command on a
// message held only in the snapshot store, and the CPU of 1,000 messages sent
// one at a time to the spilled room (each names a client_msg_id the store
// must not hold).
//
// Embedded: the embedded log, the snapshot store in SQLite. --mode
// distributed: the partition in Kafka (a fresh namespace, deleted after), the
// snapshot store in a throwaway MySQL database (PARLEY_TEST_MYSQL_URL); the
// broker and MariaDB are not pinned.

import { markdownTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { machine, runPinnedScript, type BenchOptions } from '../support/harness.ts';

const metrics: MetricSpec[] = [
  { key: 'restoreMs', label: 'restore ms', digits: 0 },
  { key: 'eventsRead', label: 'events read' },
  { key: 'ownedMs', label: 'partition owned after ms', digits: 0 },
  { key: 'heapMb', label: 'heap MB', digits: 0 },
];
const extraMetrics: MetricSpec[] = [{ key: 'ms', label: 'ms', digits: 1 }];
const sendMetrics: MetricSpec[] = [
  { key: 'cpuUs', label: 'CPU µs per message', digits: 1 },
  { key: 'queries', label: 'store queries per 1,000' },
];

const FULL_MESSAGES = 1_000_000;
const QUICK_MESSAGES = 100_000;
const phaseLine = /^(fold|first|takeover|tail): restore (\d+) ms, (\d+) events read, (.+), owned after (\d+) ms, heap (\d+) MB$/;
const timeLine = /^(first snapshot|cold): ([\d.]+) ms$/;
const sendsLine = /^sends: ([\d.]+) µs CPU each, (\d+) store queries$/;

const phaseNames: Record<string, string> = {
  fold: 'fold the whole history (no snapshots)',
  first: 'fold, then write the first snapshot',
  takeover: 'take over from the snapshot',
  tail: 'take over: snapshot + 5,000 events',
};

export async function runRestore(options: BenchOptions): Promise<void> {
  const messages = options.quick ? QUICK_MESSAGES : FULL_MESSAGES;
  const env: NodeJS.ProcessEnv = { ...process.env, STORE: options.mode === 'distributed' ? 'mysql' : 'sqlite' };
  delete env.KAFKA;
  if (options.mode === 'distributed') env.KAFKA = '1';
  const samples: Sample[] = [];
  const times: Sample[] = [];
  const sends: Sample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    options.log(`round ${round}/${options.rounds}: a room of ${messages.toLocaleString('en')} messages`);
    for (const text of await runPinnedScript(options, 'bench/restore.bench.ts', [String(messages)], env)) {
      const phase = phaseLine.exec(text);
      if (phase !== null) {
        const values = {
          restoreMs: Number(phase[2]),
          eventsRead: Number(phase[3]),
          ownedMs: Number(phase[5]),
          heapMb: Number(phase[6]),
        };
        samples.push({ group: `${messages.toLocaleString('en')} messages`, impl: phaseNames[phase[1]!]!, round, values });
      }
      const time = timeLine.exec(text);
      if (time !== null) times.push({ group: 'once', impl: time[1]!, round, values: { ms: Number(time[2]) } });
      const sent = sendsLine.exec(text);
      if (sent !== null) {
        const values = { cpuUs: Number(sent[1]), queries: Number(sent[2]) };
        sends.push({ group: '1,000 messages, one at a time', impl: 'to the spilled room', round, values });
      }
    }
  }
  const rows = summarize(samples, metrics);
  const timeRows = summarize(times, extraMetrics);
  const sendRows = summarize(sends, sendMetrics);
  const table = [markdownTable(rows, metrics), markdownTable(timeRows, extraMetrics), markdownTable(sendRows, sendMetrics)].join(
    '\n\n',
  );
  const where = options.mode === 'distributed' ? 'Kafka, snapshots in MySQL' : 'embedded log, snapshots in SQLite';
  process.stdout.write(`\n### Partition restore (${where})\n\n${table}\n\n`);
  const file = writeResults('restore', {
    title: 'Partition restore',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    messages,
    summary: [...rows, ...timeRows, ...sendRows],
    table,
    samples: [...samples, ...times, ...sends],
  });
  options.log(`results: ${file}`);
}
