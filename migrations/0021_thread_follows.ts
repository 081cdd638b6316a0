// Followed threads (issue 14): who follows which thread and how far they have
// read it, in every version of the chat model (chat-schema.ts creates new
// versions with it). Replies sent before it follow nobody until
// `parley rebuild chat` (the log has them).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createThreadFollowsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await createThreadFollowsTable(db, version);
    const index = (name: string, columns: string[]) =>
      db.schema.createIndex(versionedName(name, version)).on(versionedName('thread_follows', version)).columns(columns).execute();
    await index('thread_follows_by_user', ['user_id', 'last_activity_at']);
    await index('thread_follows_room_seq', ['room_id', 'root_seq']);
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['thread_follows'] })) {
    await sql`drop table ${sql.table(versionedName('thread_follows', version))}`.execute(db);
  }
}
