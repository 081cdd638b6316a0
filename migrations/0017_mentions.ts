// The mentions inbox (issue 14): who each message mentions, in every version
// of the chat model (chat-schema.ts creates new versions with it). Messages
// sent before it are not in it until `parley rebuild chat` (the log has their
// mentions).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createMentionsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await createMentionsTable(db, version);
    const index = (name: string, columns: string[]) =>
      db.schema.createIndex(versionedName(name, version)).on(versionedName('mentions', version)).columns(columns).execute();
    await index('mentions_by_user', ['user_id', 'mentioned_at']);
    await index('mentions_room_seq', ['room_id', 'seq']);
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['mentions'] })) {
    await sql`drop table ${sql.table(versionedName('mentions', version))}`.execute(db);
  }
}
