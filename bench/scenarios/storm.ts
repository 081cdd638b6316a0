// Scenario 7: a reconnect storm (issue 13). Distributed only: it needs a
// gateway to kill and another to survive. Two gateway-only instances pinned
// to the server CPU beside the core (every role, unpinned): the victim and
// the survivor. The storm client (bench/loadgen/storm.ts, on the load
// generator's CPU) puts the small rooms' 5,000 members (1,000 rooms × 5; one
// socket each; --quick: 100 rooms) on the victim, each joined to its room,
// posts messages to the core over REST at a fixed rate, SIGKILLs the victim,
// and moves every socket to the survivor with the client's jittered back-off
// and JOIN_ROOM since_seq. Reported: kill → every socket live again, per-socket
// resume p50/p99, connection attempts and how many the survivor shed, the
// survivor's CPU over the storm, and every posted message checked at every
// member: lost (never received) and duplicated (received twice).

import { randomBytes } from 'node:crypto';
import type { StormJob, StormResult } from '../loadgen/storm.ts';
import { markdownTable, summarize, writeResults, type MetricSpec, type Sample } from '../report.ts';
import { socketPath } from './fanout.ts';
import { roomsByUser, SMALL_ROOMS } from '../support/fixture.ts';
import { machine, runPinnedClient, withParleySetup, type BenchOptions } from '../support/harness.ts';
import { profiling, SERVER_CPU, startServer } from '../support/targets.ts';

const QUICK_ROOMS = 100;
/** Messages posted per second over the whole run: the rooms stay busy while their members move. */
const MESSAGES_PER_S = 200;
/** The back-off docs/API.md advises: a random wait in [0, min(30 s, 0.5 s · 2^attempt)]. */
const BACKOFF = { baseMs: 500, capMs: 30_000 };

const metrics: MetricSpec[] = [
  { key: 'allLiveS', label: 'kill → all live s' },
  { key: 'resumeP50S', label: 'resume p50 s' },
  { key: 'resumeP99S', label: 'resume p99 s' },
  { key: 'notResumed', label: 'not resumed', digits: 0 },
  { key: 'attemptsPerSocket', label: 'attempts per socket' },
  { key: 'shed', label: 'shed (503)', digits: 0 },
  { key: 'failedAttempts', label: 'other failed attempts', digits: 0 },
  { key: 'survivorCpuS', label: 'survivor CPU s' },
  { key: 'survivorCpuMsPerSocket', label: 'survivor CPU ms per socket', digits: 3 },
  { key: 'posted', label: 'messages posted', digits: 0 },
  { key: 'lost', label: 'lost', digits: 0 },
  { key: 'duplicated', label: 'duplicated', digits: 0 },
];

export async function runStorm(options: BenchOptions): Promise<void> {
  if (options.mode !== 'distributed') {
    throw new Error('storm needs --mode distributed: a gateway is killed and its sockets move to another');
  }
  const roomCount = options.quick ? QUICK_ROOMS : SMALL_ROOMS;
  const records = await withParleySetup(options, async (parley) => {
    const { population, serverOptions, core } = parley!;
    const rooms = population.small.slice(0, roomCount);
    const byUser = roomsByUser(population);
    const out: { round: number; result: StormResult }[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      options.log(`round ${round}/${options.rounds}: ${rooms.length * 5} sockets`);
      const victim = await startServer('parley', { ...serverOptions, cpu: SERVER_CPU });
      const survivor = await startServer('parley', {
        ...serverOptions,
        cpu: SERVER_CPU,
        ...profiling(options.profileDir, options.profiler, `survivor-${round}`),
      });
      try {
        const job: StormJob = {
          host: victim.host,
          victim: { port: victim.port, pid: victim.pid },
          survivor: { port: survivor.port, pid: survivor.pid },
          corePort: core!.port,
          sockets: rooms.flatMap((room, index) =>
            room.members.map((member) => ({ path: socketPath('parley', population, member, byUser), room: index })),
          ),
          rooms: rooms.map((room) => ({ id: room.id, restAuth: `Bearer ${population.users[room.members[0]!]!.token}` })),
          messagesPerS: MESSAGES_PER_S,
          beforeKillS: options.quick ? 1 : 3,
          afterResumeS: options.quick ? 1 : 3,
          resumeDeadlineS: 120,
          backoff: BACKOFF,
          connectConcurrency: 200,
          runId: randomBytes(4).toString('hex'),
        };
        out.push({ round, result: await runPinnedClient<StormResult>(options, 'bench/loadgen/storm.ts', job) });
      } catch (error) {
        options.log(`survivor output:\n${survivor.tail()}`);
        throw error;
      } finally {
        await victim.stop();
        await survivor.stop();
      }
    }
    return out;
  });

  const samples: Sample[] = records.map(({ round, result }) => ({
    group: `${result.sockets.toLocaleString('en')} sockets, ${MESSAGES_PER_S} msg/s`,
    impl: 'parley',
    round,
    values: {
      allLiveS: result.allLiveMs === null ? null : result.allLiveMs / 1000,
      resumeP50S: result.resumeMs.p50 === null ? null : result.resumeMs.p50 / 1000,
      resumeP99S: result.resumeMs.p99 === null ? null : result.resumeMs.p99 / 1000,
      notResumed: result.notResumed,
      attemptsPerSocket: result.attempts / result.sockets,
      shed: result.shed,
      failedAttempts: result.failedAttempts,
      survivorCpuS: result.survivorCpuS,
      survivorCpuMsPerSocket: (1000 * result.survivorCpuS) / result.sockets,
      posted: result.posted,
      lost: result.lost,
      duplicated: result.duplicated,
    },
  }));
  const rows = summarize(samples, metrics);
  const table = markdownTable(rows, metrics);
  process.stdout.write(
    `\n### Reconnect storm (distributed: a gateway-only instance killed, its sockets move to another)\n\n${table}\n\n`,
  );
  const file = writeResults('storm', {
    title: 'Reconnect storm',
    mode: options.mode,
    quick: options.quick,
    rounds: options.rounds,
    machine: machine(),
    backoff: BACKOFF,
    messagesPerS: MESSAGES_PER_S,
    summary: rows,
    table,
    runs: records,
  });
  options.log(`results: ${file}`);
  const broken = records.filter(({ result }) => result.lost > 0 || result.duplicated > 0 || result.notResumed > 0);
  if (broken.length > 0) throw new Error(`${broken.length} round(s) lost, duplicated or stranded messages or sockets`);
}
