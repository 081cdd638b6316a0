// Confirmed emails: a user row says when its email was confirmed by the link
// mailed to it (null: not yet), in every version of the chat model's users
// table (chat-schema.ts creates new ones with the column).

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).addColumn('email_verified_at', 'bigint').execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).dropColumn('email_verified_at').execute();
  }
}
