// Outgoing webhooks (issue 15): the webhooks themselves in every version of
// the chat model (chat-schema.ts creates new versions with them), the admin
// audit's target widened to a user or a webhook, and beside the read models,
// never rebuilt: each webhook's signing secret, its position in the log, and
// its delivery log.

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createAdminAuditTable, createWebhooksTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await createWebhooksTable(db, version);
    await widenAuditTarget(db, version);
  }
  await db.schema
    .createTable('webhook_secrets')
    .addColumn('webhook_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('secret', 'varchar(256)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('webhook_positions')
    .addColumn('webhook_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('log_partition', 'integer', (c) => c.notNull())
    .addColumn('next_offset', 'bigint', (c) => c.notNull())
    .addColumn('replay_generation', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_positions_pk', ['webhook_id', 'log_partition'])
    .execute();
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('webhook_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('delivery_id', 'varchar(40)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('status', 'integer')
    .addColumn('error', 'varchar(1000)')
    .addColumn('ok', 'integer', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_deliveries_by_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
}

/**
 * target_user_id becomes nullable and target_webhook_id appears. SQLite cannot
 * drop a NOT NULL, so the table is built anew under a temporary name, filled,
 * and put in the old one's place (its index goes with the old table).
 */
async function widenAuditTarget(db: AnyDatabase, version: number): Promise<void> {
  const audit = versionedName('admin_audit', version);
  const next = `${audit}_next`;
  await createAdminAuditTable(db, version, next);
  await sql`insert into ${sql.table(next)} (action_id, action, admin_id, target_user_id, target_webhook_id, until, at)
    select action_id, action, admin_id, target_user_id, null, until, at from ${sql.table(audit)}`.execute(db);
  await db.schema.dropTable(audit).execute();
  await db.schema.alterTable(next).renameTo(audit).execute();
  await db.schema.createIndex(versionedName('admin_audit_at', version)).on(audit).columns(['at']).execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').ifExists().execute();
  await db.schema.dropTable('webhook_positions').ifExists().execute();
  await db.schema.dropTable('webhook_secrets').ifExists().execute();
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await sql`drop table if exists ${sql.table(versionedName('webhooks', version))}`.execute(db);
    await sql`delete from ${sql.table(versionedName('admin_audit', version))} where target_user_id is null`.execute(db);
  }
}
