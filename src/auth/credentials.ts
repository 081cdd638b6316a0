// The credentials store: what lets a user log in (a bcrypt hash of their
// password), kept beside the read models and never in the log. The auth
// routes write it with the command that sets it; no event says what it is,
// so a replay, a rebuild or a copy of the topics never holds it. It is not a
// projection: a rebuild of the read models leaves it as it is, and nothing
// replays a write a power cut took — so its writes are `durably` synced.

import type { Kysely } from 'kysely';
import { durably } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';

/** Records a new user's password hash (before the user exists: see the register route). */
export async function storePasswordHash(db: Kysely<Database>, userId: string, passwordHash: string, now: number): Promise<void> {
  await durably(db, (connection) =>
    connection.insertInto('credentials').values({ user_id: userId, password_hash: passwordHash, updated_at: now }).execute(),
  );
}

/** Removes a user's credentials (a registration that did not happen). */
export async function forgetCredentials(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom('credentials').where('user_id', '=', userId).execute();
}

/**
 * The user a login names (a normalised username, or a lower-cased email) and
 * their password hash; undefined when no registered user has both.
 */
export async function credentialsForLogin(
  db: Kysely<Database>,
  login: string,
): Promise<{ id: string; password_hash: string } | undefined> {
  const column = login.includes('@') ? 'users.email' : 'users.username';
  return db
    .selectFrom('users')
    .innerJoin('credentials', 'credentials.user_id', 'users.id')
    .select(['users.id', 'credentials.password_hash'])
    .where(column, '=', login)
    .executeTakeFirst();
}

/** A user's password hash; undefined for an unknown (or deleted) account. */
export async function passwordHashOf(db: Kysely<Database>, userId: string): Promise<string | undefined> {
  const row = await db.selectFrom('credentials').select('password_hash').where('user_id', '=', userId).executeTakeFirst();
  return row?.password_hash;
}

/**
 * Replaces a user's password hash (a password change or reset), on disk when
 * it returns: a change made after a compromise must not come undone in a power cut.
 */
export async function updatePasswordHash(db: Kysely<Database>, userId: string, passwordHash: string, now: number): Promise<void> {
  await durably(db, (connection) =>
    connection
      .updateTable('credentials')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('user_id', '=', userId)
      .execute(),
  );
}
