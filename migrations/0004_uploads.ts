// Uploads: one row per signed direct upload, `pending` until the storage's
// signed notification says the file is there, then `ready` with its URL (or
// `rejected` when the stored file breaks what was signed). Uploads are not chat
// events: nothing replays or projects them, so this table is written directly
// by the upload routes, not by a projection.

import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('uploads')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)')
    .addColumn('mime_type', 'varchar(100)', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('provider', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('url', 'varchar(2048)')
    // The provider's asset id and version: a notification repeating them is a replay.
    .addColumn('asset_id', 'varchar(128)')
    .addColumn('version', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .execute();
  // confirmedUpload looks a URL up among one user's uploads.
  await db.schema.createIndex('uploads_by_user').on('uploads').columns(['user_id', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('uploads').ifExists().execute();
}
