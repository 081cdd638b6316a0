// Upgrading from the last version that put password hashes in the log
// (commit f420637: register_user commands and user_registered v1 events
// carried them, and the users table held them). That version itself writes
// the data — an embedded data dir, and Kafka topics with a MySQL read model —
// then this version runs on it: the old users still log in, the hashes sit in
// the credentials store, and nothing `parley replay` prints holds a hash, old
// or new. The earlier version runs from `git archive` of that commit, with
// this checkout's node_modules (its runtime packages are the same).

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, request, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { requireInfra } from '../support/infra.ts';
import { startParley, tempDataDir } from '../support/server.ts';
import type { Session } from '../support/wire.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const LAST_VERSION_WITH_HASHES_IN_THE_LOG = 'f4206378a6573392682ab769f73fbcb0fd889a05';

/** That version's files, or null (loudly) when this clone does not have the commit. */
function checkoutOfLastVersionWithHashes(): string | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-f420637-'));
  try {
    const tar = execFileSync('git', ['archive', '--format=tar', LAST_VERSION_WITH_HASHES_IN_THE_LOG], {
      cwd: repoRoot,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    const message = `upgrade spec: commit ${LAST_VERSION_WITH_HASHES_IN_THE_LOG} is not in this clone (${(error as Error).message.split('\n')[0]})`;
    if (requireInfra) throw new Error(message, { cause: error });
    console.warn(`\n!!! ${message}: SKIPPED\n`);
    return null;
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** `parley replay …` of this version, as an analyst runs it; resolves with its stdout. */
function replay(env: Record<string, string>, ...args: string[]): Promise<string> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'src/main.ts'), 'replay', '--no-progress', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) =>
    child.once('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`replay exited ${code}: ${stderr}`)))),
  );
}

const login = (url: string, user: TestUser, password = user.password) =>
  request<Session>(url, 'POST', '/api/v1/auth/login', { body: { login: user.username, password } });

/** What an analyst sees of the log: every event and every command, decoded. */
async function everythingReplayed(env: Record<string, string>): Promise<string> {
  return (await replay(env, '--topic', 'events')) + (await replay(env, '--topic', 'commands'));
}

const checkout = checkoutOfLastVersionWithHashes();
afterAll(() => {
  if (checkout !== null) fs.rmSync(checkout, { recursive: true, force: true });
});

describe.runIf(checkout !== null)('upgrade from the version that put password hashes in the log, embedded', () => {
  const dataDir = tempDataDir('parley-upgrade-');
  const env = { PARLEY_DATA_DIR: dataDir };
  let before: TestUser;
  let after: TestUser;
  let url: string;

  beforeAll(async () => {
    const old = await startParley({ root: checkout!, dataDir });
    before = await registerUser(old.url, 'before');
    await old.stop();
    const current = await startParley({ dataDir });
    url = current.url;
    after = await registerUser(url, 'after');
    return () => current.stop();
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a user registered before the upgrade logs in, with the right password only', async () => {
    expect((await login(url, before)).status).toBe(200);
    expect((await login(url, before, 'not the password')).status).toBe(401);
    expect((await login(url, after)).status).toBe(200);
  });

  it('the hashes live in the credentials store, and the users table has none', () => {
    const db = new DatabaseSync(path.join(dataDir, 'read-models.sqlite'), { readOnly: true });
    try {
      const hashes = db.prepare('select user_id, password_hash from credentials').all() as {
        user_id: string;
        password_hash: string;
      }[];
      expect(hashes.map((row) => row.user_id).sort()).toEqual([before.id, after.id].sort());
      for (const row of hashes) expect(row.password_hash).toMatch(/^\$2b\$04\$/);
      const columns = (db.prepare('pragma table_info(users)').all() as { name: string }[]).map((c) => c.name);
      expect(columns).not.toContain('password_hash');
    } finally {
      db.close();
    }
  });

  it('parley replay prints no hash, neither the old user’s nor the new one’s', async () => {
    const printed = await everythingReplayed(env);
    expect(printed).toContain(before.username);
    expect(printed).toContain(after.username);
    expect(printed).not.toContain('password_hash');
    expect(printed).not.toMatch(/\$2[aby]\$\d\d\$/);
  });

  it('the hash of a user registered after the upgrade is nowhere in the log’s files', () => {
    const db = new DatabaseSync(path.join(dataDir, 'read-models.sqlite'), { readOnly: true });
    const { password_hash: hash } = db.prepare('select password_hash from credentials where user_id = ?').get(after.id) as {
      password_hash: string;
    };
    db.close();
    for (const file of fs.readdirSync(dataDir).filter((name) => name.startsWith('log.sqlite'))) {
      expect(fs.readFileSync(path.join(dataDir, file)).includes(hash), file).toBe(false);
    }
  });
});

const stack = checkout === null ? false : await stackAvailable('upgrade: hashes out of the log');

describe.runIf(stack)('upgrade from the version that put password hashes in the log, on Kafka and MySQL', () => {
  let cluster: Cluster;
  let before: TestUser;
  let after: TestUser;
  let url: string;

  beforeAll(async () => {
    cluster = await startCluster('upgrade_credentials', 1, {}, checkout!);
    before = await registerUser(cluster.nodes[0]!.url, 'before');
    await cluster.nodes[0]!.stop();
    cluster.nodes.length = 0;
    url = (await cluster.start()).url;
    after = await registerUser(url, 'after');
    return () => cluster.stop();
  });

  it('a user registered before the upgrade logs in, with the right password only', async () => {
    expect((await login(url, before)).status).toBe(200);
    expect((await login(url, before, 'not the password')).status).toBe(401);
    expect((await login(url, after)).status).toBe(200);
  });

  it('the hashes live in the credentials store, and the users table has none', async () => {
    const hashes = await cluster.query<{ user_id: string }>('select user_id from credentials');
    expect(hashes.map((row) => row.user_id).sort()).toEqual([before.id, after.id].sort());
    const columns = await cluster.query<{ Field: string }>('show columns from users');
    expect(columns.map((c) => c.Field)).not.toContain('password_hash');
  });

  it('parley replay of the topics prints no hash, neither the old user’s nor the new one’s', async () => {
    const printed = await everythingReplayed(cluster.env);
    expect(printed).toContain(before.username);
    expect(printed).toContain(after.username);
    expect(printed).not.toContain('password_hash');
    expect(printed).not.toMatch(/\$2[aby]\$\d\d\$/);
  });
});
