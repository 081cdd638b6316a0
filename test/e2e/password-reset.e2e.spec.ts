// A forgotten password, as a user lives it: ask for a link by email, follow it
// once, and the account is theirs again — every old session ended. Asking
// reveals nothing about whether an account has the address. On the embedded
// server the mail lands in the data dir's outbox; on a cluster it goes through
// the SMTP adapter to a real SMTP server this test runs (smtp-server).

import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/chat.ts';
import { registerUser, request } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';

/** Runs the whole flow; `mailTo(address)` answers the text of the mails that address got. */
async function resetFlow(url: string, mailTo: (address: string) => string[]): Promise<void> {
  const user = await registerUser(url, 'forgetful');
  const ask = (email: string) => request(url, 'POST', '/api/v1/auth/password-reset', { body: { email } });

  const known = await ask(user.email.toUpperCase()); // the address as the user types it
  const unknown = await ask(`nobody-${Date.now()}@example.org`);
  expect(known.status).toBe(202);
  expect(unknown.status).toBe(202);
  expect(unknown.body).toEqual(known.body); // no word on who has an account
  expect((await ask('not an email')).status).toBe(400);

  await eventually(() => mailTo(user.email).length === 1, 'the reset mail');
  const [mail] = mailTo(user.email);
  expect(mail).toContain('Reset your Parley password');
  const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(mail!)?.[1];
  expect(token).toBeDefined();

  const confirm = (newPassword: string, with_ = token!) =>
    request(url, 'POST', '/api/v1/auth/password-reset/confirm', { body: { token: with_, new_password: newPassword } });
  expect((await confirm('short')).status).toBe(400); // too weak: refused before the token is spent
  expect((await confirm('a fresh passphrase', 'x'.repeat(43))).status).toBe(401);
  expect((await confirm('a fresh passphrase')).status).toBe(204);
  // Once only.
  const again = await confirm('yet another passphrase');
  expect(again.status).toBe(401);
  expect(again.body).toMatchObject({ error: { code: 'invalid_reset_token' } });

  // Every old session ended; the new password opens the account, the old one no longer does.
  await eventually(
    async () => (await request(url, 'GET', '/api/v1/users/me', { token: user.token })).status === 401,
    'old token refused',
  );
  expect((await request(url, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: user.refreshToken } })).status).toBe(401);
  const login = (password: string) => request(url, 'POST', '/api/v1/auth/login', { body: { login: user.username, password } });
  expect((await login(user.password)).status).toBe(401);
  expect((await login('a fresh passphrase')).status).toBe(200);
}

describe('password reset on the embedded server (mail to the outbox)', () => {
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley();
  });
  afterAll(() => server.stop());

  it('a link by email, good once, ends every old session; asking reveals nothing', async () => {
    const outbox = path.join(server.dataDir, 'mail');
    const mailTo = (address: string) =>
      (fs.existsSync(outbox) ? fs.readdirSync(outbox) : [])
        .map((file) => fs.readFileSync(path.join(outbox, file), 'utf8'))
        .filter((text) => text.startsWith(`To: ${address}\n`));
    await resetFlow(server.url, mailTo);
    // The log shows the link too, for a developer to click.
    expect(server.logs.some((entry) => entry.msg === 'mail written to the outbox (no SMTP configured)')).toBe(true);
  });
});

describe.runIf(await stackAvailable('password reset'))('password reset on a cluster (mail over SMTP)', () => {
  const received: { to: string[]; data: string }[] = [];
  let smtp: SMTPServer;
  let cluster: Cluster;

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        let data = '';
        stream.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), data });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    cluster = await startCluster('password_reset', 1, { PARLEY_SMTP_URL: `smtp://127.0.0.1:${port}` });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('a link by email, good once, ends every old session; asking reveals nothing', async () => {
    // Soft line breaks of quoted-printable joined again, so the link reads whole.
    const mailTo = (address: string) =>
      received.filter((mail) => mail.to.includes(address)).map((mail) => mail.data.replace(/=\r?\n/g, '').replace(/=3D/g, '='));
    await resetFlow(cluster.nodes[0]!.url, mailTo);
  });
});
