// Refresh tokens with rotation and reuse detection (RFC 9700 §4.14, OAuth 2.1
// §6.1). A login starts a family; each refresh consumes the presented token
// and issues its successor in the same family. Presenting a token that was
// already consumed means two parties hold it, so the whole family is revoked
// and the caller is told (onReuse) to record a security event.
//
// Tokens are 256 random bits, base64url; only their SHA-256 is stored, so the
// table is useless to whoever reads it. A token dies when consumed, revoked,
// idle past idleTtlS, or when its family is older than absoluteTtlS.
//
// The consume is one conditional UPDATE: among any number of concurrent
// rotations of one token exactly one changes the row, and only that one issues
// a successor. The losers see a consumed token, which is reuse: a client racing
// itself (two tabs refreshing at once) loses its session and logs in again.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { durably } from '../store/dialect.ts';
import { inTransaction } from '../store/transaction.ts';
import { AuthError } from './errors.ts';

export { AuthError } from './errors.ts';

const TOKEN_BYTES = 32;
/** 32 bytes in unpadded base64url. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface RefreshTokensOptions {
  db: Kysely<Database>;
  /** A token unused for this long is dead (a new one restarts the window). */
  idleTtlS: number;
  /** A family (one login) ends this long after the login, however used. */
  absoluteTtlS: number;
  /** Epoch milliseconds; tests inject one. */
  clock?: () => number;
  /** MySQL: seconds a rotation may stall mid-transaction before the server drops it (store/transaction.ts). */
  stalledTransactionS?: number;
  /**
   * Called when a consumed token is presented again, after its family has been
   * revoked. Log a security event here; errors it throws are ignored.
   */
  onReuse?: (userId: string, familyId: string) => void | Promise<void>;
}

export interface RotatedRefreshToken {
  userId: string;
  familyId: string;
  /** The successor; the presented token is spent. */
  token: string;
}

export interface RefreshTokenSession {
  userId: string;
  familyId: string;
}

export interface RefreshTokens {
  /**
   * Starts a family (a login) and returns its first token. `familyId` is the
   * session's id, which its access tokens carry (`sid`); a fresh one by default.
   */
  issue(userId: string, familyId?: string): Promise<string>;
  /** Spends `token` and returns its successor, or throws AuthError `invalid_refresh_token`. */
  rotate(token: string): Promise<RotatedRefreshToken>;
  /** Logout: revokes the token's family. Idempotent; an unknown token is no error (returns null). */
  revokeFamilyOf(token: string): Promise<RefreshTokenSession | null>;
  /** Ends every session of a user (disabled account, password change). Returns tokens revoked. */
  revokeAllForUser(userId: string): Promise<number>;
  /** Ends one session. Returns tokens revoked. */
  revokeFamily(familyId: string): Promise<number>;
  /** The sessions of a user still alive (not revoked, not past their absolute expiry). */
  liveFamiliesOf(userId: string): Promise<string[]>;
  /** Deletes rows of families past their absolute expiry. Returns rows deleted. */
  purgeExpired(): Promise<number>;
}

/** SHA-256 hex of a well-formed token; null for anything else (no lookup is made). */
export function refreshTokenHash(token: unknown): string | null {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
  return createHash('sha256').update(token).digest('hex');
}

const newToken = (): { token: string; hash: string } => {
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return { token, hash: createHash('sha256').update(token).digest('hex') };
};

const invalid = (): AuthError => new AuthError('invalid_refresh_token');

/** Thrown inside the rotation transaction to roll it back. */
class FamilyRevoked extends Error {}

export function createRefreshTokens(options: RefreshTokensOptions): RefreshTokens {
  const { db, idleTtlS, absoluteTtlS, onReuse } = options;
  const clock = options.clock ?? Date.now;
  const stalled = options.stalledTransactionS === undefined ? {} : { stalledAfterS: options.stalledTransactionS };
  for (const [name, value] of [
    ['idleTtlS', idleTtlS],
    ['absoluteTtlS', absoluteTtlS],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer`);
  }
  const idleMs = idleTtlS * 1000;
  const absoluteMs = absoluteTtlS * 1000;

  // Revocation runs twice. A rotation in flight holds the lock of the token it
  // consumes, so the first pass waits for it to commit; but under READ
  // COMMITTED that pass may already have scanned past the place where the
  // rotation's successor was inserted. The second pass starts after that
  // commit and catches it. (It usually changes nothing.)
  const revokeWhere = async (column: 'family_id' | 'user_id', value: string, now: number) => {
    let revoked = 0;
    for (let pass = 0; pass < 2; pass++) {
      revoked += await retryOnConflict(async () => {
        // On disk when it returns: a revoked session must not come back in a power cut.
        const result = await durably(db, (connection) =>
          connection
            .updateTable('refresh_tokens')
            .set({ revoked_at: now })
            .where(column, '=', value)
            .where('revoked_at', 'is', null)
            .executeTakeFirst(),
        );
        return Number(result.numUpdatedRows);
      });
    }
    return revoked;
  };

  const reportReuse = async (userId: string, familyId: string) => {
    try {
      await onReuse?.(userId, familyId);
    } catch {
      // The family is revoked either way; a failing logger must not turn the 401 into a 500.
    }
  };

  return {
    async issue(userId, familyId = randomUUID()) {
      if (typeof userId !== 'string' || userId === '') throw new TypeError('issue: userId must be a non-empty string');
      const now = clock();
      const { token, hash } = newToken();
      const familyExpiresAt = now + absoluteMs;
      await db
        .insertInto('refresh_tokens')
        .values({
          token_hash: hash,
          family_id: familyId,
          user_id: userId,
          created_at: now,
          expires_at: Math.min(now + idleMs, familyExpiresAt),
          family_expires_at: familyExpiresAt,
          used_at: null,
          revoked_at: null,
        })
        .execute();
      return token;
    },

    async rotate(token) {
      const hash = refreshTokenHash(token);
      if (hash === null) throw invalid();
      const now = clock();
      const successor = newToken();

      // Consume and insert the successor together: a crash between the two
      // must not leave a spent token with no successor.
      const rotated = await retryOnConflict(() =>
        inTransaction(
          db,
          async (trx) => {
            const consumed = await trx
              .updateTable('refresh_tokens')
              .set({ used_at: now })
              .where('token_hash', '=', hash)
              .where('used_at', 'is', null)
              .where('revoked_at', 'is', null)
              .where('expires_at', '>', now)
              .where('family_expires_at', '>', now)
              .executeTakeFirst();
            if (consumed.numUpdatedRows !== 1n) return null;
            const spent = await trx
              .selectFrom('refresh_tokens')
              .select(['family_id', 'user_id', 'family_expires_at'])
              .where('token_hash', '=', hash)
              .executeTakeFirstOrThrow();
            const familyExpiresAt = spent.family_expires_at;
            await trx
              .insertInto('refresh_tokens')
              .values({
                token_hash: successor.hash,
                family_id: spent.family_id,
                user_id: spent.user_id,
                created_at: now,
                expires_at: Math.min(now + idleMs, familyExpiresAt),
                family_expires_at: familyExpiresAt,
                used_at: null,
                revoked_at: null,
              })
              .execute();
            // A family revoked meanwhile (reuse of an older token, logout) gets
            // no successor. This runs while the consumed row is still locked, so
            // concurrent presenters of that same token cannot revoke the family
            // before this rotation commits: exactly one of them succeeds.
            const revoked = await trx
              .selectFrom('refresh_tokens')
              .select('token_hash')
              .where('family_id', '=', spent.family_id)
              .where('revoked_at', 'is not', null)
              .limit(1)
              .executeTakeFirst();
            if (revoked) throw new FamilyRevoked();
            return { userId: spent.user_id, familyId: spent.family_id };
          },
          stalled,
        ),
      ).catch((error: unknown) => {
        if (error instanceof FamilyRevoked) return null; // rolled back: nothing consumed
        throw error;
      });

      if (rotated === null) {
        const row = await db
          .selectFrom('refresh_tokens')
          .select(['family_id', 'user_id', 'used_at'])
          .where('token_hash', '=', hash)
          .executeTakeFirst();
        if (row && row.used_at !== null) {
          await revokeWhere('family_id', row.family_id, now);
          await reportReuse(row.user_id, row.family_id);
        }
        throw invalid();
      }

      return { ...rotated, token: successor.token };
    },

    async revokeFamilyOf(token) {
      const hash = refreshTokenHash(token);
      if (hash === null) return null;
      const row = await db
        .selectFrom('refresh_tokens')
        .select(['family_id', 'user_id'])
        .where('token_hash', '=', hash)
        .executeTakeFirst();
      if (!row) return null;
      await revokeWhere('family_id', row.family_id, clock());
      return { userId: row.user_id, familyId: row.family_id };
    },

    async revokeAllForUser(userId) {
      return revokeWhere('user_id', userId, clock());
    },

    async revokeFamily(familyId) {
      return revokeWhere('family_id', familyId, clock());
    },

    async liveFamiliesOf(userId) {
      const rows = await db
        .selectFrom('refresh_tokens')
        .select('family_id')
        .distinct()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('family_expires_at', '>', clock())
        .execute();
      return rows.map((row) => row.family_id);
    },

    async purgeExpired() {
      const result = await db.deleteFrom('refresh_tokens').where('family_expires_at', '<=', clock()).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

// InnoDB may pick one of two transactions touching one family as a deadlock
// victim (ER_LOCK_DEADLOCK), or time out a lock wait; both are safe to re-run.
// node:sqlite reports SQLITE_BUSY (5) / SQLITE_LOCKED (6) as `errcode`.
const isRetryable = (error: unknown): boolean => {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  if (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') return true;
  return code === 'ERR_SQLITE_ERROR' && (errcode === 5 || errcode === 6);
};

async function retryOnConflict<T>(operation: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10));
    }
  }
}
