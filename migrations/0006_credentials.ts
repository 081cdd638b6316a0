// Passwords leave the log and the read models: a password's hash lives in
// `credentials`, written by the auth routes with the command that sets it,
// never projected and never in an event (user_registered v2 no longer carries
// it; src/log/upcasters.ts hides it in older events). The hashes that earlier
// versions projected into the chat model's users table move here once, and the
// column goes from every version of that table (`parley rebuild` keeps
// several; chat-schema.ts creates new ones without it).

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .createTable('credentials')
    .addColumn('user_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('password_hash', 'varchar(100)', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // Every version is a projection of the whole log, so each holds every hash
  // its events carried; the first one found for a user is kept.
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    const users = versionedName('users', version);
    await db
      .insertInto('credentials')
      .ignore()
      .columns(['user_id', 'password_hash', 'updated_at'])
      .expression((eb) => eb.selectFrom(users).select(['id', 'password_hash', 'created_at']))
      .execute();
    await db.schema.alterTable(users).dropColumn('password_hash').execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    const users = versionedName('users', version);
    await db.schema
      .alterTable(users)
      .addColumn('password_hash', 'varchar(100)', (c) => c.notNull().defaultTo(''))
      .execute();
    await db
      .updateTable(users)
      .set((eb) => ({
        password_hash: eb.fn.coalesce(
          eb.selectFrom('credentials').select('password_hash').whereRef('credentials.user_id', '=', `${users}.id`),
          eb.val(''),
        ),
      }))
      .execute();
  }
  await db.schema.dropTable('credentials').ifExists().execute();
}
