// Deleting a message — or a whole account — erases what it said from every
// copy, in both modes: the log only ever held it sealed, and the deletion
// destroys its keys.
// Checked as a data-protection officer would: by grepping the raw bytes of the
// storage (every file of the embedded data dir, SQLite's -wal included; the
// Kafka segment files of the cluster's topics), by `parley replay` (default and
// --with-personal-data) and, embedded, by a rebuild of the read model.
//
// Every text carries a random token; the grep looks for the token's tail, which
// survives wherever the text does (the full-text index keeps terms with their
// prefix shared with the term before them). Before the deletion the same grep
// finds the tokens in the read model: it can see what it looks for.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, eventually, fullHistory } from '../support/chat.ts';
import { parleyOutput } from '../support/cli.ts';
import { registerUser, request, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { Message, User } from '../support/wire.ts';

/** `parley …args` with `env`; resolves with its output (rejects on a non-zero exit). */
const parley = (env: Record<string, string>, args: string[]): Promise<string> =>
  parleyOutput(args, { LOG_LEVEL: 'warn', ...env });

const token = () => randomBytes(10).toString('hex');
/** What the grep looks for: the token's last 12 characters. */
const tail = (t: string) => t.slice(-12);

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    return entry.isFile() ? [file] : [];
  });
}

/** The files among `files` whose bytes contain `needle`. */
const filesHolding = (files: readonly string[], needle: string | Buffer): string[] =>
  files.filter((file) => fs.existsSync(file) && fs.readFileSync(file).includes(needle));

interface Scenario {
  alice: TestUser;
  bob: TestUser;
  roomId: string;
  doomed: Message;
  kept: Message;
  /** Tokens of the deleted message: as sent, and as edited. */
  erasedTokens: string[];
  keptToken: string;
}

async function say(url: string, user: TestUser, roomId: string, content: string): Promise<Message> {
  const response = await request<Message>(url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
    token: user.token,
    body: { content, client_msg_id: token() },
  });
  expect(response.status).toBe(201);
  return response.body;
}

/** Two messages; the first one is edited (its old text then lives in an earlier event too). */
async function chatBeforeDeletion(url: string): Promise<Scenario> {
  const alice = await registerUser(url, 'alice');
  const bob = await registerUser(url, 'bob');
  const roomId = await createRoom(url, alice, [bob], 'erasure');
  const [sent, edited, keptToken] = [token(), token(), token()];
  const doomed = await say(url, alice, roomId, `the heron flies at dawn zq${sent}`);
  const kept = await say(url, bob, roomId, `this one stays zq${keptToken}`);
  const edit = await request<Message>(url, 'PATCH', `/api/v1/rooms/${roomId}/messages/${doomed.id}`, {
    token: alice.token,
    body: { content: `actually at noon zq${edited}` },
  });
  expect(edit.status).toBe(200);
  return { alice, bob, roomId, doomed, kept, erasedTokens: [sent, edited], keptToken };
}

async function deleteDoomed(url: string, s: Scenario): Promise<void> {
  const response = await request<Message>(url, 'DELETE', `/api/v1/rooms/${s.roomId}/messages/${s.doomed.id}`, {
    token: s.alice.token,
  });
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ id: s.doomed.id, deleted: true, erased: true, content: null, attachments: [] });
}

async function expectHistoryAfterDeletion(url: string, s: Scenario): Promise<void> {
  const byId = new Map((await fullHistory(url, s.bob, s.roomId)).map((m) => [m.id, m]));
  expect(byId.get(s.doomed.id)).toMatchObject({ seq: s.doomed.seq, deleted: true, erased: true, content: null });
  expect(byId.get(s.kept.id)).toMatchObject({ content: `this one stays zq${s.keptToken}`, erased: false });
}

/**
 * `parley replay` as an analyst (default) and as an operator (--with-personal-data).
 * `commandsTopic`: whether the commands crossed the commands topic (an
 * instance decides those of its own partitions in-process unless
 * PARLEY_DECIDE_LOCALLY=false), so that its records are checked too.
 */
async function expectReplays(env: Record<string, string>, s: Scenario, commandsTopic: 'crossed' | 'bypassed'): Promise<void> {
  if (commandsTopic === 'bypassed') {
    expect(await parley(env, ['replay', '--no-progress', '--topic', 'commands'])).not.toContain(s.doomed.id);
  }
  for (const topic of commandsTopic === 'crossed' ? ['events', 'commands'] : ['events']) {
    const analyst = await parley(env, ['replay', '--no-progress', '--topic', topic]);
    expect(analyst).toContain(s.doomed.id); // the records are there…
    for (const t of [...s.erasedTokens, s.keptToken]) expect(analyst).not.toContain(tail(t)); // …what they say is not
    expect(analyst).not.toContain(s.alice.email);
    expect(analyst).toContain('[personal data]');
  }
  const operator = await parley(env, ['replay', '--no-progress', '--with-personal-data', '--type', 'message_sent']);
  const lines = operator
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { data: { message_id: string; content: string }; erased?: boolean });
  const doomedLine = lines.find((line) => line.data.message_id === s.doomed.id);
  const keptLine = lines.find((line) => line.data.message_id === s.kept.id);
  expect(doomedLine).toMatchObject({ erased: true, data: { content: '' } });
  expect(keptLine?.data.content).toBe(`this one stays zq${s.keptToken}`);
  expect(keptLine?.erased).toBeUndefined();
  for (const t of s.erasedTokens) expect(operator).not.toContain(tail(t));
}

interface DeletedAccount {
  carol: TestUser;
  bob: TestUser;
  roomId: string;
  messages: Message[];
  bobsReply: Message;
  /** Tokens of what carol said and wrote about herself. */
  tokens: string[];
}

/** Carol fills in her profile and talks with bob; then she deletes her account. */
async function accountBeforeDeletion(url: string): Promise<DeletedAccount> {
  const carol = await registerUser(url, 'carol');
  const bob = await registerUser(url, 'bob');
  const [bio, name, first, second] = [token(), token(), token(), token()];
  const profile = await request(url, 'PATCH', '/api/v1/users/me', {
    token: carol.token,
    body: { bio: `I live at zq${bio}`, display_name: `Carol zq${name}` },
  });
  expect(profile.status).toBe(200);
  const roomId = await createRoom(url, carol, [bob], 'carol and bob');
  const messages = [await say(url, carol, roomId, `my number is zq${first}`), await say(url, carol, roomId, `and zq${second}`)];
  const bobsReply = await say(url, bob, roomId, 'noted');
  return { carol, bob, roomId, messages, bobsReply, tokens: [bio, name, first, second] };
}

/** Before she goes, carol takes her data with her: the export holds all of it, in clear. */
async function expectExport(url: string, a: DeletedAccount): Promise<void> {
  const response = await fetch(`${url}/api/v1/users/me/export`, { headers: { authorization: `Bearer ${a.carol.token}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-disposition')).toContain('parley-export.json');
  const exported = (await response.json()) as {
    profile: Record<string, unknown>;
    rooms: { id: string; role: string }[];
    messages: Message[];
    friends: unknown[];
    blocks: unknown[];
    uploads: unknown[];
  };
  expect(exported.profile).toMatchObject({ id: a.carol.id, email: a.carol.email, bio: `I live at zq${a.tokens[0]}` });
  expect(exported.rooms).toEqual([expect.objectContaining({ id: a.roomId, role: 'owner' })]);
  expect(exported.messages.map((m) => [m.id, m.content])).toEqual(a.messages.map((m) => [m.id, m.content]));
  expect(exported).toMatchObject({ friends: [], blocks: [], uploads: [] });
}

async function deleteCarol(url: string, a: DeletedAccount): Promise<void> {
  await expectExport(url, a);
  const wrong = await request(url, 'DELETE', '/api/v1/users/me', { token: a.carol.token, body: { password: 'not it' } });
  expect(wrong.status).toBe(401);
  expect(wrong.body).toMatchObject({ error: { code: 'invalid_credentials' } });
  const done = await request(url, 'DELETE', '/api/v1/users/me', { token: a.carol.token, body: { password: a.carol.password } });
  expect(done.status).toBe(204);
  // Her sessions ended with the account: her token opens nothing, the export included.
  expect((await request(url, 'GET', '/api/v1/users/me/export', { token: a.carol.token })).status).toBe(401);
}

/** What everyone else sees of a deleted account: nothing of it, and its messages as tombstones. */
async function expectAccountGone(url: string, a: DeletedAccount): Promise<void> {
  const login = await request(url, 'POST', '/api/v1/auth/login', {
    body: { login: a.carol.username, password: a.carol.password },
  });
  expect(login.status).toBe(401);
  const refresh = await request(url, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: a.carol.refreshToken } });
  expect(refresh.status).toBe(401);
  await eventually(async () => {
    const profile = await request(url, 'GET', `/api/v1/users/${a.carol.id}`, { token: a.bob.token });
    return profile.body.deleted === true;
  }, 'the profile erased');
  const profile = await request(url, 'GET', `/api/v1/users/${a.carol.id}`, { token: a.bob.token });
  expect(profile.body).toMatchObject({
    id: a.carol.id,
    deleted: true,
    username: '',
    display_name: '',
    bio: '',
    avatar_url: null,
  });
  const search = await request<User[]>(url, 'GET', `/api/v1/users?q=${a.carol.username.slice(0, 8)}`, { token: a.bob.token });
  expect(search.status).toBe(200);
  expect(JSON.stringify(search.body)).not.toContain(a.carol.id);
  const history = new Map((await fullHistory(url, a.bob, a.roomId)).map((m) => [m.id, m]));
  for (const message of a.messages) {
    expect(history.get(message.id)).toMatchObject({ seq: message.seq, deleted: true, erased: true, content: null });
  }
  expect(history.get(a.bobsReply.id)).toMatchObject({ content: 'noted', erased: false });
}

const registerAs = (url: string, username: string, email: string) =>
  request(url, 'POST', '/api/v1/auth/register', { body: { username, email, password: 'another long password' } });

/** Right after the deletion, the username is still taken: it cools off (PARLEY_USERNAME_COOLING_OFF_S=6). */
async function expectUsernameCoolingOff(url: string, a: DeletedAccount): Promise<void> {
  const sameName = await registerAs(url, a.carol.username, `new.${a.carol.email}`);
  expect(sameName.status).toBe(409);
  expect(sameName.body).toMatchObject({ error: { code: 'username_taken' } });
}

/** The email is free once the account is erased; the username after its cooling-off. */
async function expectReservationsReleased(url: string, a: DeletedAccount): Promise<void> {
  const register = (username: string, email: string) => registerAs(url, username, email);
  const sameEmail = await register(`x${a.carol.username}`.slice(0, 32), a.carol.email);
  expect(sameEmail.status).toBe(201);
  await eventually(
    async () => (await register(a.carol.username, `new.${a.carol.email}`)).status === 201,
    'the username free after its cooling-off',
  );
}

/** Retention: a message past the server's limit (PARLEY_MESSAGE_RETENTION_DAYS, a few seconds here) is erased. */
async function expectRetention(url: string): Promise<{ message: Message; text: string }> {
  const alice = await registerUser(url, 'alice');
  const bob = await registerUser(url, 'bob');
  const roomId = await createRoom(url, alice, [bob], 'ephemeral');
  const text = token();
  const message = await say(url, alice, roomId, `gone soon zq${text}`);
  expect(message.content).toBe(`gone soon zq${text}`);
  // A room's own limit is its owner's to set.
  const byMember = await request(url, 'PATCH', `/api/v1/rooms/${roomId}`, { token: bob.token, body: { retention_days: 1 } });
  expect(byMember.status).toBe(403);
  const byOwner = await request(url, 'PATCH', `/api/v1/rooms/${roomId}`, { token: alice.token, body: { retention_days: 7 } });
  expect(byOwner.status).toBe(200);
  expect(byOwner.body).toMatchObject({ id: roomId, retention_days: 7 });
  await eventually(
    async () => (await fullHistory(url, bob, roomId)).find((m) => m.id === message.id)?.erased === true,
    'the message erased by retention',
    20_000,
  );
  const [expired] = await fullHistory(url, bob, roomId);
  expect(expired).toMatchObject({ id: message.id, seq: 1, deleted: true, erased: true, content: null });
  return { message, text };
}

/**
 * `parley rebuild chat --drop-old`: a version kept for rollback is no longer
 * projected, so it would keep what is erased after the swap (docs/PRIVACY.md).
 */
const rebuildDroppingOld = (dataDir: string) =>
  parley({ PARLEY_DATA_DIR: dataDir }, [
    'rebuild',
    'chat',
    '--handover-ms',
    '500',
    '--drop-old',
    '--drop-grace-ms',
    '1000',
    '--no-progress',
  ]);

describe('erasure on the embedded adapters (one data dir)', () => {
  let server: ParleyProcess;
  let s: Scenario;
  let secret: Buffer;
  const files = () => filesUnder(server.dataDir);
  const logFiles = () => files().filter((file) => path.basename(file).startsWith('log.sqlite'));

  beforeAll(async () => {
    server = await startParley({
      env: { PARLEY_ERASURE_SCRUB_INTERVAL_MS: '200', PARLEY_USERNAME_COOLING_OFF_S: '6', PARLEY_REGISTER_MAX_PER_IP: '1000' },
    });
    s = await chatBeforeDeletion(server.url);
    const keys = new DatabaseSync(path.join(server.dataDir, 'read-models.sqlite'), { readOnly: true });
    try {
      const row = keys.prepare('select secret from data_keys where id = ?').get(`message:${s.doomed.id}`);
      secret = Buffer.from(row!.secret as Uint8Array);
    } finally {
      keys.close();
    }
  }, 60_000);
  afterAll(() => server.stop());

  it('the log holds personal data only sealed: no text, no email, in any of its files', () => {
    expect(logFiles().length).toBeGreaterThan(0);
    for (const needle of [...s.erasedTokens, s.keptToken].map(tail)) expect(filesHolding(logFiles(), needle)).toEqual([]);
    expect(filesHolding(logFiles(), s.alice.email)).toEqual([]);
    // The grep sees what is there: the read model holds the texts in clear.
    expect(filesHolding(files(), tail(s.keptToken)).length).toBeGreaterThan(0);
    expect(filesHolding(files(), tail(s.erasedTokens[1]!)).length).toBeGreaterThan(0);
  });

  it('after a delete, no file of the data dir holds the text (any version of it) or its key, within a scrub', async () => {
    await deleteDoomed(server.url, s);
    const remaining = () => [...s.erasedTokens.map(tail), secret].flatMap((needle) => filesHolding(files(), needle));
    await eventually(() => remaining().length === 0, 'the erased message to leave every file', 15_000);
    expect(remaining()).toEqual([]);
    expect(filesHolding(files(), tail(s.keptToken)).length).toBeGreaterThan(0);
    await expectHistoryAfterDeletion(server.url, s);
  });

  it('replay shows analysts no personal data at all, and operators the erased message as erased', async () => {
    await expectReplays({ PARLEY_DATA_DIR: server.dataDir }, s, 'bypassed');
  });

  it('a rebuilt read model has the message erased and the other intact', async () => {
    await rebuildDroppingOld(server.dataDir);
    await expectHistoryAfterDeletion(server.url, s);
    const remaining = () => s.erasedTokens.map(tail).flatMap((needle) => filesHolding(files(), needle));
    await eventually(() => remaining().length === 0, 'nothing of the erased message in the rebuilt files', 15_000);
  });

  it('deleting an account erases its profile, email and messages from every file, and frees the email, then the username', async () => {
    const a = await accountBeforeDeletion(server.url);
    const userKeyRow = new DatabaseSync(path.join(server.dataDir, 'read-models.sqlite'), { readOnly: true });
    let userKey: Buffer;
    try {
      const row = userKeyRow.prepare('select secret from data_keys where id = ?').get(`user:${a.carol.id}`);
      userKey = Buffer.from(row!.secret as Uint8Array);
    } finally {
      userKeyRow.close();
    }
    expect(filesHolding(files(), tail(a.tokens[0]!)).length).toBeGreaterThan(0); // the bio, in the read model
    await deleteCarol(server.url, a);
    await expectUsernameCoolingOff(server.url, a);
    await expectAccountGone(server.url, a);
    const remaining = () => [...a.tokens.map(tail), a.carol.email, userKey].flatMap((needle) => filesHolding(files(), needle));
    await eventually(() => remaining().length === 0, 'the deleted account to leave every file', 15_000);
    const operator = await parley({ PARLEY_DATA_DIR: server.dataDir }, ['replay', '--no-progress', '--with-personal-data']);
    for (const t of a.tokens) expect(operator).not.toContain(tail(t));
    expect(operator).not.toContain(a.carol.email);
    await expectReservationsReleased(server.url, a);

    // A second deleted account, then a rebuild from the log: both read back erased
    // (empty emails must not collide in the unique index), and stay deleted.
    const dave = await registerUser(server.url, 'dave');
    const gone = await request(server.url, 'DELETE', '/api/v1/users/me', {
      token: dave.token,
      body: { password: dave.password },
    });
    expect(gone.status).toBe(204);
    await rebuildDroppingOld(server.dataDir);
    for (const id of [a.carol.id, dave.id]) {
      const profile = await request(server.url, 'GET', `/api/v1/users/${id}`, { token: a.bob.token });
      expect(profile.body).toMatchObject({ id, deleted: true, display_name: '' });
    }
  });
});

describe.runIf(await stackAvailable('erasure'))('erasure on Kafka + MySQL', () => {
  let cluster: Cluster;
  let url: string;
  let s: Scenario;

  /** The segment files of this cluster's topics, wherever the local broker keeps them. */
  function segmentFiles(): string[] {
    const cache = process.env.PARLEY_CACHE_DIR ?? path.join(os.homedir(), '.cache/parley');
    const dataDirs = [
      ...(process.env.PARLEY_KAFKA_DATA_DIR === undefined ? [] : [process.env.PARLEY_KAFKA_DATA_DIR]),
      ...fs
        .readdirSync(cache)
        .filter((name) => name.startsWith('kafka-'))
        .map((name) => path.join(cache, name, 'data')),
    ].filter((dir) => fs.existsSync(dir));
    const namespace = cluster.env.PARLEY_LOG_NAMESPACE!;
    return dataDirs.flatMap((dir) =>
      fs
        .readdirSync(dir)
        .filter((name) => name.startsWith(namespace))
        .flatMap((name) => filesUnder(path.join(dir, name))),
    );
  }

  beforeAll(async () => {
    // Commands cross the commands topic here, so that its records are checked for personal data too.
    cluster = await startCluster('erasure', 1, { PARLEY_USERNAME_COOLING_OFF_S: '6', PARLEY_DECIDE_LOCALLY: 'false' });
    url = cluster.nodes[0]!.url;
    s = await chatBeforeDeletion(url);
  }, 120_000);
  afterAll(() => cluster.stop());

  it('the topics hold personal data only sealed, before and after the delete; the key is destroyed in MySQL', async () => {
    const segments = segmentFiles();
    expect(segments.some((file) => file.endsWith('.log'))).toBe(true);
    // The grep reads the right files: the messages' records are there, by id.
    expect(filesHolding(segments, s.kept.id).length).toBeGreaterThan(0);
    const personal = [...s.erasedTokens, s.keptToken].map(tail);
    for (const needle of [...personal, s.alice.email]) expect(filesHolding(segments, needle)).toEqual([]);

    await deleteDoomed(url, s);
    await eventually(
      async () =>
        (
          await cluster.query<{ secret: Buffer | null }>('select secret from data_keys where id = ?', [`message:${s.doomed.id}`])
        )[0]?.secret === null,
      'the message key destroyed',
    );
    for (const needle of personal) expect(filesHolding(segmentFiles(), needle)).toEqual([]);
    await expectHistoryAfterDeletion(url, s);
  });

  it('replay shows analysts no personal data, and operators the erased message as erased', async () => {
    await expectReplays(cluster.env, s, 'crossed');
  });

  it('deleting an account destroys the keys of its profile and messages, and frees the email, then the username', async () => {
    const a = await accountBeforeDeletion(url);
    await deleteCarol(url, a);
    await expectUsernameCoolingOff(url, a);
    await expectAccountGone(url, a);
    const keys = await cluster.query<{ id: string; secret: Buffer | null }>('select id, secret from data_keys where id in (?)', [
      [`user:${a.carol.id}`, ...a.messages.map((m) => `message:${m.id}`)],
    ]);
    expect(keys).toHaveLength(3);
    expect(keys.every((key) => key.secret === null)).toBe(true);
    for (const needle of [...a.tokens.map(tail), a.carol.email]) expect(filesHolding(segmentFiles(), needle)).toEqual([]);
    const operator = await parley(cluster.env, ['replay', '--no-progress', '--with-personal-data']);
    for (const t of a.tokens) expect(operator).not.toContain(tail(t));
    expect(operator).not.toContain(a.carol.email);
    await expectReservationsReleased(url, a);
  });
});

describe('retention on the embedded adapters', () => {
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley({
      env: {
        PARLEY_MESSAGE_RETENTION_DAYS: '0.00004', // about 3.5 s
        PARLEY_RETENTION_SWEEP_INTERVAL_MS: '250',
        PARLEY_ERASURE_SCRUB_INTERVAL_MS: '200',
      },
    });
  });
  afterAll(() => server.stop());

  it('erases messages past the limit from every file of the data dir', async () => {
    const { text } = await expectRetention(server.url);
    const files = () => filesUnder(server.dataDir);
    await eventually(() => filesHolding(files(), tail(text)).length === 0, 'the expired message to leave every file', 15_000);
  });
});

describe.runIf(await stackAvailable('retention'))('retention on Kafka + MySQL', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('retention', 1, {
      PARLEY_MESSAGE_RETENTION_DAYS: '0.00004',
      PARLEY_RETENTION_SWEEP_INTERVAL_MS: '250',
    });
  }, 120_000);
  afterAll(() => cluster.stop());

  it('erases messages past the limit: their keys are destroyed', async () => {
    const { message } = await expectRetention(cluster.nodes[0]!.url);
    const [key] = await cluster.query<{ secret: Buffer | null }>('select secret from data_keys where id = ?', [
      `message:${message.id}`,
    ]);
    expect(key).toEqual({ secret: null });
  });
});
