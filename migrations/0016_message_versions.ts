// Edit history (issue 14): the text each edit replaced, in every version of
// the chat model (chat-schema.ts creates new versions with it). Edits made
// before this table existed left no earlier version in the read model (the log
// has them: `parley rebuild chat` fills it).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createVersionsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await createVersionsTable(db, version);
    await db.schema
      .createIndex(versionedName('message_versions_room_seq', version))
      .on(versionedName('message_versions', version))
      .columns(['room_id', 'seq'])
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['message_versions'] })) {
    await sql`drop table ${sql.table(versionedName('message_versions', version))}`.execute(db);
  }
}
