// The mail port over SMTP (nodemailer): PARLEY_SMTP_URL names the server,
// `smtp://user:pass@host:587` (STARTTLS when the server offers it) or
// `smtps://…:465` (add `?pool=true` to keep connections open). One transport per process.

import nodemailer from 'nodemailer';
import type { Mailer } from './mailer.ts';

export function createSmtpMailer(options: { url: string; from: string }): Mailer {
  const transport = nodemailer.createTransport(options.url, { from: options.from });
  return {
    async send(mail) {
      await transport.sendMail({ to: mail.to, subject: mail.subject, text: mail.text });
    },
    forget: () => Promise.resolve(), // sent: the SMTP server has it, Parley does not
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}
