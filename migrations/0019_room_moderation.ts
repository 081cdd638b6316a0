// Room moderation (issue 15): bans, mutes and slow mode, in every version of
// the chat model (chat-schema.ts creates new versions with them).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createModerationTables } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await createModerationTables(db, version);
    await db.schema
      .alterTable(versionedName('rooms', version))
      .addColumn('slow_mode_s', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_bans'] })) {
    await sql`drop table ${sql.table(versionedName('room_bans', version))}`.execute(db);
    await sql`drop table ${sql.table(versionedName('room_mutes', version))}`.execute(db);
    await db.schema.alterTable(versionedName('rooms', version)).dropColumn('slow_mode_s').execute();
  }
}
