// The distributed adapter of the log port: Apache Kafka through kafkajs.
//
//   const log = createKafkaLog({ brokers: ['kafka-1:9092'], clientId: 'parley' });
//
// Creating it connects nothing; clients connect on first use. Pieces:
// kafka/appender.ts (idempotent producer, acks=-1, exact positions),
// kafka/reader.ts (read() as plain fetches), kafka/member.ts (consume():
// groups, onAssigned/onRevoked, commits), kafka/assigner.ts (sticky
// assignment, handover claims), kafka/logging.ts (kafkajs logs).
//
// Where Kafka differs from the embedded log, and what this adapter does:
// * Offsets may have gaps (transaction markers, compaction); Parley writes
//   neither, so in practice they are gapless, as the fencing check expects.
// * A rejected append's outcome is unknown (the records may have landed).
// * Rebalances take a heartbeat or a fetch round to be noticed and a
//   JoinGroup round to complete (see kafka/member.ts for the exact guarantees
//   around onAssigned/onRevoked and their limits).
// * Partition counts are fixed when a topic is created; ensureTopics never
//   changes an existing topic (partitions, retention or anything else).
// * kafkajs has no group-less consumer: `group: null` runs in a throwaway
//   group of one (deleted on stop), and read() uses plain Fetch requests
//   (kafka/reader.ts explains why and how).
// * Concurrent appends are coalesced into one produce request (kafkajs
//   serialises an idempotent producer's requests anyway).

import { randomUUID } from 'node:crypto';
import kafkajs, { type Admin, type ITopicMetadata, type Kafka, type RetryOptions } from 'kafkajs';
import {
  chosenPartitions,
  murmur2Partition,
  type AppendRecord,
  type ConsumeOptions,
  type Consumer,
  type Log,
  type LogRecord,
  type LogWrite,
  type Position,
  type TopicSpec,
} from './port.ts';
import './kafka/kafkajs-patches.ts';
import { Appender, type RecordToSend } from './kafka/appender.ts';
import { createLogCreator, kafkajsLevel, type KafkaLogLevel, type LoggerLike } from './kafka/logging.ts';
import { KafkaMember } from './kafka/member.ts';
import { PartitionReader } from './kafka/reader.ts';
import { replicationProblems, UnderReplicatedError, type TopicReplicas } from './kafka/replication.ts';

const { Kafka: KafkaClient, Partitioners, ConfigResourceTypes } = kafkajs;

export interface KafkaLogOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Names this process to the brokers (logs, quotas); group member ids start with it. */
  clientId: string;
  /** Where kafkajs and the adapter log (pino or alike); default: warnings and errors to the console. */
  logger?: LoggerLike;
  /** kafkajs's own log level (default 'warn'; 'info' shows joins and rebalances). */
  kafkaLogLevel?: KafkaLogLevel;
  /** Failures of handlers and background work (default: logger.error, else console.error). */
  onError?: (error: unknown, context: string) => void;

  // ---- connections ----
  /** TCP connect timeout per broker connection. */
  connectionTimeoutMs?: number;
  /** Timeout of one request (a Fetch long-poll adds its own wait to it). */
  requestTimeoutMs?: number;
  /** Retries of admin/metadata/consumer requests: first wait, doubling up to retryMaxMs, this many times. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  retries?: number;

  // ---- topics ----
  /** Replication factor of topics ensureTopics creates; -1 = the broker's default.replication.factor. */
  replicationFactor?: number;
  /** min.insync.replicas of created topics; unset = the broker's default (set 2 with RF 3). */
  minInsyncReplicas?: number;
  /**
   * ensureTopics checks the topics' replication (kafka/replication.ts) and
   * rejects with UnderReplicatedError when they fall short; true: it only warns.
   */
  allowUnderReplicated?: boolean;

  // ---- appends ----
  /**
   * About how long an append keeps retrying while brokers are unreachable or
   * leaders move, before it rejects (Java's delivery.timeout.ms is 120 s).
   */
  appendRetryBudgetMs?: number;
  /** Broker-side wait for all in-sync replicas (ProduceRequest timeout). */
  appendAckTimeoutMs?: number;
  /** Records per coalesced send (concurrent appends share one request); one call is never split. */
  maxAppendBatchRecords?: number;
  /** About the bytes per coalesced send; keep below the broker's message.max.bytes (1 MiB). */
  maxAppendBatchBytes?: number;
  /**
   * Least time between the starts of two produce requests (the producer's
   * linger.ms): appends made sooner wait and share the next. Default 0.
   */
  appendLingerMs?: number;
  /** Told after each produce request the broker acknowledged (metrics). */
  onWrite?: (write: LogWrite) => void;

  // ---- reads ----
  /** Bytes asked for per Fetch in read(). */
  readMaxBytes?: number;

  // ---- consumers ----
  /** The group forgets a member silent this long (heartbeats stop: crash, frozen process). */
  sessionTimeoutMs?: number;
  /** How often a member heartbeats; a rebalance is noticed at a heartbeat, so this bounds that delay. */
  heartbeatIntervalMs?: number;
  /** How long a rebalance waits for members to finish their batch and rejoin. */
  rebalanceTimeoutMs?: number;
  /**
   * Longest wait of an idle fetch (long-poll); new records end it at once.
   * Also the delay before partitions just assigned (or resumed after a failed
   * batch's backoff) are fetched: kafkajs adds them at its next fetch round.
   */
  maxWaitTimeMs?: number;
  maxBytesPerPartition?: number;
  maxBytesPerFetch?: number;
  /**
   * Partitions of one consumer handled at the same time (each still one batch
   * at a time, in order); default: all of them.
   */
  partitionsConsumedConcurrently?: number;
  /** Largest batch handed to eachBatch when the consumer does not say. */
  defaultMaxBatchSize?: number;
  /**
   * A group member commits a partition's position at most this often while it
   * keeps it (and always when it hands it over or stops). Committing after
   * every batch costs a round trip to the coordinator before the next fetch;
   * a crash redelivers at most this long's records, which at-least-once
   * handlers take anyway.
   */
  commitIntervalMs?: number;
  /** First wait before redelivering a failed batch (or retrying onAssigned); doubles per failure. */
  retryBackoffMs?: number;
  retryBackoffMaxMs?: number;
  /** How long a member gaining a partition waits for the previous owner's handover; default: the session timeout. */
  handoverTimeoutMs?: number;
  handoverPollMs?: number;
  /** consume() rejects when its first assignment is not in place by then; default: rebalance + session timeout. */
  joinTimeoutMs?: number;
}

export interface KafkaLog extends Log {
  /** Deletes topics (tests and tooling; Parley never deletes its own). */
  deleteTopics(names: string[]): Promise<void>;
  /** Deletes consumer groups that have no members (tests and tooling). */
  deleteGroups(groupIds: string[]): Promise<void>;
}

const DEFAULTS = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 10_000,
  retryInitialMs: 100,
  retryMaxMs: 2_000,
  retries: 10,
  replicationFactor: -1,
  appendRetryBudgetMs: 120_000,
  appendAckTimeoutMs: 10_000,
  maxAppendBatchRecords: 2_000,
  maxAppendBatchBytes: 900_000,
  appendLingerMs: 0,
  readMaxBytes: 1_048_576,
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  maxBytesPerPartition: 1_048_576,
  maxBytesPerFetch: 10_485_760,
  defaultMaxBatchSize: 500,
  commitIntervalMs: 1_000,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 5_000,
  handoverPollMs: 50,
} as const;

/**
 * Errors after which the same admin request succeeds a moment later: metadata
 * not yet propagated (a topic just created) or a leader that moved.
 */
const TRANSIENT = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'REPLICA_NOT_AVAILABLE',
]);

function isTransient(error: unknown): boolean {
  const type = typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : '';
  if (TRANSIENT.has(type)) return true;
  // kafkajs wraps the last error of its own retries.
  const cause = error instanceof Error ? error.cause : undefined;
  return cause !== undefined && cause !== error && isTransient(cause);
}

/** kafkajs retry settings whose waits add up to about `budgetMs` (100 ms doubling to `maxMs`). */
function retryFor(budgetMs: number, initialMs: number, maxMs: number): RetryOptions {
  let retries = 0;
  let spent = 0;
  for (let wait = initialMs; spent < budgetMs; retries++) {
    spent += wait;
    wait = Math.min(maxMs, wait * 2);
  }
  return { initialRetryTime: initialMs, maxRetryTime: maxMs, multiplier: 2, factor: 0.2, retries };
}

export function createKafkaLog(options: KafkaLogOptions): KafkaLog {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULTS, ...given } as typeof DEFAULTS & KafkaLogOptions;
  const onError =
    options.onError ??
    ((error: unknown, context: string) => {
      if (options.logger) options.logger.error({ err: error }, `[kafka-log] ${context}`);
      else console.error(`[kafka-log] ${context}:`, error);
    });
  const retry: RetryOptions = {
    initialRetryTime: o.retryInitialMs,
    maxRetryTime: o.retryMaxMs,
    multiplier: 2,
    factor: 0.2,
    retries: o.retries,
  };
  const client = (clientRetry: RetryOptions): Kafka =>
    new KafkaClient({
      clientId: o.clientId,
      brokers: o.brokers,
      connectionTimeout: o.connectionTimeoutMs,
      requestTimeout: o.requestTimeoutMs,
      retry: clientRetry,
      logLevel: kafkajsLevel(options.kafkaLogLevel ?? 'warn'),
      logCreator: createLogCreator(options.logger),
    });
  const kafka = client(retry);

  const admin: Admin = kafka.admin({ retry });
  let adminConnected: Promise<void> | null = null;
  const adminReady = async (): Promise<Admin> => {
    adminConnected ??= admin.connect().catch((error: unknown) => {
      adminConnected = null;
      throw error;
    });
    await adminConnected;
    return admin;
  };

  // The producer's own client: kafkajs reconnects a producer's cluster inside
  // a send's retry with the *client's* retry settings and gives up on the
  // whole send when that reconnect does, so the producer's client gets the
  // append budget too (a broker restart takes longer than an admin call
  // should wait).
  const appendRetry = retryFor(o.appendRetryBudgetMs, o.retryInitialMs, o.retryMaxMs);
  const appender = new Appender({
    kafka: client(appendRetry),
    producer: {
      idempotent: true,
      // Idempotence keeps order with up to 5 in flight; kafkajs serialises an
      // idempotent producer's requests per broker anyway, so 1 costs nothing
      // and keeps the strictest guarantee.
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Every record carries its partition; this only silences kafkajs's notice.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: appendRetry,
    },
    ackTimeoutMs: o.appendAckTimeoutMs,
    maxBatchRecords: o.maxAppendBatchRecords,
    maxBatchBytes: o.maxAppendBatchBytes,
    lingerMs: o.appendLingerMs,
    onError,
    onWrite: o.onWrite,
  });

  /** Runs an admin request again while it fails with a transient metadata error. */
  async function retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (!isTransient(error) || attempt >= o.retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(o.retryMaxMs, o.retryInitialMs * 2 ** (attempt - 1))));
      }
    }
  }

  async function watermarks(topic: string): Promise<Map<number, { low: number; high: number }>> {
    const client = await adminReady();
    const offsets = await retrying(() => client.fetchTopicOffsets(topic));
    return new Map(offsets.map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }]));
  }

  const reader = new PartitionReader({
    kafka,
    maxBytes: o.readMaxBytes,
    attempts: o.retries,
    backoffMs: o.retryInitialMs,
    bounds: async (topic, partition) => {
      const bounds = (await watermarks(topic)).get(partition) ?? { low: 0, high: 0 };
      return { start: bounds.low, end: bounds.high };
    },
  });

  /** Partition counts of the topics this log has seen (ensureTopics or first use). */
  const partitionCounts = new Map<string, number>();
  const members = new Set<KafkaMember>();
  let closed = false;
  let closing: Promise<void> | null = null;

  function assertOpen(): void {
    if (closed) throw new Error('the log is closed');
  }

  function unknownTopic(name: string): Error {
    return new Error(`unknown topic ${JSON.stringify(name)}; call ensureTopics first`);
  }

  /** Reads partition counts from the cluster; topics that do not exist are left out. */
  async function loadMetadata(names: string[]): Promise<void> {
    const existing = new Set(await (await adminReady()).listTopics());
    const present = names.filter((n) => existing.has(n));
    if (present.length === 0) return;
    const { topics } = await retrying(() => admin.fetchTopicMetadata({ topics: present }));
    for (const t of topics) partitionCounts.set(t.name, t.partitions.length);
  }

  /** The topic's partition count, fetched on first use; rejects for unknown topics. */
  async function partitionsOf(name: string): Promise<number> {
    let count = partitionCounts.get(name);
    if (count === undefined) {
      await loadMetadata([name]);
      count = partitionCounts.get(name);
      if (count === undefined) throw unknownTopic(name);
    }
    return count;
  }

  function checkPartition(topic: string, count: number, partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
      throw new RangeError(`partition ${partition} out of range for topic ${topic} (${count} partitions)`);
    }
    return partition;
  }

  /**
   * Waits until just-created topics are usable: every partition has a leader
   * in the metadata and its leader answers for it (right after creation the
   * metadata may name a leader that does not host the partition yet).
   */
  async function awaitLeaders(names: string[]): Promise<void> {
    const deadline = Date.now() + o.requestTimeoutMs;
    for (;;) {
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: names });
        if (
          topics.length === names.length &&
          topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
        ) {
          for (const name of names) await admin.fetchTopicOffsets(name);
          return;
        }
      } catch (error) {
        if (!isTransient(error)) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} have no leaders after ${o.requestTimeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Refuses (or, when allowed, warns about) topics less replicated than asked: kafka/replication.ts has the rule. */
  async function checkReplication(described: ITopicMetadata[]): Promise<void> {
    const { resources } = await retrying(() =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: described.map((t) => ({
          type: ConfigResourceTypes.TOPIC,
          name: t.name,
          configNames: ['min.insync.replicas'],
        })),
      }),
    );
    const minInsync = new Map(
      resources.map((r) => [
        r.resourceName,
        Number(r.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue ?? 1),
      ]),
    );
    const problems = replicationProblems(
      described.map((t): TopicReplicas => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: p.replicas, isr: p.isr })),
        minInsyncReplicas: minInsync.get(t.name) ?? 1,
      })),
      {
        replicationFactor: o.replicationFactor,
        ...(options.minInsyncReplicas === undefined ? {} : { minInsyncReplicas: options.minInsyncReplicas }),
      },
    );
    if (problems.length === 0) return;
    if (!options.allowUnderReplicated) throw new UnderReplicatedError(problems);
    for (const problem of problems) {
      const fields = { code: 'kafka_under_replicated', problem };
      if (options.logger) options.logger.warn(fields, 'under-replicated topic (PARLEY_KAFKA_ALLOW_UNDER_REPLICATED=true)');
      else console.warn(`[kafka-log] under-replicated topic (allowed): ${problem}`);
    }
  }

  const log: KafkaLog = {
    async ensureTopics(topics: TopicSpec[]): Promise<void> {
      assertOpen();
      if (topics.length === 0) return;
      const client = await adminReady();
      const existing = new Set(await client.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        // Another instance may create the same topics at the same moment:
        // kafkajs answers false when they all already exist, and the leader
        // wait below covers both cases.
        await client.createTopics({
          waitForLeaders: false,
          topics: missing.map((t) => ({
            topic: t.name,
            numPartitions: t.partitions,
            replicationFactor: o.replicationFactor,
            configEntries: [
              { name: 'retention.ms', value: String(t.retentionMs ?? -1) },
              ...(options.minInsyncReplicas === undefined
                ? []
                : [{ name: 'min.insync.replicas', value: String(options.minInsyncReplicas) }]),
            ],
          })),
        });
      }
      const names = topics.map((t) => t.name);
      if (missing.length > 0) await awaitLeaders(missing.map((t) => t.name));
      const { topics: described } = await retrying(() => client.fetchTopicMetadata({ topics: names }));
      for (const t of described) partitionCounts.set(t.name, t.partitions.length);
      await checkReplication(described);
    },

    partitionCount(topic: string): number {
      assertOpen();
      const count = partitionCounts.get(topic);
      if (count === undefined) throw unknownTopic(topic);
      return count;
    },

    partitionForKey(topic: string, key: string): number {
      return murmur2Partition(key, log.partitionCount(topic));
    },

    async append(topic: string, records: AppendRecord[]): Promise<Position[]> {
      assertOpen();
      const count = await partitionsOf(topic);
      if (records.length === 0) return [];
      // Validated before queueing so a bad call fails alone, not its send.
      const toSend: RecordToSend[] = records.map((r) => ({
        key: r.key,
        value: r.value,
        headers: r.headers,
        partition: r.partition === undefined ? murmur2Partition(r.key, count) : checkPartition(topic, count, r.partition),
      }));
      return appender.append(topic, toSend);
    },

    async read(topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]> {
      assertOpen();
      checkPartition(topic, await partitionsOf(topic), partition);
      if (limit <= 0) return [];
      return reader.read(topic, partition, Math.max(0, offset), limit);
    },

    async endOffset(topic: string, partition: number): Promise<number> {
      assertOpen();
      checkPartition(topic, await partitionsOf(topic), partition);
      return (await watermarks(topic)).get(partition)?.high ?? 0;
    },

    async endOffsets(topic: string): Promise<number[]> {
      assertOpen();
      const count = await partitionsOf(topic);
      const bounds = await watermarks(topic);
      return Array.from({ length: count }, (_, partition) => bounds.get(partition)?.high ?? 0);
    },

    async startOffset(topic: string, partition: number): Promise<number> {
      assertOpen();
      checkPartition(topic, await partitionsOf(topic), partition);
      return (await watermarks(topic)).get(partition)?.low ?? 0;
    },

    async consume(consumeOptions: ConsumeOptions): Promise<Consumer> {
      assertOpen();
      const { topic } = consumeOptions;
      const count = await partitionsOf(topic);
      chosenPartitions(consumeOptions, count); // refuses what the options cannot mean
      const latest =
        consumeOptions.from === 'latest' ? new Map([...(await watermarks(topic))].map(([p, { high }]) => [p, high])) : null;
      const sessionTimeoutMs = o.sessionTimeoutMs;
      const member = new KafkaMember({
        kafka,
        admin: await adminReady(),
        topic,
        options: consumeOptions,
        // Without a group: a group of one, named so an operator can tell what it is.
        groupId: consumeOptions.group ?? `${o.clientId}.ungrouped.${randomUUID()}`,
        maxBatchSize: Math.max(1, consumeOptions.maxBatchSize ?? o.defaultMaxBatchSize),
        latest,
        watermarks,
        onError,
        tuning: {
          sessionTimeoutMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          commitIntervalMs: o.commitIntervalMs,
          rebalanceTimeoutMs: o.rebalanceTimeoutMs,
          ...fetchWaiting(consumeOptions.maxDelayMs ?? 0, o.maxWaitTimeMs),
          maxBytesPerPartition: o.maxBytesPerPartition,
          maxBytes: o.maxBytesPerFetch,
          partitionsConsumedConcurrently: Math.max(1, options.partitionsConsumedConcurrently ?? count),
          retryBackoffMs: o.retryBackoffMs,
          retryBackoffMaxMs: o.retryBackoffMaxMs,
          handoverTimeoutMs: options.handoverTimeoutMs ?? sessionTimeoutMs,
          handoverPollMs: o.handoverPollMs,
          joinTimeoutMs: options.joinTimeoutMs ?? o.rebalanceTimeoutMs + sessionTimeoutMs,
          retry,
        },
      });
      members.add(member);
      try {
        await member.start();
      } catch (error) {
        members.delete(member);
        throw error;
      }
      let stopping: Promise<void> | null = null;
      return {
        stop: () => {
          stopping ??= member.stop().finally(() => members.delete(member));
          return stopping;
        },
      };
    },

    close(): Promise<void> {
      closing ??= (async () => {
        // Everyone stops at once; handlers may still append while their last
        // batch finishes, and those appends are sent before the producer goes.
        await Promise.allSettled([...members].map((m) => m.stop()));
        members.clear();
        await appender.close();
        closed = true;
        await Promise.allSettled([reader.close(), adminConnected ? admin.disconnect() : undefined]);
      })();
      return closing;
    },

    async deleteTopics(names: string[]): Promise<void> {
      if (names.length === 0) return;
      await (await adminReady()).deleteTopics({ topics: names });
      for (const name of names) partitionCounts.delete(name);
    },

    async deleteGroups(groupIds: string[]): Promise<void> {
      if (groupIds.length === 0) return;
      await (await adminReady()).deleteGroups(groupIds);
    },
  };
  return log;
}

/**
 * How a consumer's fetches wait at the broker. By default a fetch returns as
 * soon as one record is there (minBytes 1) and an idle one after
 * maxWaitTimeMs. A consumer that may see records late (ConsumeOptions.maxDelayMs)
 * has its fetches held until a batch's worth of bytes or that delay: one fetch
 * per interval instead of one per record.
 */
function fetchWaiting(maxDelayMs: number, idleWaitMs: number): { maxWaitTimeMs: number; minBytes: number } {
  return maxDelayMs > 0
    ? { maxWaitTimeMs: maxDelayMs, minBytes: GATHERED_FETCH_BYTES }
    : { maxWaitTimeMs: idleWaitMs, minBytes: 1 };
}

/** Enough records (~100 chat messages) to be worth a fetch for a consumer that may wait. */
const GATHERED_FETCH_BYTES = 64 * 1024;
