// The log port: an append-only, partitioned, durable log with consumer groups.
// Two adapters implement it (embedded on node:sqlite, Kafka through kafkajs) and
// both pass the same contract suite (log/log.contract.ts). Nothing outside
// compose.ts knows which one it talks to.

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Milliseconds a record is kept; `null` keeps it forever. */
  retentionMs: number | null;
  /**
   * Losing the newest records in a power failure is harmless (signals,
   * outcomes): the embedded log commits appends to it without an fsync. Kafka
   * ignores it (acks=all for every topic).
   */
  ephemeral?: boolean;
}

export type Headers = Record<string, string>;

export interface AppendRecord {
  /** Routing key (aggregate id). Records with the same key keep their order. */
  key: string;
  value: Buffer;
  headers?: Headers;
  /** Explicit partition; when absent the adapter uses `partitionForKey`. */
  partition?: number;
}

export interface LogRecord {
  topic: string;
  partition: number;
  /** Position inside the partition: 0, 1, 2 … (Kafka may leave gaps; never reorders). */
  offset: number;
  key: string;
  value: Buffer;
  headers: Headers;
  /** Append time, epoch ms. */
  timestamp: number;
}

export interface Position {
  topic: string;
  partition: number;
  offset: number;
}

export interface Batch {
  topic: string;
  partition: number;
  records: LogRecord[];
}

export interface ConsumeOptions {
  topic: string;
  /**
   * Consumer group. Members of one group share the partitions; the group's
   * committed offsets survive restarts. `null` = no group: this consumer reads
   * every partition, commits nothing (gateways, outcome listeners, replay).
   */
  group: string | null;
  /** Where to start a partition that has no committed (or sought) offset. */
  from: 'earliest' | 'latest';
  /**
   * Without a group only: read just these partitions instead of every one (an
   * instance's outcomes are keyed by its id, so they all land in one).
   */
  partitions?: readonly number[];
  /**
   * Where to start each partition, when the consumer keeps its own offsets
   * (projections store them beside their rows). Returning `null` falls back to
   * the committed offset, then to `from`.
   */
  startAt?: (partition: number) => Promise<number | null>;
  // The handlers may answer at once or with a promise; the log awaits either.
  /** Called before any batch of a newly assigned partition. */
  onAssigned?: (partitions: number[]) => Promise<void> | void;
  /** Called after the last batch of a partition taken away (rebalance, stop). */
  onRevoked?: (partitions: number[]) => Promise<void> | void;
  /**
   * Handles one batch. When it returns (or its promise resolves), the group's
   * offset moves past the batch (committed). When it throws, the batch is
   * delivered again.
   */
  eachBatch: (batch: Batch) => Promise<void> | void;
  /** Largest batch handed to eachBatch. */
  maxBatchSize?: number;
  /**
   * How late this consumer may see a record, so the log can hand it fewer,
   * larger batches: new records are gathered for up to this long before the
   * batch goes out (Kafka: a fetch waits for this long or for a batch's worth
   * of bytes). For consumers nobody waits on and whose decisions do not go
   * stale meanwhile (process managers), where a read per message costs more
   * than the delay does. Default 0: a record is delivered as soon as it is
   * appended.
   */
  maxDelayMs?: number;
}

export interface Consumer {
  stop(): Promise<void>;
}

/**
 * One write the log made to its storage: a transaction of the embedded log
 * (appends, offset commits or both), a produce request on Kafka. Told to an
 * adapter's onWrite, for the operator's metrics: records per write is how well
 * appends are batched (PARLEY_LOG_LINGER_MS).
 */
export interface LogWrite {
  /** Records appended by this write (0 for a transaction of offset commits alone). */
  records: number;
}

export interface Log {
  /** Creates missing topics; existing ones are left as they are. */
  ensureTopics(topics: TopicSpec[]): Promise<void>;
  partitionCount(topic: string): number;
  /** The partition a key lands in (same function for every topic). */
  partitionForKey(topic: string, key: string): number;
  /**
   * Appends records durably; resolves with their positions in input order once
   * they can no longer be lost (fsync'd / acks=all).
   */
  append(topic: string, records: AppendRecord[]): Promise<Position[]>;
  /** Reads committed records of one partition, from `offset`, at most `limit`. */
  read(topic: string, partition: number, offset: number, limit: number): Promise<LogRecord[]>;
  /** The offset the next appended record of the partition will get. */
  endOffset(topic: string, partition: number): Promise<number>;
  /** Every partition's end offset, index = partition, in one request (lag metrics read them at each scrape). */
  endOffsets(topic: string): Promise<number[]>;
  /** The first offset still held (retention may have removed older records). */
  startOffset(topic: string, partition: number): Promise<number>;
  consume(options: ConsumeOptions): Promise<Consumer>;
  close(): Promise<void>;
}

/**
 * The partitions a consume() call reads: `partitions` when given (group-less
 * consumers only — a group shares its topic's partitions among its members),
 * else every one. Both adapters check alike.
 */
export function chosenPartitions(options: Pick<ConsumeOptions, 'group' | 'partitions' | 'topic'>, count: number): number[] {
  const all = Array.from({ length: count }, (_, p) => p);
  if (options.partitions === undefined) return all;
  if (options.group !== null) throw new Error(`consumer group ${options.group}: partitions are for group-less consumers`);
  const chosen = [...new Set(options.partitions)].sort((a, b) => a - b);
  const wrong = chosen.filter((p) => !Number.isInteger(p) || p < 0 || p >= count);
  if (wrong.length > 0) throw new Error(`${options.topic} has partitions 0–${count - 1}, not ${wrong.join(', ')}`);
  if (chosen.length === 0) throw new Error(`a consumer of ${options.topic} must read at least one partition`);
  return chosen;
}

/** Kafka's default partitioner (murmur2, positive) so both adapters route a key alike. */
export function murmur2Partition(key: string, partitions: number): number {
  const data = Buffer.from(key, 'utf8');
  const length = data.length;
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  let h = seed ^ length;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4 + 0]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= (data[(length & ~3) + 2]! & 0xff) << 16;
    // falls through
    case 2:
      h ^= (data[(length & ~3) + 1]! & 0xff) << 8;
    // falls through
    case 1:
      h ^= data[length & ~3]! & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return (h & 0x7fffffff) % partitions;
}
