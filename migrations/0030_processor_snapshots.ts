// Snapshots of the command processor's state (commands/snapshots.ts): where a
// processor taking a partition over starts, instead of folding the
// partition's whole history. Beside the read models, never rebuilt: they are
// the write side's, written by the processor and read only by it. What they
// hold is what the events hold (personal fields sealed), so crypto-shredding
// reaches them as it reaches the log.
//
//   processor_snapshots            per partition: the log offset the snapshot is
//                                  good up to, and the processor's own memory
//   processor_snapshot_aggregates  per aggregate: its state, without its cold entries
//   processor_snapshot_entries     per cold entry (a room's message): loaded on demand

import { sql } from 'kysely';
import { engineOf, type AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  // MySQL's BLOB stops at 64 KiB; a big room's state is larger.
  const bytes = engineOf(db) === 'mysql' ? sql`longblob` : sql`blob`;
  await db.schema
    .createTable('processor_snapshots')
    .addColumn('scope', 'varchar(200)', (c) => c.notNull())
    .addColumn('partition_no', 'integer', (c) => c.notNull())
    .addColumn('format', 'varchar(64)', (c) => c.notNull())
    .addColumn('next_offset', 'bigint', (c) => c.notNull())
    .addColumn('last_record', 'varchar(300)', (c) => c.notNull())
    .addColumn('memory', bytes, (c) => c.notNull())
    .addColumn('taken_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('processor_snapshots_pk', ['scope', 'partition_no'])
    .execute();
  await db.schema
    .createTable('processor_snapshot_aggregates')
    .addColumn('scope', 'varchar(200)', (c) => c.notNull())
    .addColumn('partition_no', 'integer', (c) => c.notNull())
    .addColumn('aggregate_id', 'varchar(300)', (c) => c.notNull())
    .addColumn('state', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('processor_snapshot_aggregates_pk', ['scope', 'partition_no', 'aggregate_id'])
    .execute();
  await db.schema
    .createTable('processor_snapshot_entries')
    .addColumn('scope', 'varchar(200)', (c) => c.notNull())
    .addColumn('aggregate_id', 'varchar(300)', (c) => c.notNull())
    .addColumn('entry_id', 'varchar(100)', (c) => c.notNull())
    .addColumn('entry', bytes, (c) => c.notNull())
    // The snapshot offset it was written for: an entry is never replaced by an older one.
    .addColumn('next_offset', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('processor_snapshot_entries_pk', ['scope', 'aggregate_id', 'entry_id'])
    .execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const table of ['processor_snapshot_entries', 'processor_snapshot_aggregates', 'processor_snapshots']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
