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
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';
import { inTransaction } from '../store/transaction.ts';
import { ensureOffsetRows, lockOffset, saveOffset, storedOffset } from './offsets.ts';
import type { ProjectionProgress } from './progress.ts';

export interface Projection {
  /** Stable name: the offsets row and the consumer group are keyed by it. */
  name: string;
  /** The log it follows; the events log unless said otherwise. */
  topic?: string;
  /**
   * True when the projection reads personal values (a message's content, a
   * profile): the runner opens them first (privacy/vault.ts), and an erased
   * one reaches `apply` as erased. Others get them sealed, and cost no key read.
   */
  readsPersonalData?: boolean;
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
  /** Opens personal values for a projection that reads them. */
  vault: PersonalDataVault;
  logger: Logger;
  progress: ProjectionProgress;
  maxBatchSize: number;
  /**
   * MySQL: seconds an instance may stay silent inside a batch's transaction
   * before the server drops it, so a frozen projector cannot hold the
   * partition's offset row from the one that took the partition over.
   */
  stalledTransactionS?: number;
}

export async function runProjection(projection: Projection, options: RunnerOptions): Promise<Consumer> {
  const { log, db, codec, vault, progress } = options;
  const topic = projection.topic ?? topics.events;
  await ensureOffsetRows(db, projection.name, topic, log.partitionCount(topic));
  return log.consume({
    topic,
    group: `parley.projection.${projection.name}`,
    from: 'earliest',
    maxBatchSize: options.maxBatchSize,
    startAt: (partition) => storedOffset(db, projection.name, partition, topic),
    eachBatch: async ({ partition, records }) => {
      // Keys are read before the transaction: SQLite has one connection, which
      // the transaction holds. A key the store cannot give fails the batch,
      // and the log hands it over again (fail closed: never applied as erased).
      const decoded: AppliedEvent[] = [];
      for (const record of records) {
        const event = decodeEventRecord(codec, record);
        if (event !== null) decoded.push({ event, record });
      }
      const events = projection.readsPersonalData === true ? await openEvents(vault, decoded) : decoded;
      // READ COMMITTED on MySQL: partitions own disjoint rows, and without gap
      // locks their concurrent batches (multi-row writes) cannot deadlock.
      // (SQLite has one isolation level, serializable.)
      const reached = await inTransaction(
        db,
        async (trx) => {
          const next = await lockOffset(trx, projection.name, topic, partition);
          const fresh = records.filter((record) => record.offset >= next);
          if (fresh.length === 0) return next;
          const unapplied = events.filter(({ record }) => record.offset >= next);
          if (projection.applyBatch !== undefined) await projection.applyBatch(trx, unapplied);
          else for (const { event, record } of unapplied) await projection.apply(trx, event, record);
          const reachedOffset = fresh[fresh.length - 1]!.offset + 1;
          await saveOffset(trx, projection.name, topic, partition, reachedOffset);
          return reachedOffset;
        },
        { isolation: 'read committed', stalledAfterS: options.stalledTransactionS },
      );
      progress.reached(projection.name, partition, reached);
    },
  });
}

async function openEvents(vault: PersonalDataVault, events: readonly AppliedEvent[]): Promise<AppliedEvent[]> {
  const opened = await vault.open(events.map(({ event }) => event));
  return events.map(({ record }, i) => ({ event: opened[i]!, record }));
}
