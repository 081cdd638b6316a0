// The mail port: what Parley sends people (a password-reset link, for now).
// This file: the port and the outbox adapter `npm start` uses — each mail is
// written to a file under the data dir and to the log, so a developer can
// click the link without any mail server. smtp-mailer.ts sends for real.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
  /**
   * Forgets what was sent to an address, where Parley still holds it (the
   * outbox's files; an account deletion asks). Mail that left for an SMTP
   * server is beyond reach: nothing to do.
   */
  forget(address: string): Promise<void>;
  close(): Promise<void>;
}

/** Writes each mail to `<dir>/<time>-<id>.txt` and logs it. For one machine only: the files hold links that log in. */
export function createOutboxMailer(options: { dir: string; logger: Logger }): Mailer {
  const { dir, logger } = options;
  return {
    async send(mail) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}.txt`);
      await fs.writeFile(file, `To: ${mail.to}\nSubject: ${mail.subject}\n\n${mail.text}\n`, { mode: 0o600 });
      logger.info(
        { to: mail.to, subject: mail.subject, file, text: mail.text },
        'mail written to the outbox (no SMTP configured)',
      );
    },
    async forget(address) {
      const files = await fs.readdir(dir).catch(() => [] as string[]);
      for (const name of files) {
        const file = path.join(dir, name);
        const text = await fs.readFile(file, 'utf8').catch(() => '');
        if (text.startsWith(`To: ${address}\n`)) await fs.rm(file, { force: true });
      }
    },
    close: () => Promise.resolve(),
  };
}
