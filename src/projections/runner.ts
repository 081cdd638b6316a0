// Runs a projection: consumes the events log and applies each batch to the read
// model in one transaction, together with the offsets it reached. A crash
// between two batches therefore never applies an event twice nor skips one,
// and a stale consumer that sees records another instance already applied
// skips them (the stored offset is checked inside the transaction).
//
// A batch that fails is not retried blindly forever. When a record does not
// decode, or the database refuses its rows (poison.ts has the rule), the
// batch is taken apart: the records before it are applied one by one, it is
// tried alone PARLEY_POISON_MAX_ATTEMPTS times, and when it keeps failing it
// is parked in dead_letters (dead-letters.ts) and its partition halts there —
// loudly (an error log line, /readyz) — while the other partitions go on.
// The halted partition's batch is redelivered by the log with its back-off;
// each time the runner looks at the dead letter again, and moves on once an
// operator skipped it or asked for a retry. Any other failure (the database
// down) is retried forever and never parks anything.

import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import type { DomainEvent } from '../domain/decider.ts';
import type { Consumer, Log, LogRecord } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import type { ReadCache } from '../infra/read-cache.ts';
import { SealBroken } from '../privacy/sealing.ts';
import { openEach, type PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';
import { engineOf } from '../store/dialect.ts';
import { groupTransactions } from '../store/grouped-transactions.ts';
import { inTransaction } from '../store/transaction.ts';
import { deadLetterAt, deadLetterById, markApplied, park, type DeadLetter } from './dead-letters.ts';
import { ensureOffsetRows, lockOffset, moveOffset, saveOffset, storedOffset } from './offsets.ts';
import { dataRefusal, decodeFailure, isTransientDecodeError, type Refusal } from './poison.ts';
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
  /**
   * The cached answers (infra/read-cache.ts) an event can change, as
   * dependencies. Optional: a projection without it writes nothing that is
   * cached, and its batches fence nothing.
   */
  readCacheDeps?: (event: DomainEvent) => readonly string[];
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
   * How late the projection may read appended events (ConsumeOptions.maxDelayMs;
   * PARLEY_PROJECTION_READ_DELAY_MS): a later read gathers more events into each
   * transaction, and whatever waits for the projection (read-your-writes) waits
   * up to that much longer. Default 0: each event as soon as it is appended.
   */
  readDelayMs?: number;
  /**
   * MySQL: seconds an instance may stay silent inside a batch's transaction
   * before the server drops it, so a frozen projector cannot hold the
   * partition's offset row from the one that took the partition over.
   */
  stalledTransactionS?: number;
  /** How a record the database refuses is told from a passing failure (PARLEY_POISON_*). */
  poison?: PoisonPolicy;
  /** Counts what this process parked (shown by /readyz). */
  poisonCounter?: PoisonCounter;
  /** Where answers the projection's batches change are cached: each batch fences them (read-cache.ts). */
  readCache?: ReadCache;
}

export interface PoisonPolicy {
  /** Tries of a refused record alone before it is parked. */
  maxAttempts: number;
  /** Wait between those tries. */
  retryBackoffMs: number;
}

export interface PoisonCounter {
  parked: number;
}

const DEFAULT_POISON: PoisonPolicy = { maxAttempts: 3, retryBackoffMs: 200 };

/** Thrown while a partition stands at a parked record, so the log hands the batch out again later. */
export class PartitionHaltedError extends Error {
  override name = 'PartitionHaltedError';
  readonly deadLetterId: number;
  constructor(letter: DeadLetter) {
    super(
      `${letter.projection}: ${letter.topic}[${letter.partition}] halted at offset ${letter.offset} ` +
        `(${letter.event_type ?? 'no type'}: ${letter.error_code}); dead letter ${letter.id} — ` +
        '`parley dlq skip` or `parley dlq retry` it',
    );
    this.deadLetterId = letter.id;
  }
}

/** A record of a batch, decoded (event null: every reader skips it) or not (`failure`). */
interface Item {
  record: LogRecord;
  event: DomainEvent | null;
  failure?: Error;
}

export async function runProjection(projection: Projection, options: RunnerOptions): Promise<Consumer> {
  const { log, db, codec, vault, progress, logger } = options;
  const policy = options.poison ?? DEFAULT_POISON;
  const topic = projection.topic ?? topics.events;
  await ensureOffsetRows(db, projection.name, topic, log.partitionCount(topic));
  /** Partitions standing at a parked record: the dead letter's id. */
  const halted = new Map<number, number>();

  /**
   * Applies the items' events and moves the offset past the last item, in one
   * transaction; items the stored offset has passed are left out. `resolves`:
   * a dead letter being retried, marked applied with its record.
   */
  // READ COMMITTED on MySQL: partitions own disjoint rows, and without gap
  // locks their concurrent batches (multi-row writes) cannot deadlock.
  // (SQLite has one isolation level, serializable.)
  const transactionOptions = { isolation: 'read committed' as const, stalledAfterS: options.stalledTransactionS };
  // SQLite: the batches of partitions woken together commit together (grouped-transactions.ts).
  const grouped =
    engineOf(db) === 'sqlite' ? groupTransactions<Database>((work) => inTransaction(db, work, transactionOptions)) : undefined;
  const transaction = <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
    grouped === undefined ? inTransaction(db, work, transactionOptions) : grouped.run(work);
  // The offset this runner's last commit left in each partition. The next
  // batch trusts it instead of reading (on MySQL: locking) the row first, and
  // moves the row only from that value: a straggler or an operator that moved
  // it meanwhile makes the move find no row, the transaction rolls back, and
  // the batch comes again through the locking read. One statement less per
  // batch: a round trip on MySQL (bench/README fix 17), a statement built and
  // run on SQLite (fix 28).
  const lastSaved = new Map<number, number>();
  /** The batch's cached answers voided before its transaction, released after it whatever its outcome. */
  const fenced = async <T>(items: readonly Item[], work: () => Promise<T>): Promise<T> => {
    const depsOf = projection.readCacheDeps;
    if (options.readCache === undefined || depsOf === undefined) return work();
    const fence = await options.readCache.fence(items.flatMap(({ event }) => (event === null ? [] : depsOf(event))));
    try {
      return await work();
    } finally {
      // A mark left pending only stops caching for its dependencies until it
      // expires: safe, so a failed release is not the batch's failure.
      await fence.release().catch((error: unknown) => logger.warn({ err: error }, 'releasing a read-cache fence failed'));
    }
  };
  const applyItems = async (partition: number, items: readonly Item[], resolves?: DeadLetter): Promise<number> => {
    const trusted = lastSaved.get(partition);
    lastSaved.delete(partition);
    const reached = await fenced(items, () =>
      transaction(async (trx) => {
        const next = trusted ?? (await lockOffset(trx, projection.name, topic, partition));
        const fresh = items.filter(({ record }) => record.offset >= next);
        if (fresh.length === 0) return next;
        const unapplied = fresh.flatMap(({ event, record }) => (event === null ? [] : [{ event, record }]));
        if (projection.applyBatch !== undefined) await projection.applyBatch(trx, unapplied);
        else for (const { event, record } of unapplied) await projection.apply(trx, event, record);
        const reachedOffset = fresh[fresh.length - 1]!.record.offset + 1;
        if (trusted === undefined) await saveOffset(trx, projection.name, topic, partition, reachedOffset);
        else if (!(await moveOffset(trx, projection.name, topic, partition, trusted, reachedOffset))) {
          throw new Error(`${projection.name}: ${topic}[${partition}] moved past ${trusted} meanwhile; the batch comes again`);
        }
        if (resolves !== undefined) await markApplied(trx, resolves.id, Date.now());
        return reachedOffset;
      }),
    );
    lastSaved.set(partition, reached);
    return reached;
  };

  /** Parks the item's record and halts the partition (throws), unless the stored offset already passed it. */
  const parkAndHalt = async (partition: number, item: Item, refusal: Refusal, attempts: number): Promise<void> => {
    const next = await storedOffset(db, projection.name, partition, topic);
    if (next !== null && next > item.record.offset) return;
    const letter = await park(
      db,
      {
        projection: projection.name,
        topic,
        partition,
        offset: item.record.offset,
        eventType: item.record.headers[headers.eventType] ?? null,
        errorCode: refusal.code,
        errorMessage: refusal.message,
        attempts,
      },
      Date.now(),
    );
    if (options.poisonCounter !== undefined) options.poisonCounter.parked++;
    halted.set(partition, letter.id);
    logger.error(
      {
        projection: projection.name,
        topic,
        partition,
        offset: item.record.offset,
        type: letter.event_type,
        code: refusal.code,
        error: refusal.message,
        attempts: letter.attempts,
        deadLetter: letter.id,
      },
      'poison event parked: its partition halts here until `parley dlq skip` or `parley dlq retry`',
    );
    throw new PartitionHaltedError(letter);
  };

  /** The batch taken apart, record by record, to find (and park) the one that cannot be applied. */
  const isolate = async (partition: number, items: readonly Item[]): Promise<void> => {
    for (const item of items) {
      const at = { projection: projection.name, topic, partition, offset: item.record.offset };
      const letter = await deadLetterAt(db, at);
      // Parked before (by this or another instance): it waits for an operator.
      if (letter?.status === 'parked') {
        const next = await storedOffset(db, projection.name, partition, topic);
        if (next === null || next <= item.record.offset) {
          halted.set(partition, letter.id);
          throw new PartitionHaltedError(letter);
        }
      }
      const retrying = letter?.status === 'retrying' ? letter : undefined;
      if (item.failure !== undefined) {
        if (isTransientDecodeError(item.failure)) throw item.failure;
        await parkAndHalt(partition, item, decodeFailure(item.failure), 1);
        continue;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          progress.reached(projection.name, partition, await applyItems(partition, [item], retrying));
          break;
        } catch (error) {
          const refusal = dataRefusal(error);
          // Not the record's fault: the log hands the batch out again (those
          // applied above are passed by the stored offset).
          if (refusal === null) throw error;
          if (attempt >= policy.maxAttempts) {
            await parkAndHalt(partition, item, refusal, attempt);
            break;
          }
          await delay(policy.retryBackoffMs);
        }
      }
      if (retrying !== undefined) {
        logger.warn(
          { projection: projection.name, topic, partition, offset: item.record.offset },
          'dead letter applied on retry',
        );
      }
    }
  };

  return log.consume({
    topic,
    group: `parley.projection.${projection.name}`,
    from: 'earliest',
    maxBatchSize: options.maxBatchSize,
    maxDelayMs: options.readDelayMs ?? 0,
    startAt: (partition) => storedOffset(db, projection.name, partition, topic),
    eachBatch: async ({ partition, records }) => {
      const haltedAt = halted.get(partition);
      let retried = false;
      if (haltedAt !== undefined) {
        // Still parked: wait for the operator (the log backs off and redelivers).
        const letter = await deadLetterById(db, haltedAt);
        if (letter?.status === 'parked') throw new PartitionHaltedError(letter);
        halted.delete(partition);
        // A retry goes record by record, so the dead letter is marked with its record.
        retried = letter?.status === 'retrying';
      }
      const items: Item[] = records.map((record) => {
        try {
          return { record, event: decodeEventRecord(codec, record) };
        } catch (failure) {
          return { record, event: null, failure: failure instanceof Error ? failure : new Error(String(failure)) };
        }
      });
      // Keys are read before the transaction: SQLite has one connection, which
      // the transaction holds. A key the store cannot give fails the batch,
      // and the log hands it over again (fail closed: never applied as erased).
      const opened = projection.readsPersonalData === true ? await openItems(vault, items) : items;
      if (!retried && opened.every((item) => item.failure === undefined)) {
        try {
          progress.reached(projection.name, partition, await applyItems(partition, opened));
          return;
        } catch (error) {
          if (dataRefusal(error) === null) throw error;
        }
      } else {
        // A schema still on its way: the whole batch again later, nothing parked.
        const pending = opened.find((item) => isTransientDecodeError(item.failure))?.failure;
        if (!retried && pending !== undefined) throw pending;
      }
      await isolate(partition, opened);
    },
  });
}

/** The items' personal values opened; an item whose value does not open with its key fails as an undecodable one does. */
async function openItems(vault: PersonalDataVault, items: readonly Item[]): Promise<Item[]> {
  const decoded = items.filter((item) => item.event !== null);
  const opened = await openEach(
    vault,
    decoded.map(({ event }) => event!),
  );
  const byRecord = new Map(decoded.map((item, i) => [item, opened[i]!]));
  return items.map((item) => {
    const result = byRecord.get(item);
    if (result === undefined) return item;
    return result instanceof SealBroken ? { ...item, failure: result } : { ...item, event: result };
  });
}
