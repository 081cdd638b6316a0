// One-time account tokens: a random secret sent to the user (a password-reset
// link, an email confirmation), of which only the SHA-256 is stored. Spending one is a single UPDATE
// that succeeds for one caller only, and only before it expires.

import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { durably } from '../store/dialect.ts';
import type { AccountTokensTable, Database } from '../store/schema.ts';

type Purpose = AccountTokensTable['purpose'];

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
/** 32 random bytes, base64url: what a token looks like (anything else is refused unread). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export async function issueOneTimeToken(
  db: Kysely<Database>,
  userId: string,
  purpose: Purpose,
  ttlMs: number,
  options: { email?: string; now?: number } = {},
): Promise<string> {
  const now = options.now ?? Date.now();
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('account_tokens')
    .values({
      token_hash: hashOf(token),
      user_id: userId,
      purpose,
      email: options.email ?? null,
      created_at: now,
      expires_at: now + ttlMs,
      used_at: null,
    })
    .execute();
  return token;
}

/** Spends a token: who it was issued to (and the email it confirms), or undefined (unknown, spent, expired, another purpose). */
export async function spendOneTimeToken(
  db: Kysely<Database>,
  token: string,
  purpose: Purpose,
  now = Date.now(),
): Promise<{ userId: string; email: string | null } | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const hash = hashOf(token);
  // On disk when it returns: a spent link must stay spent through a power cut.
  const spent = await durably(db, (connection) =>
    connection
      .updateTable('account_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', hash)
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst(),
  );
  if (spent.numUpdatedRows !== 1n) return undefined;
  const row = await db
    .selectFrom('account_tokens')
    .select(['user_id', 'email'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  return row === undefined ? undefined : { userId: row.user_id, email: row.email };
}

/** Ends every unspent token of a user (a reset that succeeded, an account deleted). */
export async function forgetOneTimeTokens(db: Kysely<Database>, userId: string): Promise<void> {
  await db.deleteFrom('account_tokens').where('user_id', '=', userId).execute();
}
