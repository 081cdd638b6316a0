// Web Push (issue 14): the users' push subscriptions, in every version of the
// chat model (chat-schema.ts creates new versions with them).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createPushSubscriptionsTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await createPushSubscriptionsTable(db, version);
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await sql`drop table if exists ${sql.table(versionedName('push_subscriptions', version))}`.execute(db);
  }
}
