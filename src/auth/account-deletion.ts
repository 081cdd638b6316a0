// Deleting an account (docs/PRIVACY.md, "Deleting an account"): the user says
// so with their password; the log gets `user_deleted`, whose projection
// destroys the keys of the profile and of the user's messages; the credentials
// and every session go; the email is free again at once and the username after
// a cooling-off period, so nobody can pose as its owner the day after.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { commandMetadata } from '../commands/command-bus.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import { emailIndexKeyId } from '../privacy/key-store.ts';
import type { Mailer } from '../infra/mailer.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { accountIdentity } from '../queries/users-queries.ts';
import type { Database } from '../store/schema.ts';
import { forgetCredentials } from './credentials.ts';
import { forgetOneTimeTokens } from './one-time-tokens.ts';

export async function deleteAccount(
  deps: {
    db: Kysely<Database>;
    executor: CommandExecutor;
    /** Ends every session of the user (refresh and access tokens, sockets). */
    endSessions: (userId: string) => Promise<void>;
    vault: PersonalDataVault;
    mailer: Mailer;
    usernameCoolingOffS: number;
    logger: Logger;
  },
  userId: string,
): Promise<void> {
  const { db, executor, vault, logger } = deps;
  const identity = await accountIdentity(db, userId);
  await executor.executeFor(userId, { type: 'delete_user', data: { user_id: userId } });
  // From here on the account is gone; what follows is cleanup, each step
  // harmless to repeat, none able to bring it back.
  await forgetCredentials(db, userId);
  await forgetOneTimeTokens(db, userId);
  await deps.endSessions(userId);
  if (identity === undefined) return; // a repeat: the read model had already erased it
  await deps.mailer.forget(identity.email);
  const now = Date.now();
  const release = (kind: 'username' | 'email', value: string, availableAt: number) =>
    executor
      .execute({
        type: 'release',
        data: { kind, value, owner_id: userId, available_at: availableAt },
        metadata: commandMetadata(null),
      })
      .catch((error: unknown) => logger.error({ err: error, userId, kind }, 'reservation of a deleted account not released'));
  await release('email', await vault.blindIndex(emailIndexKeyId, identity.email), now);
  await release('username', identity.username, now + deps.usernameCoolingOffS * 1000);
}
