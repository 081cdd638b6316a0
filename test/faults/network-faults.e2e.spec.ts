// Network faults, not process faults (issue 17, item 3): a 2-instance cluster
// whose every connection to Kafka, MariaDB and Redis goes through a fault
// proxy (test/faults/network.ts) chats under the harness's load while each
// server in turn gets 200 ms of latency, its connections reset, its
// connections left half-open, and a blackhole. After each fault heals the load
// must resume; at the end the harness's invariants must hold (every
// acknowledged message stored and delivered exactly once, seqs gapless). The
// per-fault table (acknowledged, lost, duplicated, longest stall) is printed
// for the team's note.
//
// Only this suite's own proxies are broken, never the shared servers.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackAvailable, type Cluster } from '../support/cluster.ts';
import { ChatLoad, chatSetup, checkInvariants, stopCluster } from './harness.ts';
import {
  accountFaults,
  closeProxies,
  faultTable,
  startProxiedCluster,
  strike,
  targets,
  type FaultKind,
  type FaultWindow,
  type Proxies,
} from './network.ts';

const available = await stackAvailable('faults: network faults');
/** How long each fault lasts before it heals. */
const holdMs = 4_000;
const kinds: FaultKind[] = ['latency', 'reset', 'half-open', 'blackhole'];
/** How long the load may take to resume after a fault heals before it counts as not resumed. */
const resumeTimeoutMs = 45_000;

describe.runIf(available)('fault: the network between Parley and Kafka, MariaDB, Redis breaks', () => {
  let cluster: Cluster | undefined;
  let proxies: Proxies | undefined;
  let load: ChatLoad | undefined;

  beforeAll(async () => {
    // A statement unanswered for 5 s drops its MariaDB connection (the default,
    // 30 s, sits above any statement a server runs; the load here has none slower).
    ({ cluster, proxies } = await startProxiedCluster('fault_network', 2, { PARLEY_DB_SILENT_TIMEOUT_MS: '5000' }));
  });
  afterAll(async () => {
    await load?.close();
    await closeProxies(proxies);
    await stopCluster(cluster);
  });

  test('each fault in turn: the load resumes after it heals; every acknowledged message stored and delivered once', async () => {
    const c = cluster!;
    const setup = await chatSetup(c);
    load = new ChatLoad(c, { users: setup.plan });
    await load.start();
    await load.progress(30, 60_000, 'acks before the first fault');

    const windows: FaultWindow[] = [];
    const resumed: string[] = [];
    for (const target of targets) {
      for (const kind of kinds) {
        const label = `${target} ${kind}`;
        load.mark(label);
        const from = Date.now();
        await strike(proxies![target], kind, holdMs);
        const healedAt = Date.now();
        windows.push({ label, target, kind, from, healedAt, until: Number.NaN });
        // The load resumes: fresh acknowledgements after the heal.
        const waited = await load
          .progress(10, resumeTimeoutMs, `acks after ${label} healed`)
          .then((ms) => `${ms} ms`)
          .catch((error: unknown) => `NOT RESUMED (${String(error).split('\n')[0]})`);
        resumed.push(`${label}: resumed ${waited} after healing`);
        console.info(`[faults] ${resumed.at(-1)!}`);
        windows.at(-1)!.until = Date.now();
      }
    }
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    const accounts = await accountFaults(load, setup.rooms, windows);
    console.info(
      `[faults] network faults (each held ${holdMs} ms; window = fault start to 10 acks after healing)\n` +
        `${faultTable(accounts)}\n${resumed.join('\n')}\n${load.summary()}\n` +
        `proxies: ${JSON.stringify(Object.fromEntries(Object.entries(proxies!).map(([t, p]) => [t, p.stats])))}\n` +
        `violations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(resumed.filter((line) => line.includes('NOT RESUMED'))).toEqual([]);
    expect(load.nonRetryableErrors()).toEqual([]);
    expect(accounts.filter((a) => a.lost > 0 || a.duplicated > 0)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
