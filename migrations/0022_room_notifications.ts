// Per-room notification settings (issue 14): how each member's room notifies
// them, in every version of the chat model (chat-schema.ts creates new
// versions with it). Until a member sets it: 'all', not muted — as the log says.

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    const table = versionedName('room_members', version);
    await db.schema
      .alterTable(table)
      .addColumn('notify_level', 'varchar(10)', (c) => c.notNull().defaultTo('all'))
      .execute();
    await db.schema.alterTable(table).addColumn('notify_muted_until', 'bigint').execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    const table = versionedName('room_members', version);
    await db.schema.alterTable(table).dropColumn('notify_muted_until').execute();
    await db.schema.alterTable(table).dropColumn('notify_level').execute();
  }
}
