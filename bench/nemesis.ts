// The nemesis soak (issue 17, item 8): Jepsen's method on Parley's own
// checker. A cluster whose connections to Kafka, MariaDB and Redis all go
// through fault proxies carries the fault harness's chat load for N minutes
// while a random (seeded, so repeatable) schedule of faults strikes: latency,
// connection resets, half-open connections, blackholes and refused
// connections on any of the three servers, and (with --kill) SIGKILL of a
// Parley instance. Then everything heals, the load stops, and the harness's
// invariant checker gives its verdict, with the per-fault numbers.
//
//   npm run nemesis -- --minutes 5 --seed 42 [--instances 2] [--kill]
//
// Not part of `npm test`: it runs for minutes. It breaks only its own proxies
// (and its own instances), never the shared servers. Exit code 0 iff the
// checker found no violation.

import { parseArgs } from 'node:util';
import { stackAvailable, type Cluster } from '../test/support/cluster.ts';
import { ChatLoad, chatSetup, checkInvariants, stopCluster } from '../test/faults/harness.ts';
import {
  accountFaults,
  closeProxies,
  faultKinds,
  faultTable,
  startProxiedCluster,
  strike,
  targets,
  type FaultWindow,
  type Proxies,
} from '../test/faults/network.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    seed: { type: 'string' },
    instances: { type: 'string', default: '2' },
    kill: { type: 'boolean', default: false },
  },
});
const minutes = Number(values.minutes);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const instances = Number(values.instances);
if (!(minutes > 0) || !Number.isInteger(seed) || !(instances >= 1)) {
  console.error('usage: npm run nemesis -- --minutes <N> [--seed <int>] [--instances <n>] [--kill]');
  process.exit(2);
}

/** mulberry32: a small seeded generator, so a seed replays the same schedule. */
function generator(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = generator(seed);
const between = (min: number, max: number) => Math.round(min + random() * (max - min));
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[nemesis ${new Date().toISOString().slice(11, 19)}] ${line}`);

if (!(await stackAvailable('nemesis'))) {
  console.error('nemesis: the stack (Kafka, MariaDB, Redis) is not reachable; start it with npm run stack:up');
  process.exit(2);
}

let cluster: Cluster | undefined;
let proxies: Proxies | undefined;
let load: ChatLoad | undefined;
let verdict = 1;
try {
  log(`seed ${seed}, ${minutes} min, ${instances} instances${values.kill ? ', SIGKILL included' : ''}`);
  ({ cluster, proxies } = await startProxiedCluster('nemesis', instances));
  const setup = await chatSetup(cluster);
  load = new ChatLoad(cluster, { users: setup.plan });
  await load.start();

  const windows: FaultWindow[] = [];
  const deadline = Date.now() + minutes * 60_000;
  while (Date.now() < deadline) {
    await sleep(between(2_000, 8_000)); // calm between faults
    if (Date.now() >= deadline) break;
    const from = Date.now();
    const previous = windows.at(-1);
    if (previous !== undefined) previous.until = from;
    if (values.kill && random() < 0.15) {
      const index = between(0, cluster.nodes.length - 1);
      const label = `instance ${index} SIGKILL`;
      log(label);
      load.mark(label);
      await cluster.restart(index, 'kill');
      windows.push({ label, target: 'instance', kind: 'sigkill', from, healedAt: Date.now(), until: Number.NaN });
      continue;
    }
    const target = pick(targets);
    const kind = pick(faultKinds);
    const holdMs = between(1_000, 10_000);
    const label = `${target} ${kind} ${(holdMs / 1000).toFixed(1)}s`;
    log(label);
    load.mark(label);
    await strike(proxies[target], kind, holdMs);
    windows.push({ label, target, kind, from, healedAt: Date.now(), until: Number.NaN });
  }
  for (const proxy of Object.values(proxies)) proxy.heal();
  log('healed; waiting for the load to resume and stopping it');
  await load.progress(10, 180_000, 'acks after the last fault healed').catch((error: unknown) => log(String(error)));
  if (windows.length > 0) windows.at(-1)!.until = Date.now();
  await load.stop();

  const problems = await checkInvariants(load, setup.rooms, setup.reader);
  const accounts = await accountFaults(load, setup.rooms, windows);
  console.log(`\n${faultTable(accounts)}\n\n${load.summary()}\n`);
  const totals = accounts.reduce((t, a) => ({ lost: t.lost + a.lost, duplicated: t.duplicated + a.duplicated }), {
    lost: 0,
    duplicated: 0,
  });
  console.log(
    `faults: ${windows.length}; acknowledged: ${load.acks.length}; lost: ${totals.lost}; duplicated: ${totals.duplicated}; given up: ${load.gaveUp.length}`,
  );
  if (problems.length === 0) {
    console.log(`VERDICT: valid — every invariant holds (seed ${seed})`);
    verdict = 0;
  } else {
    console.log(`VERDICT: INVALID — ${problems.length} violations (seed ${seed}):\n${problems.join('\n')}`);
  }
} catch (error) {
  console.error('nemesis: the run failed before a verdict:', error);
  if (load !== undefined) console.error(load.summary());
  verdict = 2;
} finally {
  await load?.close();
  await closeProxies(proxies);
  await stopCluster(cluster);
}
process.exit(verdict);
