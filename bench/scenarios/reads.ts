// Scenario 9 (distributed only): the reads every room request starts with,
// through the Redis read cache and without it. An api-only instance, pinned
// to the server CPU, on the distributed fixture (Kafka + MySQL + Redis, the
// core instance projecting); a closed loop over the 1,000 small rooms of
// members' `GET /rooms/:id` (membership and details: both cached) and
// `GET /rooms/:id/messages` (membership cached, the history page not); then
// of their `GET /rooms` (their room ids and the list: both cached), quiet and
// while the core takes 200 messages/s into those rooms (each message voids
// the lists of its room's members).
// `cached`: PARLEY_READ_CACHE_TTL_S=300; `database`: 0, every read from MySQL
// (what every instance did before the cache). Interleaved, a fresh instance
// each run. Figures: requests/s, p50/p99 at the client, the instance's CPU per
// request (MySQL and Redis are not pinned and not counted).

import { markdownTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import type { ReadsJob, ReadsResult } from '../loadgen/reads.ts';
import { startDistributedParley } from '../support/distributed.ts';
import { machine, runPinnedClient, timing, type BenchOptions } from '../support/harness.ts';
import { SERVER_CPU, startServer } from '../support/targets.ts';

const CONCURRENCY = 32;
const WRITES_PER_S = 200;
const variants = [
  { name: 'cached', ttlS: '300' },
  { name: 'database', ttlS: '0' },
] as const;
const workloads = [
  { group: 'room details + history', workload: 'room', writes: false },
  { group: 'room lists', workload: 'list', writes: false },
  { group: `room lists, ${WRITES_PER_S} msg/s`, workload: 'list', writes: true },
] as const;

const metrics: MetricSpec[] = [
  { key: 'requestsPerS', label: 'requests/s', digits: 0 },
  { key: 'p50', label: 'p50 ms', digits: 2 },
  { key: 'p99', label: 'p99 ms', digits: 2 },
  { key: 'serverCpuMsPerRequest', label: 'server CPU ms per request', digits: 3 },
  { key: 'cacheMissesPerRequest', label: 'cache misses per request', digits: 3 },
  { key: 'writesPerS', label: 'messages/s', digits: 0 },
  { key: 'errors', label: 'read errors', digits: 0 },
  { key: 'writeErrors', label: 'write errors', digits: 0 },
];

export async function runReads(options: BenchOptions): Promise<void> {
  if (options.mode !== 'distributed') {
    options.log('reads: distributed only (the read cache is on Redis); run with --mode distributed');
    return;
  }
  const { warmupS, durationS } = timing(options);
  const parley = await startDistributedParley({ fresh: options.freshFixture, log: options.log });
  const samples: Sample[] = [];
  try {
    const { population } = parley;
    const pairs = population.small.map((room) => ({ roomId: room.id, token: population.users[room.members[1]!]!.token }));
    const senders = population.small.map((room) => ({ roomId: room.id, token: population.users[room.members[0]!]!.token }));
    const { core } = parley;
    for (let round = 1; round <= options.rounds; round++) {
      for (const { group, workload, writes } of workloads)
        for (const variant of variants) {
          options.log(`round ${round}/${options.rounds}: ${group}, ${variant.name}`);
          const env = { ...parley.gatewayOptions().env, PARLEY_ROLES: 'api', PARLEY_READ_CACHE_TTL_S: variant.ttlS };
          const server = await startServer('parley', { cpu: SERVER_CPU, env });
          try {
            const job: ReadsJob = {
              host: server.host,
              port: server.port,
              serverPid: server.pid,
              pairs,
              workload,
              ...(writes ? { writes: { host: core.host, port: core.port, perS: WRITES_PER_S, senders } } : {}),
              concurrency: CONCURRENCY,
              warmupS,
              durationS,
            };
            const result = await runPinnedClient<ReadsResult>(options, 'bench/loadgen/reads.ts', job);
            samples.push({ group, impl: variant.name, round, values: { ...result } });
          } catch (error) {
            options.log(`server output:\n${server.tail()}`);
            throw error;
          } finally {
            await server.stop();
          }
        }
    }
  } finally {
    await parley.stop();
  }
  const rows = summarize(samples, metrics);
  const table = markdownTable(rows, metrics);
  process.stdout.write(`\n### Room reads through the read cache (distributed, api-only instance)\n\n${table}\n\n`);
  const file = writeResults('reads', {
    title: 'Room reads through the read cache',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    summary: rows,
    table,
    samples,
  });
  options.log(`results: ${file}`);
}
