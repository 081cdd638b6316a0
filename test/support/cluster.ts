// Several Parley processes on the real distributed stack (Kafka, MariaDB,
// Redis) for end-to-end suites: each suite gets its own log namespace, its own
// database and its own Redis database number, so suites never see each other.
// When a server is unreachable the suite skips loudly, or fails under
// PARLEY_REQUIRE_INFRA=1 (see infra.ts).

import crypto from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
// The test's own kafkajs clients get Parley's kafkajs fixes too (no idle timer spin).
import '../../src/log/kafka/kafkajs-patches.ts';
import mysql from 'mysql2/promise';
import { createTestDatabase, mysqlAdmin, mysqlAvailable, testDatabaseUrl, testMysqlUrl } from './engines.ts';
import { infraAvailable, redisAvailable, testKafkaBrokers, testRedisUrl } from './infra.ts';

export { mysqlAvailable, testKafkaBrokers, testMysqlUrl };
import { startParley, tempDataDir, unthrottledCommands, type ParleyProcess, type StartOptions } from './server.ts';

export async function kafkaAvailable(suite: string): Promise<boolean> {
  return infraAvailable('Kafka', testKafkaBrokers.join(','), suite, async () => {
    const admin = new Kafka({
      clientId: 'parley-test-probe',
      brokers: testKafkaBrokers,
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect();
    }
  });
}

export interface Cluster {
  /** The running instances, in start order (an entry is replaced on restart). */
  nodes: ParleyProcess[];
  /** Environment shared by every instance of this cluster. */
  env: Record<string, string>;
  /** Starts one more instance (or restarts one on its data dir); `root`: another checkout to run. */
  start(options?: { env?: Record<string, string>; root?: string }): Promise<ParleyProcess>;
  /** Kills (SIGKILL) node `index` and starts a new one in its place. */
  restart(index: number, how: 'kill' | 'term'): Promise<ParleyProcess>;
  /** A direct query on the cluster's read-model database. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

/** Probes the stack; resolves false (suite skipped) when a server is unreachable and infra is optional. */
export async function stackAvailable(suite: string): Promise<boolean> {
  const [kafka, mysqlUp, redis] = await Promise.all([kafkaAvailable(suite), mysqlAvailable(suite), redisAvailable(suite)]);
  return kafka && mysqlUp && redis !== undefined;
}

export async function startCluster(
  suite: string,
  size: number,
  env: Record<string, string> = {},
  root?: string,
): Promise<Cluster> {
  const id = `${suite.replace(/\W/g, '_')}_${crypto.randomBytes(4).toString('hex')}`;
  const database = `parley_it_${id}`;
  await createTestDatabase(database);
  const sharedDir = tempDataDir('parley-cluster-');
  const clusterEnv: Record<string, string> = {
    KAFKA_BROKERS: testKafkaBrokers.join(','),
    PARLEY_LOG_NAMESPACE: `it.${id}`,
    DATABASE_URL: testDatabaseUrl(database),
    REDIS_URL: testRedisUrl,
    // Keys of their own, so clusters and other test runs never share a counter or a lease.
    PARLEY_REDIS_KEY_PREFIX: `parley-it:${id}:`,
    // Failover within seconds, not the production 30 s.
    PARLEY_KAFKA_SESSION_TIMEOUT_MS: '6000',
    PARLEY_PARTITIONS: '4',
    PARLEY_REGISTER_MAX_PER_IP: '100000',
    PARLEY_LOGIN_MAX_FAILURES_PER_IP: '100000',
    PARLEY_LOGIN_FREE_FAILURES: '1000',
    PARLEY_WS_RATE_PER_S: '1000',
    PARLEY_WS_RATE_BURST: '1000',
    // A load test: the fault harness (test/faults/harness.ts) sends one message
    // per user every 60 ms (~17/s, 167 per 10 s, more while it retries after a
    // fault), above a person's budget of 60 per 10 s.
    ...unthrottledCommands,
    ...env,
  };
  const sql = await mysql.createConnection({ uri: clusterEnv.DATABASE_URL! });
  const nodes: ParleyProcess[] = [];

  // Instances share one data dir, hence one signing key (as docker-compose
  // shares a volume); nothing else lives there on the distributed adapters.
  const launch = (options: StartOptions) =>
    startParley({ ...options, dataDir: sharedDir, timeoutMs: 60_000, env: { ...clusterEnv, ...options.env } });

  const cluster: Cluster = {
    nodes,
    env: clusterEnv,
    async start(options = {}) {
      const node = await launch({ env: options.env ?? {}, ...(options.root === undefined ? {} : { root: options.root }) });
      nodes.push(node);
      return node;
    },
    async restart(index, how) {
      const old = nodes[index]!;
      if (how === 'kill') await old.kill();
      else await old.stop();
      const node = await launch({});
      nodes[index] = node;
      return node;
    },
    async query<T>(statement: string, params: unknown[] = []) {
      const [rows] = await sql.query(statement, params);
      return rows as T[];
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
      await sql.end();
      await mysqlAdmin(`DROP DATABASE IF EXISTS \`${database}\``);
    },
  };
  // Started one after another: the first creates the topics and migrates.
  for (let i = 0; i < size; i++) await cluster.start(root === undefined ? {} : { root });
  return cluster;
}
