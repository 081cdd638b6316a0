// When each member last set their room's notifications (notifications_set's
// `at`), in every version of the chat model (chat-schema.ts creates new
// versions with it): the pusher judges a message by the settings as they
// stood when it was sent, and a setting changed at or after that moment
// tells it the row no longer says so (push/notify-rules.ts). Null: never set
// since the column exists — a rebuild fills it from the log.

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    await db.schema.alterTable(versionedName('room_members', version)).addColumn('notify_set_at', 'bigint').execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['room_members'] })) {
    await db.schema.alterTable(versionedName('room_members', version)).dropColumn('notify_set_at').execute();
  }
}
