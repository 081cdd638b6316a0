// A Kafka cluster of three brokers of the fault suite's own: the one
// `scripts/stack.sh up --brokers 3` starts, but on private ports and a
// private dir, so it never meets a developer's cluster nor the shared single
// broker, and the suite may kill its brokers at will. Needs Java 17+ and the
// Kafka jars the stack caches (`npm run stack:up` fetches them once); without
// them the suite skips loudly, or fails under PARLEY_REQUIRE_INFRA=1.

import { randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import kafkajs from 'kafkajs';
import '../../src/log/kafka/kafkajs-patches.ts';
import { infraAvailable } from '../support/infra.ts';
import { run, type RunResult } from './stack.ts';

const { Kafka, logLevel } = kafkajs;

const kafkaVersion = process.env.PARLEY_KAFKA_VERSION ?? '4.4.0';
const cacheDir = process.env.PARLEY_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'parley');
const jarsMarker = path.join(cacheDir, `kafka-${kafkaVersion}`, 'libs', '.complete');

/** Java answers and the stack's Kafka jars are cached (see infraAvailable for skip/fail). */
export async function brokerClusterAvailable(suite: string): Promise<boolean> {
  return infraAvailable('a three-broker Kafka cluster (Java 17+ and the cached Kafka jars)', jarsMarker, suite, async () => {
    const java = await run(
      process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java',
      ['-version'],
      30_000,
    );
    if (java.code !== 0) throw new Error(`java -version failed: ${java.stderr.trim() || java.code}`);
    if (!fs.existsSync(jarsMarker))
      throw new Error(`no Kafka ${kafkaVersion} jars at ${path.dirname(jarsMarker)} (run npm run stack:up once)`);
  });
}

export interface BrokerCluster {
  /** The bootstrap list, for KAFKA_BROKERS. */
  brokers: string;
  /** Node ids, 1..3 (node i is broker i). */
  nodes: number[];
  /** SIGKILL (a crash) or SIGTERM (a clean stop) of node i; resolves once it is gone. */
  stop(node: number, how: 'kill' | 'term'): Promise<void>;
  /** Starts the nodes again on their data; resolves once they answer and every broker is registered. Returns ms taken. */
  start(...nodes: number[]): Promise<number>;
  /** Starts whichever nodes are stopped (after a test that failed half-way), so the next test finds three. */
  startStopped(): Promise<void>;
  /** Broker id leading the partition. Like replication(), it asks again while a stopped broker's connection fails. */
  leaderOf(topic: string, partition: number): Promise<number>;
  /** Replicas and in-sync replicas of every partition of the topics whose name starts with `prefix`. */
  replication(prefix: string): Promise<{ topic: string; partition: number; leader: number; replicas: number[]; isr: number[] }[]>;
  /** Stops every node and deletes the cluster's files. */
  destroy(): Promise<void>;
}

/** `scripts/stack.sh up kafka --brokers 3` on a private dir and ports; resolves once all three answer. */
export async function startBrokerCluster(): Promise<BrokerCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-brokers-'));
  // Ports 21000-26990, so two runs on one machine rarely meet (stack.sh refuses a taken port).
  const base = 21_000 + 10 * randomInt(600);
  const env = {
    PARLEY_KAFKA_CLUSTER_DIR: dir,
    PARLEY_KAFKA_CLUSTER_PORT: String(base),
    PARLEY_KAFKA_CLUSTER_CONTROLLER_PORT: String(base + 5),
    PARLEY_NODE: process.execPath,
  };
  const stack = async (args: string[], timeoutMs: number): Promise<RunResult> => {
    const result = await run('bash', ['scripts/stack.sh', ...args, '--brokers', '3'], timeoutMs, env);
    if (result.code !== 0) throw new Error(`stack.sh ${args.join(' ')} failed (${result.code}):\n${result.stderr.slice(-3000)}`);
    return result;
  };
  const brokers = [0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(',');
  try {
    await stack(['up', 'kafka'], 300_000);
  } catch (error) {
    await run('bash', ['scripts/stack.sh', 'down', '--brokers', '3', '--purge'], 120_000, env);
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const admin = new Kafka({
    clientId: 'parley-test-brokers',
    brokers: brokers.split(','),
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 1_000 },
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();

  /**
   * The admin client's metadata may still name a broker just stopped; its
   * connection is refused until the client learns the new cluster state.
   * Asking again shortly is what any Kafka client does.
   */
  const retrying = async <T>(ask: () => Promise<T>): Promise<T> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        return await ask();
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const replication: BrokerCluster['replication'] = (prefix) =>
    retrying(async () => {
      const names = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      const { topics } = await admin.fetchTopicMetadata({ topics: names });
      return topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionId,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
        })),
      );
    });
  const stopped = new Set<number>();
  const start = async (...nodes: number[]) => {
    const started = Date.now();
    await stack(['start-broker', ...nodes.map(String)], 300_000);
    for (const node of nodes) stopped.delete(node);
    return Date.now() - started;
  };

  return {
    brokers,
    nodes: [1, 2, 3],
    async stop(node, how) {
      stopped.add(node);
      await stack(['stop-broker', String(node), ...(how === 'kill' ? ['--kill'] : [])], 120_000);
    },
    start,
    async startStopped() {
      if (stopped.size > 0) await start(...stopped);
    },
    leaderOf: (topic, partition) =>
      retrying(async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const leader = topics[0]?.partitions.find((p) => p.partitionId === partition)?.leader;
        if (leader === undefined || leader < 0) throw new Error(`${topic}/${partition} has no leader`);
        return leader;
      }),
    replication,
    async destroy() {
      await admin.disconnect().catch(() => undefined);
      const down = await run('bash', ['scripts/stack.sh', 'down', '--brokers', '3', '--purge'], 180_000, env);
      if (down.code !== 0) console.warn(`[faults] stopping the three brokers failed:\n${down.stderr}`);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
