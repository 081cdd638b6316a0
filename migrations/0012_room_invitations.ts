// Invitations (security: nobody is put into a room without consent): a table of
// pending invitations in every version of the chat model (chat-schema.ts
// creates new versions with it). Older events hold no invitation, so an empty
// table is the right content; no rebuild is needed.

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createInvitationsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await createInvitationsTable(db, version);
    await db.schema
      .createIndex(versionedName('room_invitations_by_user', version))
      .on(versionedName('room_invitations', version))
      .columns(['user_id', 'invited_at'])
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_invitations'] })) {
    // Dropping the table drops its index on both engines.
    await sql`drop table ${sql.table(versionedName('room_invitations', version))}`.execute(db);
  }
}
