// Global admins suspend accounts (issue 15): the users table says whether and
// until when, and an audit table lists every admin act, in every version of
// the chat model (chat-schema.ts creates new versions with them).

import { sql } from 'kysely';
import type { AnyDatabase } from '../src/store/dialect.ts';
import { createAdminAuditTable } from '../src/projections/chat-schema.ts';
import { existingVersions, versionedName } from '../src/projections/versions.ts';

export async function up(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    const users = versionedName('users', version);
    await db.schema.alterTable(users).addColumn('suspended_at', 'bigint').execute();
    await db.schema.alterTable(users).addColumn('suspended_until', 'bigint').execute();
    await db.schema.alterTable(users).addColumn('suspension_reason', 'varchar(1000)').execute();
    await createAdminAuditTable(db, version);
    await db.schema
      .createIndex(versionedName('admin_audit_at', version))
      .on(versionedName('admin_audit', version))
      .columns(['at'])
      .execute();
  }
}

export async function down(db: AnyDatabase): Promise<void> {
  for (const version of await existingVersions(db, { tables: ['users'] })) {
    await sql`drop table if exists ${sql.table(versionedName('admin_audit', version))}`.execute(db);
    const users = versionedName('users', version);
    for (const column of ['suspension_reason', 'suspended_until', 'suspended_at']) {
      await db.schema.alterTable(users).dropColumn(column).execute();
    }
  }
}
