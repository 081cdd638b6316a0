// Reads over the users read model.

import { sql, type Kysely } from 'kysely';
import { foldedColumn, likePrefix } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';
import { meView, userView, type MeView, type UserView } from './wire.ts';

export async function findUserById(db: Kysely<Database>, id: string): Promise<UserView | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  return row && userView(row);
}

/** Which of these ids are registered users. */
export async function existingUserIds(db: Kysely<Database>, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom('users').select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((row) => row.id));
}

/**
 * Users whose username or display name starts with `prefix` (already
 * LIKE-escaped and folded: NFKC, lower case); display names are folded in SQL
 * the same way (store/dialect.ts).
 */
export async function searchUsers(db: Kysely<Database>, prefix: string, limit: number): Promise<UserView[]> {
  const rows = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([likePrefix(db, sql.ref('username'), prefix), likePrefix(db, foldedColumn(db, 'display_name'), prefix)]))
    .where('deleted_at', 'is', null)
    .orderBy('username')
    .limit(limit)
    .execute();
  return rows.map(userView);
}

export async function lastSeenOf(db: Kysely<Database>, ids: string[]): Promise<Map<string, number | null>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('users')
    .leftJoin('user_last_seen as s', 's.user_id', 'users.id')
    .select(['users.id', 's.last_seen_at'])
    .where('users.id', 'in', ids)
    .execute();
  return new Map(rows.map((row) => [row.id, row.last_seen_at === null ? null : row.last_seen_at]));
}

/** The caller's own profile, email included; undefined once deleted. */
export async function findMe(db: Kysely<Database>, id: string): Promise<MeView | undefined> {
  const row = await db.selectFrom('users').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  return row === undefined ? undefined : meView(row);
}

/** Whether a user registered with this (lower-cased) email. */
export async function emailRegistered(db: Kysely<Database>, email: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  return row !== undefined;
}

/** What identifies a live account: its username and email (undefined once deleted). */
export async function accountIdentity(
  db: Kysely<Database>,
  userId: string,
): Promise<{ username: string; email: string } | undefined> {
  return db
    .selectFrom('users')
    .select(['username', 'email'])
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** The id of the user a (normalised) username names; undefined when nobody has it. */
export async function userIdByUsername(db: Kysely<Database>, username: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
  return row?.id;
}
