// Delivery receipts (issue 14): how far each member's devices have received
// each room, in every version of the chat model (chat-schema.ts creates new
// versions with it). Reading implies receiving: a reader of the marks takes
// the larger of last_read_seq and last_delivered_seq.

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    await db.schema
      .alterTable(versionedName('room_members', version))
      .addColumn('last_delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    await db.schema.alterTable(versionedName('room_members', version)).dropColumn('last_delivered_seq').execute();
  }
}
