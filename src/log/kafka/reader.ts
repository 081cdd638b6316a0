// read(topic, partition, offset, limit) as plain Fetch requests to the
// partition leader — no consumer group, nothing joined, nothing committed.
//
// kafkajs has no public fetch API: its only reader is the group consumer,
// whose join costs a rebalance round (seconds on a broker with the default
// group.initial.rebalance.delay.ms), far too slow for the command processor's
// restore, which reads every partition page by page. So this uses kafkajs's
// own Cluster object, built by the Kafka client with the adapter's settings
// (the same brokers, timeouts, logger and retry as every other client), and
// its broker.fetch. These are kafkajs internals; kafkajs 2.2.4 is the last
// release and is pinned, and the Kafka adapter's integration suite exercises
// this path on every run, so a change would fail there first.

import type { Kafka } from 'kafkajs';
import type { LogRecord } from '../port.ts';
import { offsetOf, toLogRecord, type FetchedMessage } from './records.ts';

/** The parts of kafkajs's internal Cluster and Broker used here. */
interface InternalBroker {
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{
    responses: {
      topicName: string;
      partitions: { partition: number; highWatermark: string; messages: FetchedMessage[] }[];
    }[];
  }>;
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<InternalBroker>;
}

type CreateCluster = (options: {
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  isolationLevel?: number;
}) => InternalCluster;

const READ_COMMITTED = 1;

/** The Kafka client's private cluster factory (a symbol-keyed property in kafkajs 2.x). */
function clusterFactory(kafka: Kafka): CreateCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = symbol ? (kafka as unknown as Record<symbol, unknown>)[symbol] : undefined;
  if (typeof factory !== 'function') {
    throw new Error(
      'kafkajs internals changed: the Kafka client has no private createCluster; the Kafka log adapter ' +
        'needs it for read() (see src/log/kafka/reader.ts)',
    );
  }
  return factory as CreateCluster;
}

export interface ReaderSettings {
  kafka: Kafka;
  /** Bytes asked for per Fetch (Kafka always returns at least one record batch). */
  maxBytes: number;
  /** Attempts of one Fetch on retriable errors (stale leader, lost connection). */
  attempts: number;
  backoffMs: number;
  /** Low and high watermark of a partition, for reads outside the log's range. */
  bounds(topic: string, partition: number): Promise<{ start: number; end: number }>;
}

const STALE_METADATA = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

function errorType(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'type' in error ? String(error.type) : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** Partitions whose read-ahead is kept (least recently read dropped first). */
const READ_AHEAD_ENTRIES = 64;

export class PartitionReader {
  readonly #settings: ReaderSettings;
  #cluster: InternalCluster | null = null;
  #connected: Promise<void> | null = null;
  /**
   * A Fetch returns up to maxBytes, usually far more than `limit` records; the
   * rest is kept per partition, so the next read from where this one ended (a
   * restore reading page after page) is served without fetching it again.
   * Records below the high watermark never change, so keeping them is safe.
   */
  readonly #ahead = new Map<string, { from: number; records: LogRecord[] }>();

  constructor(settings: ReaderSettings) {
    this.#settings = settings;
  }

  async read(topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]> {
    const key = `${topic}\u0000${partition}`;
    const ahead = this.#ahead.get(key);
    this.#ahead.delete(key);
    let records: LogRecord[] = [];
    let cursor = offset;
    if (ahead && ahead.from === offset) {
      records = ahead.records.slice(0, limit);
      if (ahead.records.length > limit) {
        this.#keep(key, { from: records[records.length - 1]!.offset + 1, records: ahead.records.slice(limit) });
        return records;
      }
      cursor = records.length > 0 ? records[records.length - 1]!.offset + 1 : offset;
    }
    while (records.length < limit) {
      const fetched = await this.#fetchFrom(topic, partition, cursor);
      if (fetched === null) break; // past the end
      const { messages, highWatermark } = fetched;
      const surplus: LogRecord[] = [];
      let last = -1;
      for (const message of messages) {
        const at = offsetOf(message.offset);
        last = Math.max(last, at);
        // A fetch starts at the record batch holding `cursor`; control records
        // (transaction markers) take offsets but are not records.
        if (at < cursor || message.isControlRecord) continue;
        if (records.length < limit) records.push(toLogRecord(topic, partition, message));
        else surplus.push(toLogRecord(topic, partition, message));
      }
      if (surplus.length > 0) {
        this.#keep(key, { from: records[records.length - 1]!.offset + 1, records: surplus });
        break;
      }
      if (last < cursor) break; // nothing (more) up to the high watermark
      cursor = last + 1;
      if (cursor >= highWatermark) break;
    }
    return records;
  }

  #keep(key: string, entry: { from: number; records: LogRecord[] }): void {
    this.#ahead.set(key, entry);
    if (this.#ahead.size > READ_AHEAD_ENTRIES) this.#ahead.delete(this.#ahead.keys().next().value!);
  }

  async close(): Promise<void> {
    this.#ahead.clear();
    const cluster = this.#cluster;
    this.#cluster = null;
    this.#connected = null;
    await cluster?.disconnect();
  }

  async #ready(): Promise<InternalCluster> {
    if (!this.#cluster) {
      const cluster = clusterFactory(this.#settings.kafka)({
        allowAutoTopicCreation: false,
        isolationLevel: READ_COMMITTED,
      });
      this.#cluster = cluster;
      this.#connected = cluster.connect();
    }
    const cluster = this.#cluster;
    await this.#connected;
    return cluster;
  }

  /** One Fetch from `offset`; null when `offset` is at or past the end. */
  async #fetchFrom(
    topic: string,
    partition: number,
    offset: number,
  ): Promise<{ messages: FetchedMessage[]; highWatermark: number } | null> {
    const { attempts, backoffMs, maxBytes } = this.#settings;
    let fetchOffset = offset;
    for (let attempt = 1; ; attempt++) {
      try {
        const cluster = await this.#ready();
        await cluster.addTargetTopic(topic);
        const leaders = cluster.findLeaderForPartitions(topic, [partition]);
        const nodeId = Object.keys(leaders)[0];
        if (nodeId === undefined)
          throw Object.assign(new Error(`no leader for ${topic}[${partition}]`), { type: 'LEADER_NOT_AVAILABLE' });
        const broker = await cluster.findBroker({ nodeId });
        // maxWaitTime 0: answer at once, also when there is nothing to read.
        const { responses } = await broker.fetch({
          maxWaitTime: 0,
          minBytes: 0,
          maxBytes,
          isolationLevel: READ_COMMITTED,
          topics: [{ topic, partitions: [{ partition, fetchOffset: String(fetchOffset), maxBytes }] }],
        });
        const data = responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
        if (!data) return { messages: [], highWatermark: fetchOffset };
        return { messages: data.messages, highWatermark: offsetOf(data.highWatermark) };
      } catch (error) {
        if (errorType(error) === 'OFFSET_OUT_OF_RANGE') {
          // Below the first record kept: read from there (as the embedded log
          // does); at or past the end: nothing to read.
          const { start, end } = await this.#settings.bounds(topic, partition);
          if (fetchOffset < start && start < end) {
            fetchOffset = start;
            continue;
          }
          return null;
        }
        const retriable =
          STALE_METADATA.has(errorType(error) ?? '') ||
          [
            'KafkaJSConnectionError',
            'KafkaJSConnectionClosedError',
            'KafkaJSBrokerNotFound',
            'KafkaJSRequestTimeoutError',
            'KafkaJSNumberOfRetriesExceeded',
          ].includes(errorName(error) ?? '');
        if (!retriable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
        try {
          await this.#cluster?.refreshMetadata();
        } catch {
          // the next attempt reports it
        }
      }
    }
  }
}
