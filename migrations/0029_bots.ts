// Bot users with API tokens (issue 15): a flag on the user in every version
// of the chat model (chat-schema.ts creates new versions with it), and beside
// the read models, never rebuilt, the tokens' hashes and what each may do.

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema
      .alterTable(versionedName('users', version))
      .addColumn('is_bot', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  }
  await db.schema
    .createTable('bot_tokens')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('token_hash', 'char(64)', (c) => c.notNull().unique())
    .addColumn('room_ids', 'text')
    .addColumn('created_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('bot_tokens_by_user').on('bot_tokens').columns(['user_id', 'created_at']).execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropTable('bot_tokens').ifExists().execute();
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).dropColumn('is_bot').execute();
  }
}
