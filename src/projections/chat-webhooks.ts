// The chat model's part of the webhook events (issue 15): the webhooks table
// the dispatcher and the admin routes read, and a line in the admin audit for
// each act. A deleted webhook's row goes and its key is destroyed, so the URL
// it sealed in the log reads as erased from then on (a rebuild included).

import type { Transaction } from 'kysely';
import type { WebhookEvent } from '../domain/webhook.ts';
import { OPERATOR_ID } from '../ids.ts';
import { destroyKeys, webhookKeyId } from '../privacy/key-store.ts';
import type { AdminAuditTable, Database } from '../store/schema.ts';

export async function applyWebhookEvent(trx: Transaction<Database>, event: WebhookEvent): Promise<void> {
  const { webhook_id, action_id } = event.data;
  const audit = (action: AdminAuditTable['action'], adminId: string | null, at: number) =>
    trx
      .insertInto('admin_audit')
      .values({
        action_id,
        action,
        // The system's own act (a failing receiver paused) is listed as the operator's.
        admin_id: adminId ?? OPERATOR_ID,
        target_user_id: null,
        target_webhook_id: webhook_id,
        until: null,
        at,
      })
      .execute();
  switch (event.type) {
    case 'webhook_created': {
      const { url, events, room_id, created_by, created_at } = event.data;
      await trx
        .insertInto('webhooks')
        .values({
          id: webhook_id,
          url,
          events: JSON.stringify(events),
          room_id,
          status: 'active',
          paused_reason: null,
          paused_at: null,
          last_error: null,
          replay_from: null,
          replay_generation: 0,
          created_by,
          created_at,
        })
        .execute();
      await audit('create_webhook', created_by, created_at);
      return;
    }
    case 'webhook_paused': {
      const { reason, error, paused_by, paused_at } = event.data;
      await trx
        .updateTable('webhooks')
        .set({ status: 'paused', paused_reason: reason, paused_at, last_error: error })
        .where('id', '=', webhook_id)
        .execute();
      await audit('pause_webhook', paused_by, paused_at);
      return;
    }
    case 'webhook_resumed': {
      const { resumed_by, resumed_at } = event.data;
      await trx
        .updateTable('webhooks')
        .set({ status: 'active', paused_reason: null, paused_at: null })
        .where('id', '=', webhook_id)
        .execute();
      await audit('resume_webhook', resumed_by, resumed_at);
      return;
    }
    case 'webhook_replay_requested': {
      const { from_time, requested_by, requested_at } = event.data;
      await trx
        .updateTable('webhooks')
        .set((eb) => ({ replay_from: from_time, replay_generation: eb('replay_generation', '+', 1) }))
        .where('id', '=', webhook_id)
        .execute();
      await audit('replay_webhook', requested_by, requested_at);
      return;
    }
    case 'webhook_deleted': {
      const { deleted_by, deleted_at } = event.data;
      await trx.deleteFrom('webhooks').where('id', '=', webhook_id).execute();
      await destroyKeys(trx, [webhookKeyId(webhook_id)], deleted_at);
      await audit('delete_webhook', deleted_by, deleted_at);
      return;
    }
  }
}
