// One-time account tokens (a password reset's, an email confirmation's): only
// their SHA-256 is stored, beside the read models and never in the log — they
// log in. An email confirmation's row holds the address it confirms.

import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable('account_tokens')
    .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('purpose', 'varchar(20)', (c) => c.notNull())
    .addColumn('email', 'varchar(320)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .execute();
  await db.schema.createIndex('account_tokens_by_user').on('account_tokens').columns(['user_id']).execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropTable('account_tokens').ifExists().execute();
}
