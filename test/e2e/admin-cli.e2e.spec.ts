// `parley admin grant|revoke <username>` as an operator runs it (API.md
// "Global admins"; issue 15): the granted account may do what a global admin
// does, the act is in the audit as the operator's, and revoking takes it back.
// Embedded mode: the command takes the data dir, so the server stops for it
// (like `parley seed`). In both modes (modes.ts).

import { afterAll, expect, test } from 'vitest';
import { runParley, type CliResult } from '../support/cli.ts';
import { registerUser, type TestUser } from '../support/client.ts';
import { e2eMode, modeEnv } from '../support/modes.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';
import { apiOf, expectError, expectStatus } from '../support/social.ts';

const OPERATOR_ID = '00000000-0000-0000-0000-000000000000';
const dataDir = tempDataDir('parley-admin-cli-');
let server: ParleyProcess | undefined;

afterAll(async () => {
  await server?.stop();
});

async function admin(args: string[]): Promise<CliResult> {
  return runParley(['admin', ...args], { PARLEY_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(await modeEnv(dataDir)) });
}

interface AuditPage {
  actions: { action: string; admin_id: string; target_user_id: string }[];
}

test(`grants and revokes global admin, each act in the audit (${e2eMode})`, async () => {
  server = await startParley({ dataDir, env: { PARLEY_REGISTER_MAX_PER_IP: '1000' } });
  const [alice, bob]: TestUser[] = [await registerUser(server.url, 'alice'), await registerUser(server.url, 'bob')];
  expectError(await apiOf(server.url).get(alice!, '/admin/audit'), 403, 'forbidden');
  await server.stop();
  server = undefined;

  const granted = await admin(['grant', alice!.username.toUpperCase()]);
  expect(granted.code, granted.stderr).toBe(0);
  expect(granted.stdout).toBe(`${alice!.username} is a global admin\n`);
  const unknown = await admin(['grant', 'nobody_here']);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain('no account named nobody_here');
  const malformed = await admin(['promote', alice!.username]);
  expect(malformed.code).toBe(1);
  expect(malformed.stderr).toContain('usage: parley admin grant|revoke <username>');

  server = await startParley({ dataDir });
  let api = apiOf(server.url);
  const audit = expectStatus(await api.get<AuditPage>(alice!, '/admin/audit'), 200);
  expect(audit.actions.map((a) => [a.action, a.admin_id, a.target_user_id])).toEqual([['grant_admin', OPERATOR_ID, alice!.id]]);
  // What an admin does: suspend an account.
  expectStatus(await api.put(alice!, `/admin/users/${bob!.id}/suspension`, { reason: 'testing' }), 200);
  expectError(await api.get(bob!, '/admin/audit'), 401, 'invalid_token');
  await server.stop();
  server = undefined;

  const revoked = await admin(['revoke', alice!.username]);
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(revoked.stdout).toBe(`${alice!.username} is no longer a granted global admin\n`);

  server = await startParley({ dataDir });
  api = apiOf(server.url);
  expectError(await api.get(alice!, '/admin/audit'), 403, 'forbidden');
}, 240_000);
