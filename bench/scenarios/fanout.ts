// Scenarios 1 and 2: fan-out.
//
//   wide:  1 room × 100 members, one sender (member 0)
//   small: 1,000 rooms × 5 members (5,000 sockets; --quick: 100 rooms),
//          messages round-robin over the rooms, each posted by its room's
//          member 0
//
// Every member has one socket; the sender's socket is a member too, so a
// message makes 100 (or 5) deliveries on every server. Phases per run, on one
// server process and one set of sockets:
//   closed: W messages in flight (W = 8 wide, 160 small: 800 deliveries
//           outstanding, as in the baseline harness; then 8 × W) → max
//           deliveries/s, server CPU per delivery
//   open:   fixed rates in deliveries/s (10k, 50k; the full run adds 25k and
//           100k for the latency-vs-load chart) → send→deliver latency.
//           Once a rate is overloaded, the higher ones are skipped.

import type { LoadJob, LoadResult, PhaseSpec } from '../loadgen/job.ts';
import type { Impl } from '../loadgen/protocols.ts';
import { markdownTable, ratios, ratioTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { roomsByUser, SMALL_ROOMS, syntheticPopulation, type Population, type RoomRef } from '../support/fixture.ts';
import {
  interleaved,
  isParley,
  machine,
  modeLabel,
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
import { LOADGEN_CPU, SERVER_CPU, type RunningServer } from '../support/targets.ts';

export type FanoutShape = 'wide' | 'small';

/** --quick: 100 small rooms (500 sockets), since Parley opens sockets far slower than the baselines. */
const QUICK_SMALL_ROOMS = 100;

/** ~64 characters: the NEW_MESSAGE frame is then ~430 bytes on every server. */
export const CONTENT = 'benchmark message: the quick brown fox jumps over the lazy dog!!';

export function socketPath(impl: Impl, population: Population, user: number, rooms: string[][]): string {
  if (impl === 'parley') return `/ws?token=${population.users[user]!.token}`;
  const query = `rooms=${rooms[user]!.join(',')}&user=${population.users[user]!.id}`;
  return impl === 'ws' ? `/ws?${query}` : `/socket.io/?EIO=4&transport=websocket&${query}`;
}

/** Sockets for the given users (one each, socket i = users[i]) and rooms re-indexed to them. */
export function jobFor(
  impl: Impl,
  server: RunningServer,
  population: Population,
  users: number[],
  rooms: RoomRef[],
  phases: PhaseSpec[],
  extra: Partial<LoadJob> = {},
): LoadJob {
  const byUser = roomsByUser(population);
  const socketOf = new Map(users.map((user, index) => [user, index]));
  return {
    impl,
    host: server.host,
    port: server.port,
    serverPid: server.pid,
    serverCpu: Number(SERVER_CPU),
    loadgenCpu: Number(LOADGEN_CPU),
    statsFile: server.statsFile,
    sockets: users.map((user) => socketPath(impl, population, user, byUser)),
    rooms: rooms.map((room) => ({
      id: room.id,
      members: room.members.map((member) => socketOf.get(member)!),
      restAuth:
        impl === 'parley'
          ? `Bearer ${population.users[room.members[0]!]!.token}`
          : `Bearer ${population.users[room.members[0]!]!.id}`,
    })),
    firstMessageNumber: Date.now(),
    content: CONTENT,
    connectConcurrency: 200,
    latencyExcludesSender: false,
    phases,
    ...extra,
  };
}

export function fanoutPhases(options: BenchOptions, shape: FanoutShape): PhaseSpec[] {
  const { warmupS, durationS } = timing(options);
  const members = shape === 'wide' ? 100 : 5;
  const rates = options.quick ? [10_000, 50_000] : [10_000, 25_000, 50_000, 100_000];
  // W as in the baseline harness (800 deliveries outstanding), and 8× that:
  // Parley's path to a delivery has two fsync'd log commits in it, so at the
  // harness's W it waits more than it works; the deeper loop saturates it.
  // --quick keeps only the deeper one.
  const w = shape === 'wide' ? 8 : 160;
  const windows = options.quick ? [w * 8] : [w, w * 8];
  return warmingUpFirst(
    options,
    selected(options, [
      ...windows.map((inFlight): PhaseSpec => ({
        name: `closed W=${inFlight}`,
        kind: 'closed',
        inFlight,
        warmupS,
        durationS,
        via: 'ws',
      })),
      ...rates.map((rate): PhaseSpec => ({
        name: `${rate / 1000}k/s`,
        kind: 'open',
        messagesPerS: rate / members,
        warmupS,
        durationS,
        via: 'ws',
        ladder: { group: 'rates' },
      })),
    ]),
  );
}

export const fanoutMetrics: MetricSpec[] = [
  { key: 'deliveriesPerS', label: 'deliveries/s' },
  { key: 'p50', label: 'p50 ms' },
  { key: 'p99', label: 'p99 ms' },
  { key: 'p999', label: 'p99.9 ms' },
  { key: 'serverCpuPct', label: 'server CPU %', digits: 0 },
  { key: 'loadgenCpuPct', label: 'loadgen CPU %', digits: 0 },
  { key: 'perCpuS', label: 'deliveries per server CPU-s' },
  { key: 'usPerDelivery', label: 'server µs per delivery' },
  { key: 'otherCpuPct', label: 'other processes on CPUs 0+1 %', digits: 0 },
];

export function fanoutSamples(records: { round: number; impl: Target; result: LoadResult }[]): Sample[] {
  return records.flatMap(({ round, impl, result }) =>
    result.phases.map((phase) => ({
      group: phase.name,
      impl,
      round,
      note: phase.skipped !== undefined ? 'skipped' : phase.overloaded ? 'overloaded' : undefined,
      values:
        phase.skipped !== undefined
          ? {}
          : {
              deliveriesPerS: phase.deliveriesPerS,
              p50: phase.latency.p50,
              p99: phase.latency.p99,
              p999: phase.latency.p999,
              serverCpuPct: phase.serverCpuPct,
              loadgenCpuPct: phase.loadgenCpuPct,
              perCpuS: phase.deliveriesPerServerCpuS,
              usPerDelivery: phase.deliveriesPerServerCpuS > 0 ? 1e6 / phase.deliveriesPerServerCpuS : null,
              otherCpuPct: phase.otherServerCpuPct + phase.otherLoadgenCpuPct,
            },
    })),
  );
}

export async function runFanout(options: BenchOptions, shape: FanoutShape): Promise<void> {
  const scenario = shape === 'wide' ? 'fanout-wide' : 'fanout-small';
  const synthetic = syntheticPopulation();
  const phases = fanoutPhases(options, shape);
  const smallRooms = options.quick ? QUICK_SMALL_ROOMS : SMALL_ROOMS;

  const records = await withParleySetup(options, (parley) =>
    interleaved(options, options.impls, (impl) =>
      withServer(options, impl, isParley(impl) ? parley!.serverOptions : {}, async (server) => {
        const population = isParley(impl) ? parley!.population : synthetic;
        const rooms = shape === 'wide' ? [population.wide] : population.small.slice(0, smallRooms);
        const users = rooms.flatMap((room) => room.members);
        const core = isParley(impl) && options.sendersOnCore === true ? parley!.core : undefined;
        const extra: Partial<LoadJob> =
          core === undefined ? {} : { senderPort: core.port, corePid: core.pid, latencyExcludesSender: true };
        const result = await runLoadgen(options, jobFor(wire(impl), server, population, users, rooms, phases, extra));
        if (result.connect.failed > 0) throw new Error(`${impl}: ${result.connect.failed} sockets failed to connect`);
        return result;
      }),
    ),
  );

  const samples = fanoutSamples(records);
  const rows = summarize(samples, fanoutMetrics);
  const ratioRows = options.impls
    .filter((impl) => impl !== 'ws' && options.impls.includes('ws'))
    .flatMap((impl) => [...ratios(samples, 'perCpuS', impl, 'ws'), ...ratios(samples, 'p99', impl, 'ws')]);
  const sendersOnCore = options.mode === 'distributed' && options.sendersOnCore === true ? ' (senders on the core)' : '';
  const title = `${shape === 'wide' ? 'Fan-out, wide room (1 × 100)' : `Fan-out, many small rooms (${smallRooms.toLocaleString('en')} × 5)`}, ${modeLabel(options)}${sendersOnCore}`;
  const table = markdownTable(rows, fanoutMetrics);
  const ratioText = ratioTable(ratioRows, { perCpuS: 'deliveries per server CPU-s', p99: 'p99' });
  process.stdout.write(`\n### ${title}\n\n${table}\n\n${ratioText}\n\n`);
  const file = writeResults(scenario, {
    title,
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
