// Where each webhook stands in each partition of the events topic: the next
// offset to deliver, counted from the webhook's latest replay. Like a
// consumer group's committed offsets, but one per webhook, so pausing one,
// or replaying one from last week, moves nobody else.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';

export interface StoredPosition {
  next_offset: number;
  replay_generation: number;
}

export async function readPosition(
  db: Kysely<Database>,
  webhookId: string,
  partition: number,
): Promise<StoredPosition | undefined> {
  const row = await db
    .selectFrom('webhook_positions')
    .select(['next_offset', 'replay_generation'])
    .where('webhook_id', '=', webhookId)
    .where('log_partition', '=', partition)
    .executeTakeFirst();
  return row === undefined ? undefined : row;
}

/** Stores a position; only its partition's owner writes it, so an update, or an insert the first time, cannot race. */
export async function savePosition(
  db: Kysely<Database>,
  webhookId: string,
  partition: number,
  position: StoredPosition,
): Promise<void> {
  const updated = await db
    .updateTable('webhook_positions')
    .set(position)
    .where('webhook_id', '=', webhookId)
    .where('log_partition', '=', partition)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) {
    await db
      .insertInto('webhook_positions')
      .values({ webhook_id: webhookId, log_partition: partition, ...position })
      .execute();
  }
}
