// Parley's Kafka log for one benchmark run: the adapter `parley start` opens
// when KAFKA_BROKERS is set, under a namespace of its own (`bench-<random>`),
// with Parley's topics created as main.ts creates them. A run never sees
// another run's records, and `dispose` deletes the namespace's topics and
// consumer groups so the broker does not fill up with them.

import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { createKafkaLog, type KafkaLogOptions } from '../../src/log/kafka-log.ts';
import { namespacedLog } from '../../src/log/namespaced-log.ts';
import type { Log } from '../../src/log/port.ts';
import { topicSpecs } from '../../src/log/topics.ts';

const { Kafka, logLevel } = kafkajs;

/** The broker of the local stack (scripts/stack.sh), unless KAFKA_BROKERS says otherwise. */
export const DEFAULT_BENCH_BROKERS = '127.0.0.1:9092';
/** Commands and outcomes only matter while a run lasts; signals likewise. */
const RUN_RETENTION_MS = 3_600_000;

export function benchKafkaBrokers(): string[] {
  return (process.env.KAFKA_BROKERS || DEFAULT_BENCH_BROKERS)
    .split(',')
    .map((broker) => broker.trim())
    .filter(Boolean);
}

export interface FreshKafkaLog {
  log: Log;
  namespace: string;
  /** Closes the log, then deletes the namespace's topics and consumer groups. */
  dispose(): Promise<void>;
}

export async function openFreshKafkaLog(options: {
  brokers: string[];
  partitions: number;
  logger?: KafkaLogOptions['logger'];
  onError?: KafkaLogOptions['onError'];
}): Promise<FreshKafkaLog> {
  const namespace = `bench-${randomBytes(4).toString('hex')}`;
  const kafka = createKafkaLog({
    brokers: options.brokers,
    clientId: 'parley-bench',
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  const log = namespacedLog(kafka, namespace);
  await log.ensureTopics(
    topicSpecs({ partitions: options.partitions, commandsRetentionMs: RUN_RETENTION_MS, signalsRetentionMs: RUN_RETENTION_MS }),
  );
  return {
    log,
    namespace,
    async dispose() {
      await log.close();
      await deleteNamespace(options.brokers, namespace);
    },
  };
}

/** Best effort: a leftover topic costs disk, not correctness (every run has its own namespace). */
async function deleteNamespace(brokers: string[], namespace: string): Promise<void> {
  const admin = new Kafka({ clientId: 'parley-bench-cleanup', brokers, logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const mine = (name: string) => name.startsWith(`${namespace}.`);
    const topics = (await admin.listTopics()).filter(mine);
    if (topics.length > 0) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter(mine);
    if (groups.length > 0) await admin.deleteGroups(groups);
  } catch (error) {
    console.error(`could not delete the Kafka namespace ${namespace}:`, error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
