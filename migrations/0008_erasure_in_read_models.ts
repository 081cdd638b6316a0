// Erasure reaches the read models (docs/PRIVACY.md), in every version of the
// chat model (`parley rebuild` keeps several; chat-schema.ts creates new ones
// this way):
// * a user row says when the account was deleted; the projection of
//   user_deleted erases its profile and makes its username and email
//   placeholders, and finds the user's messages by an index of their own;
// * SQLite's full-text index removes a deleted message's terms as the message
//   goes (FTS5 `secure-delete`), instead of keeping them until a merge.

import { sql } from 'kysely';
import { engineOf, type AnyDatabase } from '../src/store/dialect.ts';
import { eraseDeletedTerms } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).addColumn('deleted_at', 'bigint').execute();
  }
  for (const version of await existingVersions(db, { tables: ['messages'] })) {
    await db.schema
      .createIndex(versionedName('messages_by_sender', version))
      .on(versionedName('messages', version))
      .columns(['sender_id', 'created_at'])
      .execute();
    if (engineOf(db) === 'sqlite' && (await sqliteHas(db, versionedName('messages_fts', version)))) {
      await eraseDeletedTerms(db, versionedName('messages_fts', version));
    }
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).dropColumn('deleted_at').execute();
  }
  for (const version of await existingVersions(db, { tables: ['messages'] })) {
    const index = sql.id(versionedName('messages_by_sender', version));
    // MySQL names the table of an index to drop; SQLite refuses to.
    if (engineOf(db) === 'mysql') await sql`drop index ${index} on ${sql.table(versionedName('messages', version))}`.execute(db);
    else await sql`drop index ${index}`.execute(db);
    // secure-delete stays on: it only ever removes more.
  }
}

async function sqliteHas(db: AnyDatabase, table: string): Promise<boolean> {
  const { rows } = await sql`select 1 from sqlite_master where name = ${table}`.execute(db);
  return rows.length > 0;
}
