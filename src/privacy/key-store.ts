// The key store: data keys in the `data_keys` table beside the read models
// (SQLite embedded, MySQL distributed), never in the log. A destroyed key
// keeps its row with the secret gone, so readers tell "erased" (the row says
// so) from "unavailable" (no row, or no answer): the first reads as erased,
// the second fails closed and is retried.

import type { Kysely } from 'kysely';
import { durably } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';

const MESSAGE_KEY_PREFIX = 'message:';

/** The key of one message: deleting the message destroys it. */
export const messageKeyId = (messageId: string): string => `${MESSAGE_KEY_PREFIX}${messageId}`;

/** The key of one user's profile (email, display name, bio, avatar). */
export const userKeyId = (userId: string): string => `user:${userId}`;

/** Seals a webhook's URL (it may hold a credential); destroyed when the webhook is deleted. */
export const webhookKeyId = (webhookId: string): string => `webhook:${webhookId}`;

/**
 * The key of the emails' blind index (vault.blindIndex): an email's
 * reservation is keyed by its hash under it, never by the address.
 */
export const emailIndexKeyId = 'index:email';

/** How many ids one statement of this module names at most. */
const KEYS_PER_STATEMENT = 500;

/** A key's secret, or null once it was destroyed. */
export type KeySecret = Buffer | null;

export interface NewKey {
  id: string;
  secret: Buffer;
}

/**
 * Stores new keys in one statement, on disk when it returns (`durably`: a key
 * exists nowhere else, and the log's records sealed under it are synced);
 * a key of an id already stored is left as it is.
 */
export async function storeKeys(db: Kysely<Database>, keys: readonly NewKey[], now: number): Promise<void> {
  if (keys.length === 0) return;
  await durably(db, (connection) =>
    connection
      .insertInto('data_keys')
      .ignore()
      .values(keys.map(({ id, secret }) => ({ id, created_at: now, secret, destroyed_at: null })))
      .execute(),
  );
}

/** The keys of `ids` the store knows (destroyed ones as null); unknown ids are absent. */
export async function fetchKeys(db: Kysely<Database>, ids: readonly string[]): Promise<Map<string, KeySecret>> {
  const found = new Map<string, KeySecret>();
  // In slices: a gathered read (key-reads.ts) may ask for thousands at once.
  for (let i = 0; i < ids.length; i += KEYS_PER_STATEMENT) {
    const rows = await db
      .selectFrom('data_keys')
      .select(['id', 'secret'])
      .where('id', 'in', ids.slice(i, i + KEYS_PER_STATEMENT))
      .execute();
    for (const row of rows) found.set(row.id, secretOf(row));
  }
  return found;
}

/**
 * Every message key's id is `message:` and a lowercase UUID: in both engines'
 * collations each sorts below this one, and every key of another kind
 * (`user:`, `webhook:`, `index:`) sorts outside the range it closes.
 */
const PAST_MESSAGE_KEYS = 'message:g';

/**
 * The keys of `ids` as fetchKeys answers them, and with them up to `ahead`
 * message keys from the smallest message key asked for on. Message ids are
 * UUID v7 and each process mints its pool's in order (message-keys.ts), so
 * the keys after one message's are those of the messages sent after it: a
 * reader that did not seal them (another instance's gateway, a rebuild) reads
 * them in one statement instead of one per round trip. Keys of messages
 * never sent come along too; they sealed nothing.
 */
export async function fetchKeysAhead(
  db: Kysely<Database>,
  ids: readonly string[],
  ahead: number,
): Promise<Map<string, KeySecret>> {
  const first = ids.filter((id) => id.startsWith(MESSAGE_KEY_PREFIX)).sort()[0];
  if (first === undefined || ahead === 0) return fetchKeys(db, ids);
  const rows = await db
    .selectFrom('data_keys')
    .select(['id', 'secret'])
    .where('id', '>=', first)
    .where('id', '<', PAST_MESSAGE_KEYS)
    .orderBy('id')
    .limit(ahead)
    .execute();
  const found = new Map(rows.map((row) => [row.id, secretOf(row)]));
  // What the range did not reach (other kinds, keys further on, unknown ids), by id.
  const rest = await fetchKeys(
    db,
    ids.filter((id) => !found.has(id)),
  );
  for (const [id, secret] of rest) found.set(id, secret);
  return found;
}

// node:sqlite answers a blob as a Uint8Array, mysql2 as a Buffer.
const secretOf = (row: { secret: Uint8Array | null }): KeySecret => (row.secret === null ? null : Buffer.from(row.secret));

/** Destroys the keys of `ids`: what they sealed is erased wherever it is. Idempotent. */
export async function destroyKeys(db: Kysely<Database>, ids: readonly string[], now: number): Promise<number> {
  let destroyed = 0;
  for (let i = 0; i < ids.length; i += KEYS_PER_STATEMENT) {
    const result = await db
      .updateTable('data_keys')
      .set({ secret: null, destroyed_at: now })
      .where('id', 'in', ids.slice(i, i + KEYS_PER_STATEMENT))
      .where('secret', 'is not', null)
      .executeTakeFirst();
    destroyed += Number(result.numUpdatedRows);
  }
  return destroyed;
}

/** Removes keys that never sealed anything (a key pool's leftovers at shutdown). */
export async function forgetUnusedKeys(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += KEYS_PER_STATEMENT) {
    await db
      .deleteFrom('data_keys')
      .where('id', 'in', ids.slice(i, i + KEYS_PER_STATEMENT))
      .execute();
  }
}
