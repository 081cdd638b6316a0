// Poison events (issue 17): a record a projector cannot decode, or whose row
// the read-model database refuses, is parked here instead of wedging its
// partition silently. The partition halts at it (other partitions flow) until
// an operator skips or retries it (`parley dlq`, projections/dead-letters.ts).

import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable('dead_letters')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('projection', 'varchar(100)', (c) => c.notNull())
    .addColumn('topic', 'varchar(200)', (c) => c.notNull())
    .addColumn('partition', 'integer', (c) => c.notNull())
    .addColumn('offset', 'bigint', (c) => c.notNull())
    .addColumn('event_type', 'varchar(200)')
    .addColumn('error_code', 'varchar(100)', (c) => c.notNull())
    .addColumn('error_message', 'varchar(2000)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('first_failed_at', 'bigint', (c) => c.notNull())
    .addColumn('last_failed_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .addUniqueConstraint('dead_letters_position', ['projection', 'topic', 'partition', 'offset'])
    .execute();
  await db.schema.createIndex('dead_letters_by_status').on('dead_letters').columns(['status', 'projection']).execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.dropTable('dead_letters').ifExists().execute();
}
