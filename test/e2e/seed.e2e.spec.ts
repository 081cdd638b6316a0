// `parley seed` as someone trying Parley runs it: seed a data dir, start the
// server on it, and log in as the printed user with the printed password;
// rooms and messages are there as asked. Seeding again with the same --seed
// adds nothing; another seed adds its own. In both modes (modes.ts): the
// command takes the same adapters as the server it fills.

import { afterAll, expect, test } from 'vitest';
import { planSeed } from '../../src/cli/seed-plan.ts';
import { runParley, type CliResult } from '../support/cli.ts';
import { request } from '../support/client.ts';
import { e2eMode, modeEnv } from '../support/modes.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';
import type { RoomSummary, Session } from '../support/wire.ts';
const size = { users: 6, rooms: 3, messages: 24 };
const dataDir = tempDataDir('parley-seed-');
let server: ParleyProcess | undefined;

afterAll(async () => {
  await server?.stop();
});

/** `parley seed …args` on the data dir, with no rate-limit settings of its own. */
async function seed(args: string[]): Promise<CliResult> {
  return runParley(['seed', ...args], {
    PARLEY_DATA_DIR: dataDir,
    PARLEY_BCRYPT_COST: '4',
    LOG_LEVEL: 'warn',
    ...(await modeEnv(dataDir)),
  });
}

const sizeArgs = (seedValue: number) => [
  '--users',
  String(size.users),
  '--rooms',
  String(size.rooms),
  '--messages',
  String(size.messages),
  '--seed',
  String(seedValue),
];

async function login(url: string, username: string, password: string): Promise<string> {
  const response = await request<Session>(url, 'POST', '/api/v1/auth/login', { body: { login: username, password } });
  expect(response.status, `login as ${username}`).toBe(200);
  return response.body.access_token;
}

/** The group rooms the seeded users of `seeds` are in (as each of them sees them), by id, with their last seq. */
async function seededGroupRooms(url: string, seeds: number[], password: string): Promise<Map<string, number>> {
  const rooms = new Map<string, number>();
  for (const seedValue of seeds) {
    for (const user of planSeed({ ...size, seed: seedValue }).users) {
      const token = await login(url, user.username, password);
      const response = await request<{ rooms: RoomSummary[] }>(url, 'GET', '/api/v1/rooms', { token });
      expect(response.status).toBe(200);
      for (const room of response.body.rooms) if (room.type === 'group') rooms.set(room.id, room.last_seq);
    }
  }
  return rooms;
}

const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

test('seeds users, rooms and messages the server then serves; the same seed again adds nothing, another adds its own', async () => {
  const first = await seed(sizeArgs(7));
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toContain(`${size.users} users (${size.users} new)`);
  const password = /password of every seeded user: (\S+)/.exec(first.stdout)?.[1];
  const logins = /log in as: (.+)/.exec(first.stdout)?.[1]?.split(', ') ?? [];
  expect(password).toBeDefined();
  expect(logins.length).toBeGreaterThanOrEqual(2);

  const again = await seed(sizeArgs(7));
  expect(again.code, again.stderr).toBe(0);
  expect(again.stdout).toContain(`${size.users} users (0 new)`);
  expect(again.stdout).toContain(`${size.messages} messages (0 new)`);

  server = await startParley({ dataDir });
  // The printed user logs in with the printed password and finds rooms with messages.
  const token = await login(server.url, logins[0]!, password!);
  const mine = await request<{ rooms: RoomSummary[] }>(server.url, 'GET', '/api/v1/rooms', { token });
  const busiest = mine.body.rooms.filter((room) => room.type === 'group').sort((a, b) => b.last_seq - a.last_seq)[0];
  expect(busiest?.last_seq).toBeGreaterThan(0);
  const history = await request<{ messages: { content: string }[] }>(server.url, 'GET', `/api/v1/rooms/${busiest!.id}/messages`, {
    token,
  });
  expect(history.body.messages.length).toBe(busiest!.last_seq);
  expect(history.body.messages.every((message) => message.content.trim().length > 0)).toBe(true);
  // Every seeded user logs in; the rooms and messages are as many as asked, not twice that.
  const rooms = await seededGroupRooms(server.url, [7], password!);
  expect(rooms.size).toBe(size.rooms);
  expect(sum(rooms.values())).toBe(size.messages);
  await server.stop();
  server = undefined;

  const other = await seed(sizeArgs(8));
  expect(other.code, other.stderr).toBe(0);
  expect(other.stdout).toContain(`${size.rooms} rooms (${size.rooms} new)`);
  server = await startParley({ dataDir });
  const all = await seededGroupRooms(server.url, [7, 8], password!);
  expect(all.size).toBe(2 * size.rooms);
  expect(sum(all.values())).toBe(2 * size.messages);
}, 240_000);

test('prints its options on --help and refuses a bad count', async () => {
  const help = await seed(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: parley seed/);
  const bad = await seed(['--users', 'lots']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain('--users: not a number');
}, 60_000);

test.runIf(e2eMode === 'embedded')('refuses to seed an embedded data dir a server is running on, saying why', async () => {
  const busyDir = tempDataDir('parley-seed-busy-');
  const running = await startParley({ dataDir: busyDir });
  try {
    const { code, stderr } = await runParley(['seed', '--users', '2'], { PARLEY_DATA_DIR: busyDir, LOG_LEVEL: 'warn' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/data dir .* is in use by another running Parley server/);
  } finally {
    await running.stop();
  }
});
