// Scenario 3: idle connections. 10,000 authenticated sockets (the 5,000
// fixture users, two sockets each; --quick: 1,200, users 0–599, which makes
// the per-socket figures rough: quote the full run) following 1–3 rooms each (the user's
// rooms; see support/fixture.ts). The load generator asks the server for a
// forced GC and its memory before connecting and again once every socket is
// ready and a settle time has passed: (after − before) / sockets is the cost
// of one connection in RSS and in JS heap. The first 200 sockets connect
// before the "before" sample, so one-time costs are not spread over the rest. Connect time: all 10,000 sockets,
// 200 handshakes in flight, until each is ready (AUTH_SUCCESS / CONNECT ack).
// Distributed: the sockets are on a gateway-only instance with Redis presence.

import type { LoadResult } from '../loadgen/job.ts';
import { markdownTable, ratios, ratioTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { syntheticPopulation, USERS } from '../support/fixture.ts';
import {
  interleaved,
  isParley,
  machine,
  modeLabel,
  runLoadgen,
  wire,
  withParleySetup,
  withServer,
  type BenchOptions,
} from '../support/harness.ts';
import { jobFor } from './fanout.ts';

const SOCKETS_PER_USER = 2;

const metrics: MetricSpec[] = [
  { key: 'rssPerConnKB', label: 'RSS KB/socket' },
  { key: 'heapPerConnKB', label: 'JS heap KB/socket' },
  { key: 'externalPerConnKB', label: 'external KB/socket' },
  { key: 'rssBeforeMB', label: 'RSS before MB', digits: 1 },
  { key: 'rssAfterMB', label: 'RSS after MB', digits: 1 },
  { key: 'connectMs', label: `connect all ms` },
  { key: 'connectPerS', label: 'sockets/s' },
];

export async function runIdle(options: BenchOptions): Promise<void> {
  const synthetic = syntheticPopulation();
  const userCount = options.quick ? 600 : USERS;
  const users = Array.from({ length: userCount * SOCKETS_PER_USER }, (_, i) => i % userCount);

  const records = await withParleySetup(options, (parley) =>
    interleaved(options, options.impls, (impl) =>
      withServer(options, impl, isParley(impl) ? parley!.serverOptions : {}, async (server) => {
        const population = isParley(impl) ? parley!.population : synthetic;
        const job = jobFor(wire(impl), server, population, users, [], [], {
          memory: { settleS: options.quick ? 0.3 : 2, warmSockets: 200 },
        });
        // jobFor maps users to sockets one to one; with two sockets per user it
        // is the socket list that matters here (no rooms receive messages).
        const result: LoadResult = await runLoadgen(options, job);
        if (result.connect.failed > 0) throw new Error(`${impl}: ${result.connect.failed} sockets failed to connect`);
        return result;
      }),
    ),
  );

  const samples: Sample[] = records.map(({ round, impl, result }) => ({
    group: `${users.length.toLocaleString('en')} idle sockets`,
    impl,
    round,
    values: {
      rssPerConnKB: result.memory?.rssPerConnKB,
      heapPerConnKB: result.memory?.heapPerConnKB,
      externalPerConnKB: result.memory?.externalPerConnKB,
      rssBeforeMB: result.memory === undefined ? null : result.memory.before.rss / 2 ** 20,
      rssAfterMB: result.memory === undefined ? null : result.memory.after.rss / 2 ** 20,
      connectMs: result.connect.ms,
      connectPerS: (result.connect.sockets / result.connect.ms) * 1000,
    },
  }));
  const rows = summarize(samples, metrics);
  const ratioRows = options.impls
    .filter((impl) => impl !== 'ws' && options.impls.includes('ws'))
    .flatMap((impl) => [...ratios(samples, 'rssPerConnKB', impl, 'ws'), ...ratios(samples, 'connectMs', impl, 'ws')]);
  const table = markdownTable(rows, metrics);
  const ratioText = ratioTable(ratioRows, { rssPerConnKB: 'RSS per socket', connectMs: 'connect time' });
  process.stdout.write(`\n### Idle connections (${modeLabel(options)})\n\n${table}\n\n${ratioText}\n\n`);
  const file = writeResults('idle', {
    title: 'Idle connections',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    sockets: users.length,
    summary: rows,
    ratios: ratioRows,
    table,
    ratioTable: ratioText,
    runs: records,
  });
  options.log(`results: ${file}`);
}
