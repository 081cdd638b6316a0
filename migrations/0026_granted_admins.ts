// Global admins granted by the operator (`parley admin grant`, issue 15): a
// flag on the user in every version of the chat model (chat-schema.ts creates
// new versions with it).

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema
      .alterTable(versionedName('users', version))
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await db.schema.alterTable(versionedName('users', version)).dropColumn('is_admin').execute();
  }
}
