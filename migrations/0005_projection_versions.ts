// Rebuildable read models (`parley rebuild`, projections/versions.ts):
// `projection_versions` says which version of each model is active and which
// one is being built.
//
// And last_seen moves out of the chat model's `users` table into its own
// `user_last_seen`: it is projected from the signals log, which keeps records
// for an hour, so a rebuild of the chat model from the events log could not
// bring it back. Its own table survives every rebuild.

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable('projection_versions')
    .addColumn('projection', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('active_version', 'integer', (c) => c.notNull())
    .addColumn('building_version', 'integer')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_last_seen')
    .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into user_last_seen (user_id, last_seen_at)
    select id, last_seen_at from users where last_seen_at is not null`.execute(db);
  await db.schema.alterTable('users').dropColumn('last_seen_at').execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.alterTable('users').addColumn('last_seen_at', 'bigint').execute();
  await sql`update users set last_seen_at = (select s.last_seen_at from user_last_seen s where s.user_id = users.id)`.execute(db);
  await db.schema.dropTable('user_last_seen').ifExists().execute();
  await db.schema.dropTable('projection_versions').ifExists().execute();
}
