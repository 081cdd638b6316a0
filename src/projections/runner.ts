// Runs a projection: consumes the events log and applies each batch to the read
// model in one transaction, together with the offsets it reached. A crash
// between two batches therefore never applies an event twice nor skips one,
// and a stale consumer that sees records another instance already applied
// skips them (the stored offset is checked inside the transaction).

import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import type { DomainEvent } from '../domain/decider.ts';
import type { Consumer, Log, LogRecord } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import type { Database } from '../store/schema.ts';
import type { Engine } from '../store/store.ts';
import { inTransaction } from '../store/transaction.ts';
import type { ProjectionProgress } from './progress.ts';

export interface Projection {
  /** Stable name: the offsets row and the consumer group are keyed by it. */
  name: string;
  /** The log it follows; the events log unless said otherwise. */
  topic?: string;
  /** Applies one event; must only touch this projection's tables. */
  apply(trx: Transaction<Database>, event: DomainEvent, record: LogRecord): Promise<void>;
  /**
   * Applies a batch's events in order, with fewer statements (multi-row
   * writes). Optional: when present the runner calls it instead of `apply`,
   * and it must leave exactly the rows `apply` on each event in turn would.
   */
  applyBatch?(trx: Transaction<Database>, events: readonly AppliedEvent[]): Promise<void>;
}

export interface AppliedEvent {
  event: DomainEvent;
  record: LogRecord;
}

export interface RunnerOptions {
  log: Log;
  db: Kysely<Database>;
  codec: EventCodec;
  logger: Logger;
  progress: ProjectionProgress;
  maxBatchSize: number;
  engine: Engine;
  /**
   * MySQL: seconds an instance may stay silent inside a batch's transaction
   * before the server drops it, so a frozen projector cannot hold the
   * partition's offset row from the one that took the partition over.
   */
  stalledTransactionS?: number;
}

export async function runProjection(projection: Projection, options: RunnerOptions): Promise<Consumer> {
  const { log, db, codec, progress, engine } = options;
  const topic = projection.topic ?? topics.events;
  await ensureOffsetRows(db, projection.name, topic, log.partitionCount(topic));
  return log.consume({
    topic,
    group: `parley.projection.${projection.name}`,
    from: 'earliest',
    maxBatchSize: options.maxBatchSize,
    startAt: (partition) => storedOffset(db, projection.name, partition, topic),
    eachBatch: async ({ partition, records }) => {
      // READ COMMITTED on MySQL: partitions own disjoint rows, and without gap
      // locks their concurrent batches (multi-row writes) cannot deadlock.
      // (SQLite has one isolation level, serializable.)
      const reached = await inTransaction(db, async (trx) => {
        const next = await lockOffset(trx, engine, projection.name, topic, partition);
        const fresh = records.filter((record) => record.offset >= next);
        if (fresh.length === 0) return next;
        const events: AppliedEvent[] = [];
        for (const record of fresh) {
          const event = decodeEventRecord(codec, record);
          if (event !== null) events.push({ event, record });
        }
        if (projection.applyBatch !== undefined) await projection.applyBatch(trx, events);
        else for (const { event, record } of events) await projection.apply(trx, event, record);
        const reachedOffset = fresh[fresh.length - 1]!.offset + 1;
        await saveOffset(trx, projection.name, topic, partition, reachedOffset);
        return reachedOffset;
      }, { isolation: 'read committed', stalledAfterS: options.stalledTransactionS });
      progress.reached(projection.name, partition, reached);
    },
  });
}

export async function storedOffset(
  db: Kysely<Database>,
  projection: string,
  partition: number,
  topic: string = topics.events,
): Promise<number | null> {
  const row = await db
    .selectFrom('projection_offsets')
    .select('next_offset')
    .where('projection', '=', projection)
    .where('topic', '=', topic)
    .where('partition', '=', partition)
    .executeTakeFirst();
  return row === undefined ? null : Number(row.next_offset);
}

/** Every partition's stored offset of a projection, in one query. */
export async function storedOffsets(
  db: Kysely<Database>,
  projection: string,
  topic: string = topics.events,
): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('projection_offsets')
    .select(['partition', 'next_offset'])
    .where('projection', '=', projection)
    .where('topic', '=', topic)
    .execute();
  return new Map(rows.map((row) => [Number(row.partition), Number(row.next_offset)]));
}

/** One row per partition from the start, so every batch only ever updates (and locks) it. */
async function ensureOffsetRows(db: Kysely<Database>, projection: string, topic: string, partitions: number): Promise<void> {
  for (let partition = 0; partition < partitions; partition++) {
    // `ignore` is INSERT IGNORE on MySQL and INSERT OR IGNORE on SQLite.
    await db
      .insertInto('projection_offsets')
      .ignore()
      .values({ projection, topic, partition, next_offset: 0 })
      .execute();
  }
}

/**
 * Reads the partition's offset inside the batch's transaction, locking the row
 * so two consumers of one partition (a rebalance straggler, or a rebuild and a
 * server handing over) serialise. MySQL: SELECT … FOR UPDATE. SQLite has one
 * writer, but its transactions begin deferred: one that read first and then
 * writes fails with SQLITE_BUSY when another process (`parley rebuild` beside
 * a server) committed in between. Writing first takes the write lock at once,
 * and waits for it (busy_timeout) instead.
 */
async function lockOffset(
  trx: Transaction<Database>,
  engine: Engine,
  projection: string,
  topic: string,
  partition: number,
): Promise<number> {
  if (engine === 'sqlite') {
    const row = await trx
      .updateTable('projection_offsets')
      .set((eb) => ({ next_offset: eb.ref('next_offset') }))
      .where('projection', '=', projection)
      .where('topic', '=', topic)
      .where('partition', '=', partition)
      .returning('next_offset')
      .executeTakeFirstOrThrow();
    return Number(row.next_offset);
  }
  const row = await trx
    .selectFrom('projection_offsets')
    .select('next_offset')
    .where('projection', '=', projection)
    .where('topic', '=', topic)
    .where('partition', '=', partition)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return Number(row.next_offset);
}

async function saveOffset(
  trx: Transaction<Database>,
  projection: string,
  topic: string,
  partition: number,
  nextOffset: number,
): Promise<void> {
  await trx
    .updateTable('projection_offsets')
    .set({ next_offset: nextOffset })
    .where('projection', '=', projection)
    .where('topic', '=', topic)
    .where('partition', '=', partition)
    .execute();
}
