// Confirming an email by a one-time link mailed to it: the address given at
// registration, or a new one the user changes to (then the account's email
// changes only once the link is followed, so nobody can take over an address
// they cannot read). Following the link records `email_confirmed` (the
// address sealed, docs/PRIVACY.md); a change moves the email's reservation
// from the old address's keyed hash to the new one's.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { commandMetadata } from '../commands/command-bus.ts';
import type { CommandExecutor } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import type { Mailer } from '../infra/mailer.ts';
import { emailIndexKeyId, userKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { accountIdentity, emailRegistered } from '../queries/users-queries.ts';
import type { Database } from '../store/schema.ts';
import { AuthError } from './errors.ts';
import { issueOneTimeToken, spendOneTimeToken } from './one-time-tokens.ts';

export interface EmailConfirmation {
  /** Mails a confirmation link to `email` for the user, in the background. */
  send(userId: string, email: string, linkBase: string): void;
  /** Follows a link: the account's email is now the one it confirms. AuthError `invalid_email_token` when it is no good. */
  confirm(token: string): Promise<void>;
}

export function createEmailConfirmation(deps: {
  db: Kysely<Database>;
  mailer: Mailer;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  ttlS: number;
  logger: Logger;
}): EmailConfirmation {
  const { db, mailer, executor, vault, logger } = deps;

  async function mailLink(userId: string, email: string, linkBase: string): Promise<void> {
    const token = await issueOneTimeToken(db, userId, 'confirm_email', deps.ttlS * 1000, { email });
    await mailer.send({
      to: email,
      subject: 'Confirm your email for Parley',
      text:
        `Confirm that this address is yours by opening, within ${Math.round(deps.ttlS / 3600)} hours:\n` +
        `${linkBase}/verify-email?token=${token}\n\n` +
        `(An app sends POST /api/v1/auth/verify-email {"token": "${token}"}.)\n\n` +
        `If you did not ask for this, ignore this mail.`,
    });
  }

  const reservation = (type: 'reserve' | 'release', userId: string, index: string) =>
    executor.execute({ type, data: { kind: 'email', value: index, owner_id: userId }, metadata: commandMetadata(null) });

  return {
    send(userId, email, linkBase) {
      mailLink(userId, email, linkBase).catch((error: unknown) => logger.error({ err: error }, 'confirmation mail not sent'));
    },

    async confirm(token) {
      const spent = await spendOneTimeToken(db, token, 'confirm_email');
      if (spent?.email == null) throw new AuthError('invalid_email_token');
      const { userId, email } = spent;
      const current = await accountIdentity(db, userId);
      if (current === undefined) throw new AuthError('invalid_email_token');
      if (email !== current.email) {
        // A change: the new address must still be free, and its reservation moves.
        if (await emailRegistered(db, email)) throw new Rejection('email_taken', 'email is already taken');
        await reservation('reserve', userId, await vault.blindIndex(emailIndexKeyId, email));
        await reservation('release', userId, await vault.blindIndex(emailIndexKeyId, current.email)).catch((error: unknown) =>
          logger.error({ err: error, userId }, 'the old email’s reservation was not released'),
        );
      }
      const sealer = await vault.sealerFor(userKeyId(userId));
      await executor.execute({
        type: 'confirm_email',
        data: { user_id: userId, email: sealer.seal(email) },
        metadata: commandMetadata(userId),
      });
    },
  };
}
