// A room's retention: its owner may have messages older than `retention_days`
// erased (docs/PRIVACY.md, "Retention"), in every version of the chat model's
// rooms table (chat-schema.ts creates new ones with the column).

import type { AnyDatabase } from '../src/store/dialect.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await db.schema.alterTable(versionedName('rooms', version)).addColumn('retention_days', 'integer').execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['rooms'] })) {
    await db.schema.alterTable(versionedName('rooms', version)).dropColumn('retention_days').execute();
  }
}
