// Group commit for the embedded log. Every append() and offset commit is queued
// and the queue is flushed in one SQLite transaction, so the processor's many
// small appends (one per command) and the commits of concurrent partition
// workers share a single fsync instead of paying one each.
//
// The flush runs in setImmediate, not a microtask: it then gathers everything
// this turn of the event loop produced — all I/O callbacks of the poll phase
// and every promise chain however deep — at the cost of no real delay. With a
// microtask, writers whose awaits sit at different depths (12 partition
// workers appending through different call paths) split into ~4 transactions
// where one suffices (measured: 3.1 vs 12 records per transaction).
//
// Writes may also linger (lingerMs, as a Kafka producer's linger.ms). A durable
// append waits until lingerMs after the last fsync'd transaction began; any
// other write (an offset commit, an ephemeral append) until lingerMs after the
// last transaction of any kind, or rides along with the next durable one. So
// under load the appends and offset commits of several turns share one
// transaction and one fsync, and — costlier than the fsync itself — every
// consumer downstream wakes once for them instead of once per turn (bench/README,
// fix 23). After a quiet spell a durable append commits in its own turn: the
// wait is only paid when fsyncs would follow each other that closely.

import type { LogRecord, LogWrite, Position } from '../port.ts';
import type { RecordToWrite, SqliteStore, TopicRow } from './store.ts';

interface AppendOp {
  kind: 'append';
  topic: TopicRow;
  records: RecordToWrite[];
  resolve: (positions: Position[]) => void;
  reject: (error: unknown) => void;
}

interface CommitOp {
  kind: 'commit';
  group: string;
  topic: TopicRow;
  partition: number;
  offset: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

type WriteOp = AppendOp | CommitOp;

export interface WriterOptions {
  /** Records per transaction before the rest waits for the next turn of the event loop. */
  maxWriteBatch: number;
  clock: () => number;
  /** Told, after they are committed, the records each partition of `topic` got, in offset order. */
  onAppended: (topic: TopicRow, appended: ReadonlyMap<number, LogRecord[]>) => void;
  /** Topics whose appends need no fsync (TopicSpec.ephemeral). */
  isEphemeral: (topicId: number) => boolean;
  /** How long writes linger for others to share their transaction (see above; 0: never). */
  lingerMs: number;
  /** Told after each committed transaction. */
  onWrite?: ((write: LogWrite) => void) | undefined;
}

export class BatchWriter {
  readonly #store: SqliteStore;
  readonly #options: WriterOptions;
  #queue: WriteOp[] = [];
  #scheduled = false;
  #idle: Promise<void> = Promise.resolve();
  #markIdle: (() => void) | null = null;
  /** When the last transaction began, and the last fsync'd one (performance.now()), for lingerMs. */
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #lastSyncAt = Number.NEGATIVE_INFINITY;
  /** The lingering flush, and when it is due; null while none waits on a timer. */
  #timer: NodeJS.Timeout | null = null;
  #dueAt = 0;

  constructor(store: SqliteStore, options: WriterOptions) {
    this.#store = store;
    this.#options = options;
  }

  append(topic: TopicRow, records: RecordToWrite[]): Promise<Position[]> {
    return new Promise((resolve, reject) => {
      this.#enqueue({ kind: 'append', topic, records, resolve, reject });
    });
  }

  commit(group: string, topic: TopicRow, partition: number, offset: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#enqueue({ kind: 'commit', group, topic, partition, offset, resolve, reject });
    });
  }

  /** Resolves once everything queued so far is written (used by close). */
  drained(): Promise<void> {
    return this.#idle;
  }

  #enqueue(op: WriteOp): void {
    this.#queue.push(op);
    const due = (this.#mustSync(op) ? this.#lastSyncAt : this.#lastWriteAt) + this.#options.lingerMs;
    if (this.#scheduled) {
      // A durable append may be due before the offset commits lingering ahead of it.
      if (this.#timer !== null && due < this.#dueAt) this.#scheduleFlush(due);
      return;
    }
    this.#scheduled = true;
    this.#idle = new Promise((resolve) => {
      this.#markIdle = resolve;
    });
    this.#scheduleFlush(due);
  }

  /** Flushes at `due`, or after this turn of the event loop when that has passed. */
  #scheduleFlush(due: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const wait = due - performance.now();
    if (wait <= 0) {
      setImmediate(() => this.#flush());
      return;
    }
    this.#dueAt = due;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#flush();
    }, wait);
  }

  /** Whether the op's commit must be fsync'd: an append that must survive a power failure. */
  #mustSync(op: WriteOp): boolean {
    return op.kind === 'append' && !this.#options.isEphemeral(op.topic.id);
  }

  #flush(): void {
    const batch = this.#takeBatch();
    this.#write(batch);
    if (this.#queue.length > 0) {
      // More than one transaction's worth is waiting: let I/O and timers run
      // between transactions so a huge burst cannot starve the event loop.
      setImmediate(() => this.#flush());
      return;
    }
    this.#scheduled = false;
    this.#markIdle?.();
    this.#markIdle = null;
  }

  /** Takes whole ops (an append call is never split) up to maxWriteBatch records. */
  #takeBatch(): WriteOp[] {
    let count = 0;
    let taken = 0;
    for (const op of this.#queue) {
      const size = op.kind === 'append' ? op.records.length : 1;
      if (taken > 0 && count + size > this.#options.maxWriteBatch) break;
      count += size;
      taken++;
    }
    return this.#queue.splice(0, taken);
  }

  #write(batch: WriteOp[]): void {
    try {
      const results = this.#transact(batch);
      for (let i = 0; i < batch.length; i++) settle(batch[i]!, results[i] ?? []);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One op poisoned the shared transaction; retry each alone so only the
      // op that really fails is rejected.
      for (const op of batch) this.#write([op]);
    }
  }

  /** One transaction for the whole batch; returns each op's positions (empty for commits). */
  #transact(batch: WriteOp[]): Position[][] {
    // fsync only when the batch holds an append that must survive a power
    // failure; offset commits and ephemeral topics' appends do not.
    const mustSync = batch.some((op) => this.#mustSync(op));
    this.#lastWriteAt = performance.now();
    if (mustSync) this.#lastSyncAt = this.#lastWriteAt;
    const timestamp = this.#options.clock();
    // Next offset per partition, per topic id, carried across ops of this transaction.
    const next = new Map<number, Map<number, number>>();
    // What each partition got, per topic id, as consumers will read it.
    const appended = new Map<number, { topic: TopicRow; byPartition: Map<number, LogRecord[]> }>();
    const results = this.#store.transaction(mustSync ? 'full' : 'normal', () => {
      const out: Position[][] = [];
      for (const op of batch) {
        if (op.kind === 'commit') {
          this.#store.commitOffset(op.group, op.topic.id, op.partition, op.offset);
          out.push([]);
          continue;
        }
        let topicNext = next.get(op.topic.id);
        if (!topicNext) {
          topicNext = new Map();
          next.set(op.topic.id, topicNext);
        }
        const offsets = this.#store.insertRecords(op.topic, op.records, timestamp, topicNext);
        collect(appended, op.topic, op.records, offsets, timestamp);
        out.push(
          op.records.map((record, i) => ({
            topic: op.topic.name,
            partition: record.partition,
            offset: offsets[i]!,
          })),
        );
      }
      return out;
    });
    for (const { topic, byPartition } of appended.values()) this.#options.onAppended(topic, byPartition);
    this.#options.onWrite?.({ records: results.reduce((sum, positions) => sum + positions.length, 0) });
    return results;
  }
}

/** Adds one append's records, as consumers read them, to what its partitions got in this transaction. */
function collect(
  appended: Map<number, { topic: TopicRow; byPartition: Map<number, LogRecord[]> }>,
  topic: TopicRow,
  records: RecordToWrite[],
  offsets: number[],
  timestamp: number,
): void {
  let entry = appended.get(topic.id);
  if (!entry) {
    entry = { topic, byPartition: new Map() };
    appended.set(topic.id, entry);
  }
  records.forEach((record, i) => {
    let partitionRecords = entry.byPartition.get(record.partition);
    if (!partitionRecords) {
      partitionRecords = [];
      entry.byPartition.set(record.partition, partitionRecords);
    }
    partitionRecords.push({
      topic: topic.name,
      partition: record.partition,
      offset: offsets[i]!,
      key: record.key,
      // Copies: the caller keeps its own buffer and headers; consumers get these.
      value: ownCopy(record.value),
      headers: { ...record.headers },
      timestamp,
    });
  });
}

function settle(op: WriteOp, positions: Position[]): void {
  if (op.kind === 'append') op.resolve(positions);
  else op.resolve();
}

/**
 * The bytes in a buffer of their own. Buffer.from would take a small one from
 * Node's shared 8 KiB pool, and a record kept in the tail cache would then keep
 * its whole slab alive.
 */
function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.byteLength);
  copy.set(bytes);
  return copy;
}
