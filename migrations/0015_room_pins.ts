// Pinned messages (issue 14): a table of pins in every version of the chat
// model (chat-schema.ts creates new versions with it). Older events hold no
// pin, so an empty table is the right content; no rebuild is needed.

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createPinsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) await createPinsTable(db, version);
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_pins'] })) {
    await sql`drop table ${sql.table(versionedName('room_pins', version))}`.execute(db);
  }
}
