// Bot accounts and their API tokens, the admins' side (API.md "Bots"; issue
// 15). A global admin makes a bot (an account with no email and no password,
// marked as a bot in its profile), gives it tokens — each one shown once,
// optionally limited to some rooms — lists them and revokes them. Making a
// bot, issuing and revoking a token are commands of the bot's user aggregate,
// so each is in the log and in the admin audit; the tokens themselves are
// kept only as hashes beside the read models (auth/bot-tokens.ts).
//
// What a bot does with a token is what any member does: it is added to rooms
// as anyone is, posts over REST, and reads its rooms' frames on a socket (or
// a webhook of its room delivers them to its server).

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { registerBot } from '../auth/registration.ts';
import { commandMetadata } from '../commands/command-bus.ts';
import { requireAdmin } from '../auth/suspension.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import { newId } from '../ids.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { findUserById } from '../queries/users-queries.ts';
import { userView, type UserView } from '../queries/wire.ts';
import type { Database } from '../store/schema.ts';
import {
  botTokensOf,
  botTokenView,
  forgetBotToken,
  liveBotTokenIds,
  markBotTokenRevoked,
  revokeAllBotTokens,
  newBotToken,
  botTokenHash,
  storeBotToken,
  type BotTokenView,
} from '../auth/bot-tokens.ts';

export interface BotsDeps {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  /** PARLEY_ADMINS. */
  admins: readonly string[];
  /** PARLEY_BOT_TOKENS_MAX. */
  maxTokens: number;
  /** PARLEY_USERNAME_COOLING_OFF_S: a deleted bot's name is free again after it, as a person's. */
  usernameCoolingOffS: number;
  /** Closes the sockets opened with these tokens, on every gateway (infra/session-revocations.ts). */
  closeSockets: (tokenIds: readonly string[]) => Promise<void>;
  logger: Logger;
}

export async function createBot(
  deps: BotsDeps,
  adminId: string,
  input: { username: string; display_name?: string | undefined },
): Promise<UserView> {
  await requireAdmin(deps.db, deps.admins, adminId);
  const botId = await registerBot(deps, adminId, input);
  return readBot(deps.db, botId);
}

export async function listBots(deps: BotsDeps, adminId: string): Promise<{ bots: UserView[] }> {
  await requireAdmin(deps.db, deps.admins, adminId);
  const rows = await deps.db
    .selectFrom('users')
    .selectAll()
    .where('is_bot', '=', 1)
    .where('deleted_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return { bots: rows.map(userView) };
}

/** 404 `user_not_found` unless the id is a bot's that exists. */
async function readBot(db: Kysely<Database>, botId: string): Promise<UserView> {
  const bot = await findUserById(db, botId);
  if (bot === undefined || !bot.bot || bot.deleted) throw new Rejection('user_not_found', 'bot not found');
  return bot;
}

export async function issueBotToken(
  deps: BotsDeps,
  adminId: string,
  botId: string,
  input: { name: string; room_ids?: string[] | undefined },
): Promise<BotTokenView & { token: string }> {
  const { db } = deps;
  await requireAdmin(db, deps.admins, adminId);
  await readBot(db, botId);
  if ((await liveBotTokenIds(db, botId)).length >= deps.maxTokens) {
    throw new Rejection('invalid_state', `a bot holds at most ${deps.maxTokens} tokens; revoke one first`);
  }
  const token = newBotToken();
  const roomIds = input.room_ids === undefined ? null : [...new Set(input.room_ids)];
  const row = {
    id: newId(),
    user_id: botId,
    name: input.name,
    token_hash: botTokenHash(token),
    room_ids: roomIds === null ? null : JSON.stringify(roomIds),
    created_by: adminId,
    created_at: Date.now(),
    revoked_at: null,
    last_used_at: null,
  };
  // The hash first, as a password's: the token works once the command is
  // decided. If it is not, the row goes; a crash in between leaves a hash of a
  // token nobody was ever shown.
  await storeBotToken(db, row);
  try {
    await deps.executor.executeFor(adminId, {
      type: 'issue_bot_token',
      data: {
        user_id: botId,
        token_id: row.id,
        name: row.name,
        room_ids: roomIds,
        action_id: randomUUID(),
      },
    });
  } catch (error) {
    await forgetBotToken(db, row.id);
    throw error;
  }
  return { ...botTokenView(row), token };
}

export async function listBotTokens(deps: BotsDeps, adminId: string, botId: string): Promise<{ tokens: BotTokenView[] }> {
  await requireAdmin(deps.db, deps.admins, adminId);
  await readBot(deps.db, botId);
  return { tokens: await botTokensOf(deps.db, botId) };
}

/**
 * Revokes a token: refused from the next request on (the row says so before
 * anything else happens), its sockets closed, then the act is logged.
 */
export async function revokeBotToken(deps: BotsDeps, adminId: string, botId: string, tokenId: string): Promise<void> {
  const { db } = deps;
  await requireAdmin(db, deps.admins, adminId);
  if (!(await markBotTokenRevoked(db, botId, tokenId, Date.now()))) {
    throw new Rejection('not_found', 'no such token of this bot, or revoked already');
  }
  await deps.closeSockets([tokenId]);
  await deps.executor.executeFor(adminId, {
    type: 'revoke_bot_token',
    data: { user_id: botId, token_id: tokenId, action_id: randomUUID() },
  });
}

/**
 * Deletes a bot: its tokens are revoked first (nothing acts as it from here
 * on) and their sockets closed; then the account is deleted as a person's is
 * (`user_deleted`, naming the admin: its profile erased, its messages
 * tombstones), and its username is free again after the cooling-off.
 */
export async function deleteBot(deps: BotsDeps, adminId: string, botId: string): Promise<void> {
  const { db, executor } = deps;
  await requireAdmin(db, deps.admins, adminId);
  const bot = await readBot(db, botId);
  await deps.closeSockets(await revokeAllBotTokens(db, botId, Date.now()));
  await executor.executeFor(adminId, { type: 'delete_user', data: { user_id: botId, action_id: randomUUID() } });
  await executor
    .execute({
      type: 'release',
      data: {
        kind: 'username',
        value: bot.username,
        owner_id: botId,
        available_at: Date.now() + deps.usernameCoolingOffS * 1000,
      },
      metadata: commandMetadata(null),
    })
    .catch((error: unknown) => deps.logger.error({ err: error, botId }, 'username of a deleted bot not released'));
}
