// Resetting a forgotten password by a one-time link sent to the account's
// email. Asking says nothing of whether an account has that email (the answer
// and its timing are the same either way: the mail goes out in the
// background); the link works once, for PARLEY_PASSWORD_RESET_TTL_S. Using it
// sets the new password and ends every session of the account, as a password
// change does, and the log records that the password changed.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { commandMetadata } from '../commands/command-bus.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import type { Mailer } from '../infra/mailer.ts';
import type { Database } from '../store/schema.ts';
import { updatePasswordHash } from './credentials.ts';
import { AuthError } from './errors.ts';
import { forgetOneTimeTokens, issueOneTimeToken, spendOneTimeToken } from './one-time-tokens.ts';
import { hashPassword } from './passwords.ts';

export interface PasswordReset {
  /** Starts a reset for whoever has this (lower-cased) email; resolves at once, whoever that is. */
  request(email: string, linkBase: string): void;
  /** Sets the new password if the token is good; otherwise AuthError `invalid_reset_token` (401). */
  confirm(token: string, newPassword: string): Promise<void>;
}

export function createPasswordReset(deps: {
  db: Kysely<Database>;
  mailer: Mailer;
  executor: CommandExecutor;
  /** Ends every session of the user (refresh and access tokens, sockets). */
  endSessions: (userId: string) => Promise<void>;
  ttlS: number;
  bcryptCost: number;
  logger: Logger;
}): PasswordReset {
  const { db, mailer, logger } = deps;

  async function sendLink(email: string, linkBase: string): Promise<void> {
    const user = await db
      .selectFrom('users')
      .select('id')
      .where('email', '=', email)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (user === undefined) return;
    const token = await issueOneTimeToken(db, user.id, 'password_reset', deps.ttlS * 1000);
    const minutes = Math.round(deps.ttlS / 60);
    await mailer.send({
      to: email,
      subject: 'Reset your Parley password',
      text:
        `Someone — we hope you — asked to reset the password of your Parley account.\n\n` +
        `Choose a new one here within ${minutes} minutes:\n${linkBase}/reset-password?token=${token}\n\n` +
        `(An app sends POST /api/v1/auth/password-reset/confirm {"token": "${token}", "new_password": "…"}.)\n\n` +
        `If it was not you, ignore this mail: your password stays as it is.`,
    });
  }

  return {
    request(email, linkBase) {
      sendLink(email, linkBase).catch((error: unknown) => logger.error({ err: error }, 'password-reset mail not sent'));
    },

    async confirm(token, newPassword) {
      const spent = await spendOneTimeToken(db, token, 'password_reset');
      if (spent === undefined) throw new AuthError('invalid_reset_token');
      const { userId } = spent;
      await updatePasswordHash(db, userId, await hashPassword(newPassword, deps.bcryptCost), Date.now());
      await forgetOneTimeTokens(db, userId);
      await deps.endSessions(userId);
      await deps.executor.execute({ type: 'change_password', data: { user_id: userId }, metadata: commandMetadata(userId) });
    },
  };
}
