// A webhook's delivery log: one row per attempt — which event, what the
// receiver answered (or why it did not), how long it took — so an admin can
// see why a receiver is behind. Written by the dispatcher, beside the read
// models (it is bookkeeping, not a fact of the chat), and kept short: the
// newest PARLEY_WEBHOOK_DELIVERY_LOG_MAX attempts per webhook.

import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveriesTable } from '../store/schema.ts';

export type DeliveryAttempt = Omit<WebhookDeliveriesTable, 'id' | 'ok'> & { ok: boolean };

export interface DeliveryView {
  delivery_id: string;
  event_type: string;
  attempt: number;
  status: number | null;
  error: string | null;
  ok: boolean;
  duration_ms: number;
  at: number;
}

/** Trims a webhook's log once every this many attempts (a DELETE per attempt would double the writes). */
const TRIM_EVERY = 50;

export function createDeliveryLog(db: Kysely<Database>, keep: number) {
  const sinceTrim = new Map<string, number>();

  async function trim(webhookId: string): Promise<void> {
    const boundary = await db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    if (boundary !== undefined) {
      await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).where('id', '<=', boundary.id).execute();
    }
  }

  return {
    async record(attempt: DeliveryAttempt): Promise<void> {
      await db
        .insertInto('webhook_deliveries')
        .values({ ...attempt, ok: attempt.ok ? 1 : 0 })
        .execute();
      const count = (sinceTrim.get(attempt.webhook_id) ?? 0) + 1;
      sinceTrim.set(attempt.webhook_id, count % TRIM_EVERY);
      if (count >= TRIM_EVERY) await trim(attempt.webhook_id);
    },
  };
}

export type DeliveryLog = ReturnType<typeof createDeliveryLog>;

/** The newest attempts first. */
export async function listDeliveries(db: Kysely<Database>, webhookId: string, limit: number): Promise<DeliveryView[]> {
  const rows = await db
    .selectFrom('webhook_deliveries')
    .select(['delivery_id', 'event_type', 'attempt', 'status', 'error', 'ok', 'duration_ms', 'at'])
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ ...row, ok: row.ok === 1 }));
}
