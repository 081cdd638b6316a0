// The account flows that go through a mailbox, as a user lives them. A
// forgotten password: ask for a link by email, follow it once, and the account
// is theirs again — every old session ended; asking reveals nothing about
// whether an account has the address. An email: confirmed by the link mailed
// at registration; changed only once the new address's link is followed. On
// the embedded server the mail lands in the data dir's outbox; on a cluster it
// goes through the SMTP adapter to a real SMTP server this test runs.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/chat.ts';
import { registerUser, request } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { readableMail, startTestSmtpServer, type TestSmtpServer } from '../support/smtp.ts';

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

  // (The registration's confirmation mail is there too.)
  const resetMails = () => mailTo(user.email).filter((text) => text.includes('reset-password?token'));
  await eventually(() => resetMails().length === 1, 'the reset mail');
  const [mail] = resetMails();
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

/** Confirming the registration's address, then changing it: the change happens only once the new address's link is followed. */
async function emailFlow(url: string, mailTo: (address: string) => string[]): Promise<void> {
  const user = await registerUser(url, 'mailer');
  const meNow = async () => (await request(url, 'GET', '/api/v1/users/me', { token: user.token })).body;
  expect(await meNow()).toMatchObject({ email: user.email, email_verified: false });
  const linkIn = (mail: string) => /verify-email\?token=([A-Za-z0-9_-]{43})/.exec(mail)?.[1];
  await eventually(() => mailTo(user.email).some((mail) => linkIn(mail) !== undefined), 'the confirmation mail');
  const verify = (token: string) => request(url, 'POST', '/api/v1/auth/verify-email', { body: { token } });
  const firstToken = linkIn(mailTo(user.email).find((mail) => linkIn(mail) !== undefined)!)!;
  expect((await verify(firstToken)).status).toBe(204);
  expect((await verify(firstToken)).status).toBe(401); // once only
  await eventually(async () => (await meNow()).email_verified === true, 'the email confirmed');

  const other = await registerUser(url, 'taken');
  const change = (email: string, password = user.password) =>
    request(url, 'POST', '/api/v1/users/me/email', { token: user.token, body: { email, password } });
  expect((await change(`new.${user.email}`, 'wrong password')).status).toBe(401);
  expect((await change(other.email)).status).toBe(409);
  const newAddress = `new.${user.email}`;
  expect((await change(newAddress.toUpperCase())).status).toBe(202);
  // Nothing changes until the new address's link is followed.
  expect(await meNow()).toMatchObject({ email: user.email, email_verified: true });
  await eventually(() => mailTo(newAddress).some((mail) => linkIn(mail) !== undefined), 'the change’s confirmation mail');
  expect((await verify(linkIn(mailTo(newAddress)[0]!)!)).status).toBe(204);
  await eventually(async () => (await meNow()).email === newAddress, 'the new email');
  expect(await meNow()).toMatchObject({ email: newAddress, email_verified: true });
  // The new address logs in; the old one is free for someone else.
  const login = (login: string) => request(url, 'POST', '/api/v1/auth/login', { body: { login, password: user.password } });
  expect((await login(newAddress)).status).toBe(200);
  expect((await login(user.email)).status).toBe(401);
  const reuse = await request(url, 'POST', '/api/v1/auth/register', {
    body: { username: `re${Date.now().toString(36)}`, email: user.email, password: 'another long password' },
  });
  expect(reuse.status).toBe(201);
}

describe('account mail on the embedded server (to the outbox)', () => {
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley();
  });
  afterAll(() => server.stop());

  it('a link by email, good once, ends every old session; asking reveals nothing', async () => {
    const mailTo = outboxMailTo(server);
    await resetFlow(server.url, mailTo);
    // The log shows the link too, for a developer to click.
    expect(server.logs.some((entry) => entry.msg === 'mail written to the outbox (no SMTP configured)')).toBe(true);
  });

  it('an email is confirmed by its link; a change happens once the new address confirms it', async () => {
    await emailFlow(server.url, outboxMailTo(server));
  });
});

/** The mails the SMTP server got for an address, readable. */
const smtpMailTo = (smtp: TestSmtpServer) => (address: string) =>
  smtp.received.filter((mail) => mail.to.includes(address)).map(readableMail);

/** The mails in a server's outbox for an address. */
const outboxMailTo = (server: ParleyProcess) => (address: string) => {
  const outbox = path.join(server.dataDir, 'mail');
  return (fs.existsSync(outbox) ? fs.readdirSync(outbox) : [])
    .map((file) => fs.readFileSync(path.join(outbox, file), 'utf8'))
    .filter((text) => text.startsWith(`To: ${address}\n`));
};

describe.runIf(await stackAvailable('account mail'))('account mail on a cluster (over SMTP)', () => {
  let smtp: TestSmtpServer;
  let cluster: Cluster;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    cluster = await startCluster('account_mail', 1, { PARLEY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}` });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
    await smtp.close();
  });

  it('a link by email, good once, ends every old session; asking reveals nothing', async () => {
    await resetFlow(cluster.nodes[0]!.url, smtpMailTo(smtp));
  });

  it('an email is confirmed by its link; a change happens once the new address confirms it', async () => {
    await emailFlow(cluster.nodes[0]!.url, smtpMailTo(smtp));
  });
});
