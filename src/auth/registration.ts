// Registering a user, as the register route and `parley seed` both do it: the
// password's hash goes to the credentials store first (never into a command or
// an event), then the username and the email are reserved (reservation
// aggregates keyed by the value) before the user is registered, so two people
// can never end up with the same name, whichever instance they hit. Limits on
// who may register how often belong to the caller (the route's per-IP limit).

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { commandMetadata } from '../commands/command-bus.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import { newId } from '../ids.ts';
import { emailIndexKeyId, userKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { emailRegistered } from '../queries/users-queries.ts';
import type { Database } from '../store/schema.ts';
import { forgetCredentials, storePasswordHash } from './credentials.ts';

/** Who registers: a valid (folded) username and a lower-cased email (the register route's schema). */
export interface Registration {
  username: string;
  email: string;
  display_name?: string | undefined;
}

/** Registers a user whose password hashes to `passwordHash`; resolves with the new user's id. */
export type RegisterUser = (registration: Registration, passwordHash: string) => Promise<string>;

/** Reserving a value for an account, and giving its username back when the rest of the registration fails. */
function reservations(executor: CommandExecutor, logger: Logger) {
  const reserve = async (kind: 'username' | 'email', value: string, ownerId: string) => {
    await executor.execute({ type: 'reserve', data: { kind, value, owner_id: ownerId }, metadata: commandMetadata(null) });
  };
  async function withUsernameGivenBack(ownerId: string, username: string, rest: () => Promise<void>): Promise<void> {
    try {
      await rest();
    } catch (error) {
      // Give the name back: the registration as a whole did not happen.
      await executor
        .execute({
          type: 'release',
          data: { kind: 'username', value: username, owner_id: ownerId },
          metadata: commandMetadata(null),
        })
        .catch((releaseError: unknown) => logger.error({ err: releaseError }, 'username release failed'));
      throw error;
    }
  }
  return { reserve, withUsernameGivenBack };
}

/**
 * The register_user command, by `by` (the user themself, or the admin making a
 * bot). The profile's personal values enter the log sealed under the user's
 * key, which an account deletion destroys (privacy/vault.ts).
 */
async function sendRegistration(
  executor: CommandExecutor,
  vault: PersonalDataVault,
  by: string,
  account: { user_id: string; username: string; email: string; display_name: string; bot: boolean },
): Promise<void> {
  const sealer = await vault.sealerFor(userKeyId(account.user_id));
  await executor.execute({
    type: 'register_user',
    data: { ...account, email: sealer.seal(account.email), display_name: sealer.seal(account.display_name) },
    metadata: commandMetadata(by),
  });
}

/**
 * Makes a bot account for an admin (who may: the caller checked): the
 * username is reserved as anyone's, and the account has no email and no
 * password — nobody logs in as a bot; it acts with API tokens
 * (auth/bot-tokens.ts). Resolves with the bot's id.
 */
export async function registerBot(
  options: { executor: CommandExecutor; vault: PersonalDataVault; logger: Logger },
  adminId: string,
  bot: { username: string; display_name?: string | undefined },
): Promise<string> {
  const { executor, vault } = options;
  const { reserve, withUsernameGivenBack } = reservations(executor, options.logger);
  const botId = newId();
  await reserve('username', bot.username, botId);
  const account = { user_id: botId, username: bot.username, email: '', display_name: bot.display_name ?? bot.username };
  await withUsernameGivenBack(botId, bot.username, () => sendRegistration(executor, vault, adminId, { ...account, bot: true }));
  return botId;
}

export function createRegistration(options: {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  logger: Logger;
}): RegisterUser {
  const { db, executor, vault, logger } = options;
  const { reserve, withUsernameGivenBack } = reservations(executor, logger);

  /** Reserves the username and the email, then registers the user (see the header). */
  async function registerUser(userId: string, body: Registration): Promise<void> {
    // Emails registered before reservations were keyed by their hash are
    // reserved under the address itself: the read model knows them all.
    if (await emailRegistered(db, body.email)) throw new Rejection('email_taken', 'email is already taken');
    // The email's reservation is keyed by a keyed hash of it, never by the
    // address: record keys, aggregate ids and events are in the log too.
    const emailIndex = await vault.blindIndex(emailIndexKeyId, body.email);
    await reserve('username', body.username, userId);
    await withUsernameGivenBack(userId, body.username, () => reserve('email', emailIndex, userId));
    const { username, email } = body;
    const account = { user_id: userId, username, email, display_name: body.display_name ?? username, bot: false };
    await sendRegistration(executor, vault, userId, account);
  }

  return async (registration, passwordHash) => {
    const userId = newId();
    // The hash is keyed by the fresh id. If the registration does not happen
    // it is removed; a crash in between leaves a row no user will ever have.
    await storePasswordHash(db, userId, passwordHash, Date.now());
    try {
      await registerUser(userId, registration);
    } catch (error) {
      await forgetCredentials(db, userId).catch((forgetError: unknown) =>
        logger.error({ err: forgetError, userId }, 'credentials of a failed registration not removed'),
      );
      throw error;
    }
    return userId;
  };
}
