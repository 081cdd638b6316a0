// Reports to the moderators (issue 15), in every version of the chat model
// (chat-schema.ts creates new versions with them).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createReportsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await createReportsTable(db, version);
    const reports = versionedName('reports', version);
    await db.schema.createIndex(versionedName('reports_filed', version)).on(reports).columns(['filed_at']).execute();
    await db.schema.createIndex(versionedName('reports_room', version)).on(reports).columns(['room_id', 'filed_at']).execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await sql`drop table if exists ${sql.table(versionedName('reports', version))}`.execute(db);
  }
}
