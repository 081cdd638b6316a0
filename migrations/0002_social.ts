// Friends, requests and blocks; closed direct rooms; mentions on messages;
// refresh tokens by user.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('friend_requests')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('from_user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('to_user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('friend_requests_to').on('friend_requests').columns(['to_user_id', 'status']).execute();
  await db.schema.createIndex('friend_requests_from').on('friend_requests').columns(['from_user_id', 'status']).execute();

  // One row per direction, so "my friends" is a single indexed range.
  await db.schema
    .createTable('friendships')
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('friend_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('friendships_pk', ['user_id', 'friend_id'])
    .execute();

  await db.schema
    .createTable('blocks')
    .addColumn('blocker_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('blocked_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('blocks_pk', ['blocker_id', 'blocked_id'])
    .execute();
  await db.schema.createIndex('blocks_by_blocked').on('blocks').columns(['blocked_id']).execute();

  // Ending every session of a user (password change, disabled account) must not scan.
  await db.schema.createIndex('refresh_tokens_by_user').on('refresh_tokens').columns(['user_id']).execute();

  await db.schema
    .alterTable('rooms')
    .addColumn('closed', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  // JSON array of user ids; NULL means none (MySQL TEXT columns take no default).
  await db.schema.alterTable('messages').addColumn('mentions', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('messages').dropColumn('mentions').execute();
  await db.schema.alterTable('rooms').dropColumn('closed').execute();
  await db.schema.dropIndex('refresh_tokens_by_user').on('refresh_tokens').execute();
  for (const table of ['blocks', 'friendships', 'friend_requests']) await db.schema.dropTable(table).ifExists().execute();
}
