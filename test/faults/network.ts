// Network faults between Parley and its servers, for the network-fault suite
// and the nemesis soak (bench/nemesis.ts): a cluster whose every connection to
// Kafka, MariaDB and Redis goes through a fault proxy (test/support/fault-proxy.ts),
// the faults struck through those proxies, and the per-fault account (what was
// acknowledged, lost, duplicated, and the longest stall) read against the
// read model once the load has stopped.
//
// Only the proxies are broken: the shared servers behind them never notice,
// so this may run while other suites use them.

import path from 'node:path';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { startCluster, testKafkaBrokers, type Cluster } from '../support/cluster.ts';
import { dbQuery, type Ack, type ChatLoad } from './harness.ts';

export const targets = ['kafka', 'mariadb', 'redis'] as const;
export type Target = (typeof targets)[number];
export const faultKinds = ['latency', 'reset', 'half-open', 'blackhole', 'refuse'] as const;
export type FaultKind = (typeof faultKinds)[number];

export type Proxies = Record<Target, FaultProxy>;

const hostPort = (address: string) => {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
};

/**
 * A cluster of `size` instances whose Kafka, MariaDB and Redis connections all
 * go through a fault proxy each. Kafka's advertised address is redirected to
 * its proxy inside each instance (test/support/connect-redirect.ts).
 */
export async function startProxiedCluster(
  suite: string,
  size: number,
  env: Record<string, string> = {},
): Promise<{ cluster: Cluster; proxies: Proxies }> {
  // No instance yet: the cluster's database and env first, then the proxies in front.
  const cluster = await startCluster(suite, 0, env);
  const database = new URL(cluster.env.DATABASE_URL!);
  const redis = new URL(cluster.env.REDIS_URL!);
  const proxies: Proxies = {
    kafka: await startKafkaProxy(),
    mariadb: await startFaultProxy({ upstream: { host: database.hostname, port: Number(database.port || 3306) } }),
    redis: await startFaultProxy({ upstream: { host: redis.hostname, port: Number(redis.port || 6379) } }),
  };
  database.host = `127.0.0.1:${proxies.mariadb.port}`;
  redis.host = `127.0.0.1:${proxies.redis.port}`;
  // The cluster's env is what every instance it starts (and `parley replay`) gets.
  Object.assign(cluster.env, {
    ...kafkaThrough(proxies.kafka),
    DATABASE_URL: database.toString(),
    REDIS_URL: redis.toString(),
  });
  for (let i = 0; i < size; i++) await cluster.start();
  return { cluster, proxies };
}

/** A fault proxy in front of the test Kafka. */
export function startKafkaProxy(): Promise<FaultProxy> {
  return startFaultProxy({ upstream: hostPort(testKafkaBrokers[0]!) });
}

/**
 * The env that sends an instance's Kafka connections through `proxy`:
 * bootstrap, and the broker address Kafka advertises, redirected inside the
 * instance (test/support/connect-redirect.ts).
 */
export function kafkaThrough(proxy: FaultProxy): Record<string, string> {
  const kafka = hostPort(testKafkaBrokers[0]!);
  return {
    KAFKA_BROKERS: `127.0.0.1:${proxy.port}`,
    NODE_OPTIONS: `--import ${path.resolve(import.meta.dirname, '../support/connect-redirect.ts')}`,
    PARLEY_TEST_CONNECT_REDIRECT: `${kafka.host}:${kafka.port}=127.0.0.1:${proxy.port}`,
  };
}

export async function closeProxies(proxies: Proxies | undefined): Promise<void> {
  if (proxies === undefined) return;
  for (const proxy of Object.values(proxies)) proxy.heal();
  await Promise.all(Object.values(proxies).map((proxy) => proxy.close()));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One fault struck at one server, and when. */
export interface FaultWindow {
  label: string;
  target: Target | 'instance';
  kind: FaultKind | 'sigkill';
  from: number;
  healedAt: number;
  /** The next fault's start (or the load's end): what follows a fault is counted with it. */
  until: number;
}

/** Latency of the `latency` fault. */
export const faultLatencyMs = 200;

/** Strikes `kind` at `proxy` for `holdMs`, then heals it. */
export async function strike(proxy: FaultProxy, kind: FaultKind, holdMs: number): Promise<void> {
  switch (kind) {
    case 'latency':
      proxy.setLatency(faultLatencyMs);
      await sleep(holdMs);
      break;
    case 'reset':
      // Twice: the connections the clients opened again after the first reset go too.
      proxy.resetAll();
      await sleep(holdMs / 2);
      proxy.resetAll();
      await sleep(holdMs / 2);
      break;
    case 'half-open':
      proxy.halfOpen();
      await sleep(holdMs);
      break;
    case 'blackhole':
      proxy.blackhole(true);
      await sleep(holdMs);
      break;
    case 'refuse':
      // The server's port closes: open connections reset, new ones refused.
      proxy.refuse(true);
      proxy.resetAll();
      await sleep(holdMs);
      break;
  }
  proxy.heal();
}

export interface FaultAccount {
  label: string;
  acknowledged: number;
  lost: number;
  duplicated: number;
  longestStallMs: number;
}

/**
 * Per fault window: messages acknowledged in it, of those how many are
 * missing from the read model (lost) or stored more than once (duplicated),
 * and the longest stretch without any acknowledgement. Call after the load
 * stopped and the checker ran (the read model has caught up).
 */
export async function accountFaults(load: ChatLoad, rooms: string[], windows: FaultWindow[]): Promise<FaultAccount[]> {
  const stored = new Map<string, number>();
  for (const roomId of rooms) {
    const rows = await dbQuery<{ sender_id: string; client_msg_id: string }>(
      load.cluster,
      'select sender_id, client_msg_id from messages where room_id = ?',
      [roomId],
    );
    for (const row of rows) {
      const k = `${row.sender_id}/${row.client_msg_id}`;
      stored.set(k, (stored.get(k) ?? 0) + 1);
    }
  }
  const countOf = (ack: Ack) => stored.get(`${ack.senderId}/${ack.clientMsgId}`) ?? 0;
  return windows.map((w) => {
    const acks = load.acks.filter((a) => a.at >= w.from && a.at < w.until);
    const times = [w.from, ...acks.map((a) => a.at).sort((a, b) => a - b), w.until];
    let longest = 0;
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
    const distinct = new Map(acks.map((a) => [`${a.senderId}/${a.clientMsgId}`, a]));
    return {
      label: w.label,
      acknowledged: distinct.size,
      lost: [...distinct.values()].filter((a) => countOf(a) === 0).length,
      duplicated: [...distinct.values()].filter((a) => countOf(a) > 1).length,
      longestStallMs: longest,
    };
  });
}

/** The accounts as a fixed-width table, for the console and the team's note. */
export function faultTable(accounts: FaultAccount[]): string {
  const header = ['fault', 'acked', 'lost', 'dup', 'longest stall'];
  const rows = accounts.map((a) => [
    a.label,
    String(a.acknowledged),
    String(a.lost),
    String(a.duplicated),
    `${(a.longestStallMs / 1000).toFixed(1)} s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
