// The dead_letters table: records a projector could not apply (poison
// events), kept so that an operator can see them and decide. A parked record
// halts its partition — later records of the partition wait, other partitions
// flow — until `parley dlq retry` (try it again, after a fix) or
// `parley dlq skip` (move the projection's offset past it, in the same
// transaction that marks it skipped). The runner (runner.ts) parks; this
// module is the table's only writer besides it.

import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, DeadLettersTable } from '../store/schema.ts';
import { inTransaction } from '../store/transaction.ts';
import { lockOffset, saveOffset } from './offsets.ts';

export type DeadLetter = Selectable<DeadLettersTable>;
export type DeadLetterStatus = DeadLettersTable['status'];

type Db = Kysely<Database> | Transaction<Database>;

/** Where a poison record sits, and why it was parked. */
export interface PoisonRecord {
  projection: string;
  topic: string;
  partition: number;
  offset: number;
  eventType: string | null;
  errorCode: string;
  errorMessage: string;
  /** Attempts this time (added to earlier ones when parked again). */
  attempts: number;
}

/** A dead letter an operator command cannot act on (stable `code` for scripts). */
export class DeadLetterError extends Error {
  override name = 'DeadLetterError';
  readonly code: 'dead_letter_not_found' | 'dead_letter_not_parked' | 'dead_letter_passed';
  constructor(code: DeadLetterError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Statuses whose record is still waiting: its partition stands at it. */
export const openStatuses: readonly DeadLetterStatus[] = ['parked', 'retrying'];

const MAX_MESSAGE = 2_000;

/** Parks a record (again, if an operator's retry failed too); returns its row. */
export async function park(db: Db, poison: PoisonRecord, now: number): Promise<DeadLetter> {
  const existing = await deadLetterAt(db, poison);
  const error = { error_code: poison.errorCode.slice(0, 100), error_message: poison.errorMessage.slice(0, MAX_MESSAGE) };
  if (existing === undefined) {
    await db
      .insertInto('dead_letters')
      .values({
        projection: poison.projection,
        topic: poison.topic,
        partition: poison.partition,
        offset: poison.offset,
        event_type: poison.eventType?.slice(0, 200) ?? null,
        ...error,
        attempts: poison.attempts,
        first_failed_at: now,
        last_failed_at: now,
        status: 'parked',
        resolved_at: null,
      })
      .execute();
  } else {
    await db
      .updateTable('dead_letters')
      .set({ ...error, attempts: existing.attempts + poison.attempts, last_failed_at: now, status: 'parked', resolved_at: null })
      .where('id', '=', existing.id)
      .execute();
  }
  return (await deadLetterAt(db, poison))!;
}

/** The row of the record at a position, if it was ever parked. */
export async function deadLetterAt(
  db: Db,
  at: { projection: string; topic: string; partition: number; offset: number },
): Promise<DeadLetter | undefined> {
  return db
    .selectFrom('dead_letters')
    .selectAll()
    .where('projection', '=', at.projection)
    .where('topic', '=', at.topic)
    .where('partition', '=', at.partition)
    .where('offset', '=', at.offset)
    .executeTakeFirst();
}

export async function deadLetterById(db: Db, id: number): Promise<DeadLetter | undefined> {
  return db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Dead letters, oldest first; only the open ones (parked, retrying) unless `all`. */
export async function listDeadLetters(db: Db, options: { all?: boolean; limit?: number } = {}): Promise<DeadLetter[]> {
  let query = db.selectFrom('dead_letters').selectAll().orderBy('id');
  if (options.all !== true) query = query.where('status', 'in', openStatuses);
  if (options.limit !== undefined) query = query.limit(options.limit);
  return query.execute();
}

/** How many open dead letters hold each projection's partitions (for the metrics gauge). */
export async function countOpenDeadLetters(db: Db): Promise<{ projection: string; partition: number; count: number }[]> {
  const rows = await db
    .selectFrom('dead_letters')
    .select(['projection', 'partition', (eb) => eb.fn.countAll<number | string>().as('count')])
    .where('status', 'in', openStatuses)
    .groupBy(['projection', 'partition'])
    .execute();
  return rows.map((row) => ({ projection: row.projection, partition: row.partition, count: Number(row.count) }));
}

/** Marks a retried record applied, inside the transaction that applied it. */
export async function markApplied(trx: Transaction<Database>, id: number, now: number): Promise<void> {
  await trx.updateTable('dead_letters').set({ status: 'applied', resolved_at: now }).where('id', '=', id).execute();
}

/**
 * `parley dlq retry`: the runner tries the record again at its next look (its
 * halted partition checks every back-off tick). Parked again if it fails again.
 */
export async function retryDeadLetter(db: Kysely<Database>, id: number): Promise<DeadLetter> {
  const row = await requireParked(db, id);
  await db.updateTable('dead_letters').set({ status: 'retrying' }).where('id', '=', row.id).execute();
  return (await deadLetterById(db, id))!;
}

/**
 * `parley dlq skip`: the projection's offset moves past the record and the
 * record is marked skipped, in one transaction — the partition goes on
 * without it. Refused when the projection is no longer at that record.
 */
export async function skipDeadLetter(db: Kysely<Database>, id: number, now: number): Promise<DeadLetter> {
  return inTransaction(db, async (trx) => {
    const row = await requireParked(trx, id);
    const next = await lockOffset(trx, row.projection, row.topic, row.partition);
    if (next !== row.offset) {
      throw new DeadLetterError(
        'dead_letter_passed',
        `dead letter ${id}: ${row.projection} stands at offset ${next} of ${row.topic}[${row.partition}], not at ${row.offset}`,
      );
    }
    await saveOffset(trx, row.projection, row.topic, row.partition, row.offset + 1);
    await trx.updateTable('dead_letters').set({ status: 'skipped', resolved_at: now }).where('id', '=', id).execute();
    return (await deadLetterById(trx, id))!;
  });
}

async function requireParked(db: Db, id: number): Promise<DeadLetter> {
  const row = await deadLetterById(db, id);
  if (row === undefined) throw new DeadLetterError('dead_letter_not_found', `no dead letter ${id}`);
  if (!openStatuses.includes(row.status)) {
    throw new DeadLetterError('dead_letter_not_parked', `dead letter ${id} is ${row.status}, not parked`);
  }
  return row;
}

/** Dead letters listed by /readyz at most (the rest: `parley dlq list`). */
const READYZ_LIST = 20;

/**
 * What /readyz says about poison events: every open dead letter of the
 * deployment (the table is shared) and how many this process parked. Open
 * ones make the instance `degraded`, not unready: one halted partition is no
 * reason for a load balancer to pull every instance out.
 */
export async function deadLetterReadiness(
  db: Kysely<Database>,
  counter: { parked: number },
): Promise<{ degraded: boolean; details: Record<string, unknown> }> {
  const open = await listDeadLetters(db, { limit: READYZ_LIST + 1 });
  return {
    degraded: open.length > 0,
    details: {
      dead_letters: {
        open: open.slice(0, READYZ_LIST).map((letter) => ({
          id: letter.id,
          projection: letter.projection,
          topic: letter.topic,
          partition: letter.partition,
          offset: letter.offset,
          event_type: letter.event_type,
          error_code: letter.error_code,
          status: letter.status,
          attempts: letter.attempts,
          last_failed_at: letter.last_failed_at,
        })),
        more: open.length > READYZ_LIST,
        parked_by_this_process: counter.parked,
      },
    },
  };
}
