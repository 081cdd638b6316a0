// Bots' API tokens (issue 15): long-lived bearer tokens that authenticate a
// bot account over REST and the WebSocket, as an access token does a person.
//
// A token is `pbt_` and 32 random bytes (base64url): the prefix lets the
// authentication tell it from a JWT without parsing either, and lets secret
// scanners recognise a leaked one. Only its SHA-256 is kept (bot_tokens,
// beside the read models; never in the log): a copy of the database does not
// hold a working token. A plain hash suffices — unlike a password, the token
// has 256 bits of entropy, so nothing can be guessed from its hash, and a
// lookup by hash costs one indexed read per request.
//
// A token is valid until revoked, and only while its bot exists and is not
// suspended: each presentation reads the row and the account, so a revocation
// or a suspension holds on the next request on every instance. When it was
// last used is kept to a resolution (one write per token per minute by
// default, never one per request), so admins can find the tokens nobody uses.

import { createHash, randomBytes } from 'node:crypto';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { AuthError } from './errors.ts';
import { refuseSuspension, suspensionColumns, suspensionIn } from './suspension.ts';
import { durably } from '../store/dialect.ts';
import type { BotTokensTable, Database } from '../store/schema.ts';

export const BOT_TOKEN_PREFIX = 'pbt_';
const BOT_TOKEN = /^pbt_[A-Za-z0-9_-]{43}$/;

export const isBotToken = (token: string): boolean => token.startsWith(BOT_TOKEN_PREFIX);

export const newBotToken = (): string => BOT_TOKEN_PREFIX + randomBytes(32).toString('base64url');

export const botTokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Who a bot token authenticates, and where it may act. */
export interface BotIdentity {
  userId: string;
  /** The token's id: what a revocation names, so the sockets it opened close (infra/session-revocations.ts). */
  sessionId: string;
  /** Never: a bot token lives until revoked. */
  expiresAt: number;
  /** The rooms it may act in; null: every room of the bot. */
  rooms: readonly string[] | null;
}

/**
 * The bot a token authenticates; AuthError `invalid_token` for a token that is
 * malformed, unknown, revoked or of a deleted bot, 403 `account_suspended`
 * while its bot is suspended.
 */
export async function verifyBotToken(
  db: Kysely<Database>,
  token: string,
  use: { resolutionS: number; now?: number },
): Promise<BotIdentity> {
  if (!BOT_TOKEN.test(token)) throw new AuthError('invalid_token');
  const row = await db
    .selectFrom('bot_tokens')
    .select(['id', 'user_id', 'room_ids', 'last_used_at'])
    .where('token_hash', '=', botTokenHash(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (row === undefined) throw new AuthError('invalid_token');
  const bot = await db
    .selectFrom('users')
    .select(suspensionColumns)
    .where('id', '=', row.user_id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (bot === undefined) throw new AuthError('invalid_token', 'bot deleted');
  refuseSuspension(suspensionIn(bot));
  const now = use.now ?? Date.now();
  if (row.last_used_at === null || now - row.last_used_at >= use.resolutionS * 1000) {
    await db.updateTable('bot_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return { userId: row.user_id, sessionId: row.id, expiresAt: Infinity, rooms: roomsOf(row) };
}

/** A token as the admins' routes list it: never the token, nor its hash. */
export interface BotTokenView {
  id: string;
  bot_id: string;
  name: string;
  room_ids: string[] | null;
  created_by: string;
  created_at: number;
  revoked_at: number | null;
  /** When it last authenticated a request or a socket (to PARLEY_BOT_TOKEN_USE_RESOLUTION_S); null: never. */
  last_used_at: number | null;
}

const roomsOf = (row: Pick<BotTokensTable, 'room_ids'>): string[] | null =>
  row.room_ids === null ? null : (JSON.parse(row.room_ids) as string[]);

export const botTokenView = (row: Omit<Selectable<BotTokensTable>, 'token_hash'>): BotTokenView => ({
  id: row.id,
  bot_id: row.user_id,
  name: row.name,
  room_ids: roomsOf(row),
  created_by: row.created_by,
  created_at: row.created_at,
  revoked_at: row.revoked_at,
  last_used_at: row.last_used_at,
});

/** Records a token's hash (before the command that issues it, as a password's hash is: see bots.ts). */
export async function storeBotToken(db: Kysely<Database>, row: Insertable<BotTokensTable>): Promise<void> {
  await durably(db, (connection) => connection.insertInto('bot_tokens').values(row).execute());
}

export async function forgetBotToken(db: Kysely<Database>, tokenId: string): Promise<void> {
  await db.deleteFrom('bot_tokens').where('id', '=', tokenId).execute();
}

/**
 * Marks a token revoked, on disk when it returns (a revocation must survive a
 * power cut); false when the bot has no such token not revoked already.
 */
export async function markBotTokenRevoked(db: Kysely<Database>, botId: string, tokenId: string, at: number): Promise<boolean> {
  const result = await durably(db, (connection) =>
    connection
      .updateTable('bot_tokens')
      .set({ revoked_at: at })
      .where('id', '=', tokenId)
      .where('user_id', '=', botId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst(),
  );
  return result.numUpdatedRows > 0n;
}

/** Revokes every token of a bot not revoked yet; answers their ids. */
export async function revokeAllBotTokens(db: Kysely<Database>, botId: string, at: number): Promise<string[]> {
  const ids = await liveBotTokenIds(db, botId);
  if (ids.length > 0) {
    await durably(db, (connection) =>
      connection.updateTable('bot_tokens').set({ revoked_at: at }).where('id', 'in', ids).execute(),
    );
  }
  return ids;
}

/** A bot's tokens, newest first (revoked ones too, saying when). */
export async function botTokensOf(db: Kysely<Database>, botId: string): Promise<BotTokenView[]> {
  const rows = await db
    .selectFrom('bot_tokens')
    .select(['id', 'user_id', 'name', 'room_ids', 'created_by', 'created_at', 'revoked_at', 'last_used_at'])
    .where('user_id', '=', botId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(botTokenView);
}

/** The ids of a user's tokens not revoked (none for a person): ending a bot's sessions closes their sockets. */
export async function liveBotTokenIds(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('bot_tokens')
    .select('id')
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((row) => row.id);
}
