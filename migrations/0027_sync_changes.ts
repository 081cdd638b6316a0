// The sync feed (issue 14, GET /api/v1/sync), in every version of the chat
// model (chat-schema.ts creates new versions with it). Empty at first: a
// server that adds it serves sync tokens from this moment on; events projected
// before have no changes here (a rebuild of the chat model fills them in).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createSyncTables } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await createSyncTables(db, version);
    const changes = versionedName('sync_changes', version);
    await db.schema
      .createIndex(versionedName('sync_changes_by_user', version))
      .on(changes)
      .columns(['user_id', 'log_partition', 'log_offset'])
      .execute();
    await db.schema
      .createIndex(versionedName('sync_changes_by_room', version))
      .on(changes)
      .columns(['room_id', 'log_partition', 'log_offset'])
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await sql`drop table if exists ${sql.table(versionedName('sync_changes', version))}`.execute(db);
    await sql`drop table if exists ${sql.table(versionedName('sync_horizons', version))}`.execute(db);
  }
}
