// The embedded adapter of the log port: a durable, partitioned append-only log
// in one node:sqlite file, with Kafka's partition / offset / consumer-group
// semantics so the rest of Parley cannot tell it from Kafka.
//
//   const log = openSqliteLog({ path: 'data/log.db' });
//
// Several processes may open the same file: appends stay gapless (offsets are
// read under SQLite's write lock) and consumers notice others' commits by a
// slow poll. Consumer groups, however, are coordinated inside one process
// only: members in two processes would each take every partition.
//
// Opening is synchronous (DatabaseSync). Pieces: sqlite/store.ts (schema and
// statements), sqlite/writer.ts (group commit), sqlite/consumers.ts (workers,
// groups), sqlite/assignment.ts (who gets which partition), sqlite/wake.ts.

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
import { GroupCoordinator, Member, type ConsumerBackend } from './sqlite/consumers.ts';
import { SqliteStore, type Durability, type RecordToWrite, type TopicRow } from './sqlite/store.ts';
import { WakeHub } from './sqlite/wake.ts';
import { TailCache } from './sqlite/tail-cache.ts';
import { BatchWriter } from './sqlite/writer.ts';

export interface SqliteLogOptions {
  /** Database file. Created if missing; its directory must exist. */
  path: string;
  /**
   * When an append's promise resolves. 'full' (default): the WAL is fsync'd at
   * every commit, so an acknowledged append survives process kill and power
   * loss — what the port promises. 'normal': the commit reaches the OS but is
   * fsync'd only at checkpoints; it survives SIGKILL and crashes of the
   * process, not power loss or a kernel crash. Group commit makes 'full' cheap
   * enough that 'normal' is only for throwaway setups (tests, demos).
   */
  durability?: Durability;
  /**
   * How often idle consumers check whether another process (a CLI tail, a
   * second writer) committed to the file. Appends of this process wake
   * consumers immediately; this poll only costs one PRAGMA per tick.
   */
  pollIntervalMs?: number;
  /** How often topics with retentionMs drop expired records; 0 = only by sweepRetention(). */
  retentionSweepIntervalMs?: number;
  /**
   * Records written per transaction before the rest of a burst waits for the
   * next turn of the event loop (bounds how long one write blocks it). One
   * append() call is never split.
   */
  maxWriteBatch?: number;
  /**
   * Least time between two fsync'd commits: an append that comes sooner waits
   * out the rest and shares the next commit, and offset commits wait for the
   * next transaction (sqlite/writer.ts says exactly when). Trades up to this
   * much latency, under load only, for fewer commits and larger batches for
   * every consumer. Default 0: never waits.
   */
  lingerMs?: number;
  /**
   * Newest records kept in memory per partition, as this process appended
   * them, for consumers at the tail (sqlite/tail-cache.ts); 0 = read every
   * record from the file.
   */
  tailCacheRecords?: number;
  /** Largest batch handed to eachBatch when the consumer does not say. */
  defaultMaxBatchSize?: number;
  /** First wait before redelivering a failed batch (or retrying onAssigned); doubles per failure. */
  retryBackoffMs?: number;
  /** Ceiling of that doubling wait. */
  retryBackoffMaxMs?: number;
  /** How long a write waits for another process holding the write lock before failing. */
  busyTimeoutMs?: number;
  /**
   * How often a worker thread checkpoints the file's WAL (store/wal-checkpointer.ts);
   * absent: an append's commit does it every 1,000 pages, stalling the event loop.
   */
  checkpointIntervalMs?: number;
  /** Record timestamps and retention cut-offs; replaceable in tests. */
  clock?: () => number;
  /** Where failures of handlers and background work are reported (default: console.error). */
  onError?: (error: unknown, context: string) => void;
  /** Told after each transaction the log commits (metrics). */
  onWrite?: (write: LogWrite) => void;
}

export interface SqliteLog extends Log {
  /**
   * Deletes records older than their topic's retention as of `now` (default:
   * the clock) and moves startOffset past them; returns how many were deleted.
   * Also runs every retentionSweepIntervalMs.
   */
  sweepRetention(now?: number): number;
}

const DEFAULTS = {
  durability: 'full',
  pollIntervalMs: 200,
  retentionSweepIntervalMs: 60_000,
  maxWriteBatch: 10_000,
  defaultMaxBatchSize: 500,
  tailCacheRecords: 256,
  retryBackoffMs: 100,
  retryBackoffMaxMs: 5_000,
  busyTimeoutMs: 5_000,
} as const;

export function openSqliteLog(options: SqliteLogOptions): SqliteLog {
  const clock = options.clock ?? Date.now;
  const onError =
    options.onError ??
    ((error: unknown, context: string) => {
      console.error(`[sqlite-log] ${context}:`, error);
    });
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULTS.pollIntervalMs;
  const defaultMaxBatchSize = options.defaultMaxBatchSize ?? DEFAULTS.defaultMaxBatchSize;

  const store = new SqliteStore({
    path: options.path,
    durability: options.durability ?? DEFAULTS.durability,
    busyTimeoutMs: options.busyTimeoutMs ?? DEFAULTS.busyTimeoutMs,
    backgroundCheckpoints:
      options.checkpointIntervalMs === undefined
        ? undefined
        : { intervalMs: options.checkpointIntervalMs, onError: (error) => onError(error, 'background WAL checkpoint') },
  });
  const hub = new WakeHub();
  const tail = new TailCache(options.tailCacheRecords ?? DEFAULTS.tailCacheRecords);
  /** From memory when this process appended the records asked for, else from the file. */
  const readRecords = (topic: TopicRow, partition: number, offset: number, limit: number): LogRecord[] =>
    tail.read(topic.id, partition, offset, limit) ?? store.read(topic, partition, offset, limit);
  /** Ids of the topics declared ephemeral by this process's ensureTopics (not stored: each process declares them). */
  const ephemeral = new Set<number>();
  const writer = new BatchWriter(store, {
    maxWriteBatch: options.maxWriteBatch ?? DEFAULTS.maxWriteBatch,
    lingerMs: options.lingerMs ?? 0,
    clock,
    onAppended: (topic, appended) => {
      const ends = new Map<number, number>();
      for (const [partition, records] of appended) {
        tail.add(topic.id, partition, records);
        ends.set(partition, records[records.length - 1]!.offset + 1);
      }
      hub.notify(topic.id, ends);
    },
    isEphemeral: (topicId) => ephemeral.has(topicId),
    onWrite: options.onWrite,
  });
  const backend: ConsumerBackend = {
    read: readRecords,
    bounds: (topic, partition) => store.bounds(topic.id, partition),
    committed: (group, topic, partition) => store.committedOffset(group, topic.id, partition),
    commit: (group, topic, partition, offset) => writer.commit(group, topic, partition, offset),
    hub,
    onError,
    retryBackoffMs: options.retryBackoffMs ?? DEFAULTS.retryBackoffMs,
    retryBackoffMaxMs: options.retryBackoffMaxMs ?? DEFAULTS.retryBackoffMaxMs,
  };

  const members = new Map<Member, () => Promise<void>>();
  const coordinators = new Map<string, GroupCoordinator>();
  let nextMemberId = 1;
  let closed = false;
  let closing: Promise<void> | null = null;

  // Poll for commits of other processes only while someone consumes; the
  // interval keeps the process alive exactly as long as a consumer runs.
  let pollTimer: NodeJS.Timeout | null = null;
  let seenVersion = 0;
  const updatePolling = (): void => {
    if (members.size > 0 && pollTimer === null && pollIntervalMs > 0) {
      seenVersion = store.dataVersion();
      pollTimer = setInterval(() => {
        try {
          const version = store.dataVersion();
          if (version !== seenVersion) {
            seenVersion = version;
            hub.notifyAll();
          }
        } catch (error) {
          onError(error, 'poll');
        }
      }, pollIntervalMs);
    } else if (members.size === 0 && pollTimer !== null) {
      clearInterval(pollTimer);
      pollTimer = null;
    }
  };

  /** Drops expired records, from the file and from memory (a lagging consumer must not get them from the cache). */
  const sweep = (now: number): number => {
    const deleted = store.sweepRetention(now);
    if (deleted > 0) tail.clear();
    return deleted;
  };
  const sweepRetention = (now: number = clock()): number => {
    assertOpen();
    return sweep(now);
  };
  const sweepInterval = options.retentionSweepIntervalMs ?? DEFAULTS.retentionSweepIntervalMs;
  // Housekeeping must not keep a finished process alive: unref'd.
  const sweepTimer =
    sweepInterval > 0
      ? setInterval(() => {
          try {
            sweep(clock());
          } catch (error) {
            onError(error, 'retention sweep');
          }
        }, sweepInterval).unref()
      : null;

  function assertOpen(): void {
    if (closed) throw new Error('the log is closed');
  }

  function topicOf(name: string): TopicRow {
    const topic = store.topic(name);
    if (!topic) throw new Error(`unknown topic ${JSON.stringify(name)}; call ensureTopics first`);
    return topic;
  }

  function partitionOf(topic: TopicRow, partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= topic.partitions) {
      throw new RangeError(`partition ${partition} out of range for topic ${topic.name} (${topic.partitions} partitions)`);
    }
    return partition;
  }

  // A promise's executor turns synchronous throws into rejections, as callers
  // of a promise-returning port expect.
  function run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      assertOpen();
      resolve(fn());
    });
  }

  const log: SqliteLog = {
    ensureTopics: (topics: TopicSpec[]) =>
      run(() => {
        store.ensureTopics(topics);
        for (const spec of topics) if (spec.ephemeral) ephemeral.add(topicOf(spec.name).id);
      }),

    partitionCount: (topic: string) => {
      assertOpen();
      return topicOf(topic).partitions;
    },

    partitionForKey: (topic: string, key: string) => {
      assertOpen();
      return murmur2Partition(key, topicOf(topic).partitions);
    },

    append: async (topicName: string, records: AppendRecord[]): Promise<Position[]> => {
      assertOpen();
      const topic = topicOf(topicName);
      if (records.length === 0) return [];
      // Validated before queueing so a bad call fails alone, not the batch.
      const rows: RecordToWrite[] = records.map((r) => ({
        partition: r.partition === undefined ? murmur2Partition(r.key, topic.partitions) : partitionOf(topic, r.partition),
        key: r.key,
        value: r.value,
        headers: r.headers,
      }));
      return writer.append(topic, rows);
    },

    read: (topicName: string, partition: number, offset: number, limit: number): Promise<LogRecord[]> =>
      run(() => {
        const topic = topicOf(topicName);
        if (limit <= 0) return [];
        return readRecords(topic, partitionOf(topic, partition), offset, limit);
      }),

    endOffset: (topicName: string, partition: number) =>
      run(() => {
        const topic = topicOf(topicName);
        return store.bounds(topic.id, partitionOf(topic, partition)).end;
      }),

    endOffsets: (topicName: string) =>
      run(() => {
        const topic = topicOf(topicName);
        return Array.from({ length: topic.partitions }, (_, partition) => store.bounds(topic.id, partition).end);
      }),

    startOffset: (topicName: string, partition: number) =>
      run(() => {
        const topic = topicOf(topicName);
        return store.bounds(topic.id, partitionOf(topic, partition)).start;
      }),

    consume: async (consumeOptions: ConsumeOptions): Promise<Consumer> => {
      assertOpen();
      // close() has taken its list of consumers to stop; a new one would outlive the file.
      if (closing) throw new Error('the log is closing');
      const topic = topicOf(consumeOptions.topic);
      const partitions = chosenPartitions(consumeOptions, topic.partitions);
      const member = new Member({
        id: nextMemberId++,
        topic,
        options: consumeOptions,
        maxBatchSize: Math.max(1, consumeOptions.maxBatchSize ?? defaultMaxBatchSize),
        backend,
      });

      const group = consumeOptions.group;
      let coordinator: GroupCoordinator | null = null;
      if (group !== null) {
        const key = coordinatorKeyOf(group, topic);
        coordinator = coordinators.get(key) ?? null;
        if (!coordinator) {
          coordinator = new GroupCoordinator(topic.partitions, onError);
          coordinators.set(key, coordinator);
        }
      }

      let stopping: Promise<void> | null = null;
      const stop = (): Promise<void> => {
        if (!stopping) {
          member.markStopping();
          const left = coordinator ? coordinator.leave(member) : member.revokeAll();
          stopping = left.finally(() => {
            members.delete(member);
            updatePolling();
            if (group !== null && coordinator?.empty) coordinators.delete(coordinatorKeyOf(group, topic));
          });
        }
        return stopping;
      };
      members.set(member, stop);
      updatePolling();

      // Resolves once this member's first assignment is in place (onAssigned
      // called, start offsets fixed), so records appended afterwards reach it.
      if (coordinator) await coordinator.join(member);
      else await member.assign(partitions);
      return { stop };
    },

    close: (): Promise<void> => {
      closing ??= (async () => {
        // Everyone stops at once, so groups do not shuffle partitions among
        // members that are about to go too. Handlers may still append while
        // their last batch finishes; those appends are written before closing.
        for (const member of members.keys()) member.markStopping();
        await Promise.all([...members.values()].map((stop) => stop()));
        closed = true;
        await writer.drained();
        if (pollTimer) clearInterval(pollTimer);
        if (sweepTimer) clearInterval(sweepTimer);
        await store.close();
      })();
      return closing;
    },

    sweepRetention,
  };
  return log;
}

/** A NUL byte cannot occur in either part, so the key is unambiguous. */
function coordinatorKeyOf(group: string, topic: TopicRow): string {
  return `${group}\u0000${topic.name}`;
}
