// The key store of crypto-shredding (src/privacy/): one data key per message
// and per user, beside the read models and never in the log. Whose data a key
// seals is in its id (`message:<id>`, `user:<id>`); which messages are a
// user's or a room's, and how old, the read model knows. Not a projection:
// `parley rebuild` never touches it, and a rebuild reads through it.

import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable('data_keys')
    .addColumn('id', 'varchar(100)', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('secret', 'blob')
    .addColumn('destroyed_at', 'bigint')
    .execute();
  // The embedded scrubber asks for the latest destruction every few seconds.
  await db.schema.createIndex('data_keys_destroyed').on('data_keys').columns(['destroyed_at']).execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropTable('data_keys').ifExists().execute();
}
