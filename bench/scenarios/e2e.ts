// Scenario 4: end to end. A member posts a message (WS SEND_MESSAGE, or REST
// POST /api/v1/rooms/:id/messages) and the other members of the room receive
// NEW_MESSAGE; latency is taken at those other members (not the sender's own
// copy). 200 small rooms × 5 members (1,000 sockets), messages round-robin
// over the rooms, open loop at a ladder of rates in messages/s; the ladder
// stops at the first rate that is overloaded or has p99 ≥ 100 ms, and the
// highest rate before it is "the highest rate held with p99 under 100 ms".
//
// Embedded: one Parley process does everything, the receivers are on it too.
// Distributed: the senders' sockets and REST posts go to instance A (every
// role), the receivers sit on instance B (gateway only, pinned, its CPU in the
// table): each message crosses Kafka twice (command, event) and the read
// model on MySQL before the ACK.

import type { LoadResult, OpenPhase, PhaseSpec } from '../loadgen/job.ts';
import { markdownTable, ratios, ratioTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { benchKafkaBrokers } from '../support/fresh-kafka-log.ts';
import { syntheticPopulation } from '../support/fixture.ts';
import { rawKafkaOpenLoop } from '../support/kafka-raw.ts';
import {
  interleaved,
  isParley,
  machine,
  runLoadgen,
  selected,
  timing,
  warmingUpFirst,
  wire,
  withParleySetup,
  withServer,
  type BenchOptions,
  type Target,
} from '../support/harness.ts';
import { jobFor } from './fanout.ts';

const ROOMS = 200;
const P99_LIMIT_MS = 100;

const metrics: MetricSpec[] = [
  { key: 'messagesPerS', label: 'messages/s' },
  { key: 'p50', label: 'p50 ms' },
  { key: 'p99', label: 'p99 ms' },
  { key: 'p999', label: 'p99.9 ms' },
  { key: 'serverCpuPct', label: 'server CPU %', digits: 0 },
  { key: 'loadgenCpuPct', label: 'loadgen CPU %', digits: 0 },
  { key: 'cpuMsPerMessage', label: 'server CPU ms per message', digits: 3 },
  // Distributed: instance A (api, processor, projector), where the write path runs; not pinned, so it shares both CPUs.
  { key: 'coreCpuMsPerMessage', label: 'core CPU ms per message', digits: 3 },
  // Parley's write path in counts (its /metrics; distributed: instance A), which
  // do not drift with the machine's speed as CPU time does (loadgen/work-counters.ts).
  { key: 'logWritesPerMessage', label: 'log writes per message', digits: 3 },
  { key: 'recordsPerLogWrite', label: 'records per log write', digits: 1 },
  { key: 'consumerBatchesPerMessage', label: 'consumer batches per message', digits: 2 },
  { key: 'lost', label: 'lost', digits: 0 },
  { key: 'duplicated', label: 'duplicated', digits: 0 },
  { key: 'otherCpuPct', label: 'other processes on CPUs 0+1 %', digits: 0 },
];

export function e2ePhases(options: BenchOptions): PhaseSpec[] {
  const { warmupS, durationS } = timing(options);
  // 200 and 500/s: where nothing amortises (issue 13's probe: CPU per message at low rates).
  const rates = options.quick ? [1_000, 5_000] : [200, 500, 1_000, 2_000, 5_000, 10_000, 20_000];
  return warmingUpFirst(
    options,
    selected(
      options,
      (['ws', 'rest'] as const).flatMap((via) =>
        rates.map((rate): PhaseSpec => ({
          name: `${via} ${rate < 1_000 ? rate : `${rate / 1000}k`} msg/s`,
          kind: 'open',
          messagesPerS: rate,
          warmupS,
          durationS,
          via,
          ladder: { group: via, p99LimitMs: P99_LIMIT_MS },
        })),
      ),
    ),
  );
}

/**
 * The Kafka floor under the distributed figures: kafkajs' own produce →
 * consume round trip on the same broker at each rate of the ws ladder, no
 * Parley code (bench/support/kafka-raw.ts). A Parley message crosses Kafka
 * twice before it is delivered (command, then event), so compare Parley with
 * about twice this. Runs in the harness process, not pinned; its CPU is not a
 * server's and is left out of the table.
 */
async function kafkaFloor(options: BenchOptions, phases: PhaseSpec[]): Promise<Sample[]> {
  const rates = phases.filter((phase) => phase.via === 'ws' && phase.kind === 'open') as OpenPhase[];
  const samples: Sample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const phase of rates) {
      options.log(`round ${round}/${options.rounds}: kafkajs raw produce → consume at ${phase.messagesPerS}/s`);
      const result = await rawKafkaOpenLoop({
        brokers: benchKafkaBrokers(),
        ratePerS: phase.messagesPerS,
        warmupS: phase.warmupS,
        durationS: phase.durationS,
      });
      samples.push({
        group: `kafkajs raw round trip ${phase.messagesPerS / 1000}k/s`,
        impl: 'kafkajs',
        round,
        note: result.lost > 0 ? `${result.lost} lost` : undefined,
        values: {
          messagesPerS: result.achievedPerS,
          p50: result.latency.p50,
          p99: result.latency.p99,
          p999: result.latency.p999,
        },
      });
    }
  }
  return samples;
}

export async function runE2e(options: BenchOptions): Promise<void> {
  const impls = options.impls.filter((impl): impl is Target => impl !== 'sio');
  const synthetic = syntheticPopulation();
  const phases = e2ePhases(options);

  const records = await withParleySetup(options, (parley) =>
    interleaved(options, impls, (impl) =>
      withServer(options, impl, isParley(impl) ? parley!.serverOptions : {}, async (server) => {
        const population = isParley(impl) ? parley!.population : synthetic;
        const rooms = population.small.slice(0, ROOMS);
        const users = rooms.flatMap((room) => room.members);
        // Distributed: post to instance A (the core); the receivers are on B, the instance under test.
        const senderPort = isParley(impl) ? parley!.core?.port : undefined;
        const result: LoadResult = await runLoadgen(
          options,
          jobFor(wire(impl), server, population, users, rooms, phases, {
            latencyExcludesSender: true,
            ...(senderPort === undefined ? {} : { senderPort, corePid: parley!.core!.pid }),
          }),
        );
        if (result.connect.failed > 0) throw new Error(`${impl}: ${result.connect.failed} sockets failed to connect`);
        return result;
      }),
    ),
  );

  const samples: Sample[] = records.flatMap(({ round, impl, result }) =>
    result.phases.map((phase) => ({
      group: phase.name,
      impl,
      round,
      note: phase.skipped !== undefined ? 'skipped' : phase.overloaded ? 'overloaded' : undefined,
      values:
        phase.skipped !== undefined
          ? {}
          : {
              messagesPerS: phase.messagesPerS,
              p50: phase.latency.p50,
              p99: phase.latency.p99,
              p999: phase.latency.p999,
              serverCpuPct: phase.serverCpuPct,
              loadgenCpuPct: phase.loadgenCpuPct,
              cpuMsPerMessage: phase.serverCpuMsPerMessage,
              ...(phase.coreCpuMsPerMessage === null ? {} : { coreCpuMsPerMessage: phase.coreCpuMsPerMessage }),
              ...(phase.work ?? {}),
              lost: phase.lost,
              duplicated: phase.duplicated,
              otherCpuPct: phase.otherServerCpuPct + phase.otherLoadgenCpuPct,
            },
    })),
  );
  if (options.mode === 'distributed') samples.push(...(await kafkaFloor(options, phases)));
  // The highest rate of each ladder that held (not overloaded, p99 < limit), per run.
  for (const { round, impl, result } of records) {
    for (const via of ['ws', 'rest'] as const) {
      const held = result.phases.filter(
        (p) => p.via === via && p.skipped === undefined && !p.overloaded && (p.latency.p99 ?? Infinity) < P99_LIMIT_MS,
      );
      samples.push({
        group: `${via}: highest rate with p99 < ${P99_LIMIT_MS} ms`,
        impl,
        round,
        values: { messagesPerS: held.length === 0 ? 0 : Math.max(...held.map((p) => p.offeredMessagesPerS ?? 0)) },
      });
    }
  }
  const rows = summarize(samples, metrics);
  const title =
    options.mode === 'distributed'
      ? 'distributed: posted to instance A, received on gateway instance B; server CPU = B'
      : 'embedded';
  const ratioRows = impls
    .filter((impl) => impl !== 'ws' && impls.includes('ws'))
    .flatMap((impl) => ratios(samples, 'p99', impl, 'ws'));
  const table = markdownTable(rows, metrics);
  const ratioText = ratioTable(ratioRows, { p99: 'p99' });
  process.stdout.write(`\n### End to end (${title})\n\n${table}\n\n${ratioText}\n\n`);
  const file = writeResults('e2e', {
    title: 'End to end',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    phases,
    summary: rows,
    ratios: ratioRows,
    table,
    ratioTable: ratioText,
    runs: records,
  });
  options.log(`results: ${file}`);
}
