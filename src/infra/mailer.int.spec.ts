// The mail adapters as they run: the SMTP one against a real SMTP server the
// test starts on this machine (smtp-server), the outbox one on a real folder.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxMailer } from './mailer.ts';
import { createSmtpMailer } from './smtp-mailer.ts';
import { readableMail, startTestSmtpServer, type TestSmtpServer } from '../../test/support/smtp.ts';

const mail = {
  to: 'ana@example.org',
  subject: 'Reset your Parley password',
  text: 'Open https://chat.example/reset?token=abc 👋',
};

describe('SMTP mailer against a real SMTP server', () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startTestSmtpServer();
  });
  afterAll(() => smtp.close());

  it('delivers a mail with its sender, recipient, subject and UTF-8 body', async () => {
    const mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Parley <no-reply@chat.example>' });
    await mailer.send(mail);
    await mailer.close();
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]).toMatchObject({ from: 'no-reply@chat.example', to: ['ana@example.org'] });
    expect(smtp.received[0]!.data).toContain('Subject: Reset your Parley password');
    expect(readableMail(smtp.received[0]!)).toContain('https://chat.example/reset?token=abc');
  });

  it('rejects when no server answers, so the caller knows the mail did not go', async () => {
    const mailer = createSmtpMailer({ url: 'smtp://127.0.0.1:1', from: 'no-reply@chat.example' });
    await expect(mailer.send(mail)).rejects.toThrow(/ECONNREFUSED|connect/);
    await mailer.close();
  });
});

describe('outbox mailer', () => {
  it('writes each mail to a file of its own, readable by its owner only', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-outbox-'));
    try {
      const mailer = createOutboxMailer({ dir: path.join(dir, 'mail'), logger: pino({ level: 'silent' }) });
      await mailer.send(mail);
      await mailer.send({ ...mail, to: 'bo@example.org' });
      const files = await fs.readdir(path.join(dir, 'mail'));
      expect(files).toHaveLength(2);
      const texts = await Promise.all(files.map((file) => fs.readFile(path.join(dir, 'mail', file), 'utf8')));
      expect(
        texts.some((text) => text.startsWith('To: ana@example.org\nSubject: Reset your Parley password\n\nOpen https://')),
      ).toBe(true);
      const stat = await fs.stat(path.join(dir, 'mail', files[0]!));
      expect(stat.mode & 0o077).toBe(0);
      // An account deletion forgets what was sent to its address, and nothing else.
      await mailer.forget('ana@example.org');
      const left = await fs.readdir(path.join(dir, 'mail'));
      expect(left).toHaveLength(1);
      expect(await fs.readFile(path.join(dir, 'mail', left[0]!), 'utf8')).toMatch(/^To: bo@example.org\n/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
