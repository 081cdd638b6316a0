// Outgoing webhooks, the admins' side (API.md "Webhooks"; issue 15): create
// one, list them, pause, resume, replay history from a time, delete, and read
// what the receiver answered. Every act is a command of the webhook aggregate
// (domain/webhook.ts), so it is in the log and in the admin audit. The URL is
// sealed under the webhook's own key before it enters the log; the signing
// secret is kept beside the read models (webhook_secrets) and shown once, in
// the answer that creates the webhook. Delivering is the dispatcher's job
// (dispatcher.ts), in the `webhooks` role.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { requireAdmin } from '../auth/suspension.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import { newId } from '../ids.ts';
import { webhookKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { durably } from '../store/dialect.ts';
import type { Database, WebhooksTable } from '../store/schema.ts';
import { listDeliveries, type DeliveryView } from './delivery-log.ts';

export interface WebhooksDeps {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  /** PARLEY_ADMINS. */
  admins: readonly string[];
  /** PARLEY_WEBHOOK_MAX. */
  maxWebhooks: number;
}

/** A webhook as the admins' routes show it: the row, with its id named and its events a list; never the secret. */
export type WebhookView = Omit<WebhooksTable, 'id' | 'events' | 'replay_generation'> & { webhook_id: string; events: string[] };

export interface WebhookInput {
  url: string;
  events: string[];
  room_id?: string | undefined;
  secret?: string | undefined;
}

export function webhookView(row: WebhooksTable): WebhookView {
  return {
    webhook_id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    room_id: row.room_id,
    status: row.status,
    paused_reason: row.paused_reason,
    paused_at: row.paused_at,
    last_error: row.last_error,
    replay_from: row.replay_from,
    created_by: row.created_by,
    created_at: row.created_at,
  };
}

async function readWebhook(db: Kysely<Database>, webhookId: string): Promise<WebhookView> {
  const row = await db.selectFrom('webhooks').selectAll().where('id', '=', webhookId).executeTakeFirst();
  if (row === undefined) throw new Rejection('not_found', 'webhook not found');
  return webhookView(row);
}

export async function createWebhook(
  deps: WebhooksDeps,
  adminId: string,
  input: WebhookInput,
): Promise<WebhookView & { secret: string }> {
  const { db } = deps;
  await requireAdmin(db, deps.admins, adminId);
  const { count } = await db
    .selectFrom('webhooks')
    .select((eb) => eb.fn.countAll<number | string>().as('count'))
    .executeTakeFirstOrThrow();
  if (Number(count) >= deps.maxWebhooks) {
    throw new Rejection('invalid_state', `a deployment has at most ${deps.maxWebhooks} webhooks`);
  }
  if (input.room_id !== undefined) {
    const room = await db.selectFrom('rooms').select('id').where('id', '=', input.room_id).executeTakeFirst();
    if (room === undefined) throw new Rejection('room_not_found', 'room not found');
  }
  const webhookId = newId();
  // 32 characters of base64url: 192 bits, as strong as the HMAC needs.
  const secret = input.secret ?? randomBytes(24).toString('base64url');
  // The secret first: the dispatcher may start delivering as soon as the webhook is projected.
  // On disk before the webhook exists in the log: nothing could make its secret again.
  await durably(db, (connection) =>
    connection.insertInto('webhook_secrets').values({ webhook_id: webhookId, secret, created_at: Date.now() }).execute(),
  );
  try {
    const sealer = await deps.vault.sealerFor(webhookKeyId(webhookId));
    await deps.executor.executeFor(adminId, {
      type: 'create_webhook',
      data: {
        webhook_id: webhookId,
        action_id: randomUUID(),
        url: sealer.seal(input.url),
        events: [...new Set(input.events)],
        room_id: input.room_id ?? null,
      },
    });
  } catch (error) {
    await db.deleteFrom('webhook_secrets').where('webhook_id', '=', webhookId).execute();
    throw error;
  }
  return { ...(await readWebhook(db, webhookId)), secret };
}

export async function listWebhooks(deps: WebhooksDeps, adminId: string): Promise<{ webhooks: WebhookView[] }> {
  await requireAdmin(deps.db, deps.admins, adminId);
  const rows = await deps.db.selectFrom('webhooks').selectAll().orderBy('created_at').orderBy('id').execute();
  return { webhooks: rows.map(webhookView) };
}

export async function getWebhook(deps: WebhooksDeps, adminId: string, webhookId: string): Promise<WebhookView> {
  await requireAdmin(deps.db, deps.admins, adminId);
  return readWebhook(deps.db, webhookId);
}

/** An admin's act on an existing webhook; answers the webhook as it stands after it. */
async function act(
  deps: WebhooksDeps,
  adminId: string,
  webhookId: string,
  command:
    | { type: 'pause_webhook'; data: { reason: 'admin'; error: null } }
    | { type: 'resume_webhook'; data: Record<string, never> }
    | { type: 'replay_webhook'; data: { from_time: number } },
): Promise<WebhookView> {
  await requireAdmin(deps.db, deps.admins, adminId);
  await readWebhook(deps.db, webhookId);
  await deps.executor.executeFor(adminId, {
    type: command.type,
    data: { ...command.data, webhook_id: webhookId, action_id: randomUUID() },
  });
  return readWebhook(deps.db, webhookId);
}

export const pauseWebhook = (deps: WebhooksDeps, adminId: string, webhookId: string) =>
  act(deps, adminId, webhookId, { type: 'pause_webhook', data: { reason: 'admin', error: null } });

export const resumeWebhook = (deps: WebhooksDeps, adminId: string, webhookId: string) =>
  act(deps, adminId, webhookId, { type: 'resume_webhook', data: {} });

export const replayWebhook = (deps: WebhooksDeps, adminId: string, webhookId: string, fromTime: number) =>
  act(deps, adminId, webhookId, { type: 'replay_webhook', data: { from_time: fromTime } });

/** Deletes the webhook: its key (which sealed the URL in the log) goes with it, then its secret and bookkeeping. */
export async function deleteWebhook(deps: WebhooksDeps, adminId: string, webhookId: string): Promise<void> {
  const { db } = deps;
  await requireAdmin(db, deps.admins, adminId);
  await readWebhook(db, webhookId);
  await deps.executor.executeFor(adminId, { type: 'delete_webhook', data: { webhook_id: webhookId, action_id: randomUUID() } });
  await db.deleteFrom('webhook_secrets').where('webhook_id', '=', webhookId).execute();
  await db.deleteFrom('webhook_positions').where('webhook_id', '=', webhookId).execute();
  await db.deleteFrom('webhook_deliveries').where('webhook_id', '=', webhookId).execute();
}

export async function webhookDeliveries(
  deps: WebhooksDeps,
  adminId: string,
  webhookId: string,
  limit: number,
): Promise<{ deliveries: DeliveryView[] }> {
  await requireAdmin(deps.db, deps.admins, adminId);
  await readWebhook(deps.db, webhookId);
  return { deliveries: await listDeliveries(deps.db, webhookId, limit) };
}
