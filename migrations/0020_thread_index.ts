// Threads (issue 14): the replies to a message, found by reply_to, in every
// version of the chat model (chat-schema.ts creates new versions with it).

import { engineOf, type AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['messages'] })) {
    await db.schema
      .createIndex(versionedName('messages_reply_to', version))
      .on(versionedName('messages', version))
      .columns(['reply_to', 'seq'])
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['messages'] })) {
    const drop = db.schema.dropIndex(versionedName('messages_reply_to', version));
    // MySQL names the table of an index; SQLite's DROP INDEX takes no ON.
    await (engineOf(db) === 'mysql' ? drop.on(versionedName('messages', version)) : drop).execute();
  }
}
