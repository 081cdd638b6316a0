// An avatar upload may ask, when it is signed, to become the user's avatar as
// soon as it is ready (issue 12: no second call). 1: set it then; 0: the
// client sets it itself (PATCH /api/v1/users/me).

import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  await db.schema
    .alterTable('uploads')
    .addColumn('sets_avatar', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: AnyDatabase): Promise<void> {
  await db.schema.alterTable('uploads').dropColumn('sets_avatar').execute();
}
