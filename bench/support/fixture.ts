// The population the fan-out and idle scenarios run against, the same shape
// for every server:
//
//   5,000 users (one socket each for fan-out, two each for the idle scenario)
//   1 wide room       users 0…99                          (scenario 1)
//   1,000 small rooms users 5k…5k+4, room k                (scenario 2)
//   250 clubs         users 10c…10c+9, for c < 250         (so users follow 1–3 rooms)
//
// → users 0–99 follow 3 rooms, 100–2,499 follow 2, 2,500–4,999 follow 1.
//
// For Parley the population is real: users registered over REST (bcrypt cost
// 4), rooms created with member_ids (who accept their invitations), each user holding an access token. That
// takes ~30 s, so the resulting data dir is cached in bench/.fixtures/<key>/
// and copied for every server start; the key covers the files that decide
// the data dir's format (migrations, schemas, the embedded log, the domain).
// The baselines get synthetic ids in the same topology.

import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, startServer } from './targets.ts';

export const USERS = 5_000;
export const WIDE_MEMBERS = 100;
export const SMALL_ROOMS = 1_000;
export const SMALL_MEMBERS = 5;
export const CLUBS = 250;
export const CLUB_MEMBERS = 10;

export interface RoomRef {
  id: string;
  /** User indices; members[0] owns the room and is its sender. */
  members: number[];
}

export interface Population {
  users: { id: string; token: string }[];
  wide: RoomRef;
  small: RoomRef[];
  clubs: RoomRef[];
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

export function topology(): { wide: number[]; small: number[][]; clubs: number[][] } {
  return {
    wide: range(0, WIDE_MEMBERS),
    small: range(0, SMALL_ROOMS).map((k) => range(k * SMALL_MEMBERS, SMALL_MEMBERS)),
    clubs: range(0, CLUBS).map((c) => range(c * CLUB_MEMBERS, CLUB_MEMBERS)),
  };
}

/** The rooms each user follows (room ids), for sockets that subscribe by URL. */
export function roomsByUser(population: Population): string[][] {
  const byUser: string[][] = population.users.map(() => []);
  for (const room of [population.wide, ...population.small, ...population.clubs]) {
    for (const member of room.members) byUser[member]!.push(room.id);
  }
  return byUser;
}

/** Ids for the baselines: random UUIDs (same length as Parley's), same topology. */
export function syntheticPopulation(): Population {
  const shape = topology();
  return {
    users: range(0, USERS).map(() => ({ id: randomUUID(), token: '' })),
    wide: { id: randomUUID(), members: shape.wide },
    small: shape.small.map((members) => ({ id: randomUUID(), members })),
    clubs: shape.clubs.map((members) => ({ id: randomUUID(), members })),
  };
}

export function fixtureKey(): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ USERS, WIDE_MEMBERS, SMALL_ROOMS, SMALL_MEMBERS, CLUBS, CLUB_MEMBERS, v: 1 }));
  // Settings the stored data is shaped by (the log's topics keep their partition count).
  hash.update(`partitions=${process.env.BENCH_PARLEY_PARTITIONS ?? 'default'}`);
  const walk = (dir: string) => {
    const full = path.join(repoRoot, dir);
    if (!fs.existsSync(full)) return;
    for (const entry of fs.readdirSync(full, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const relative = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (!entry.name.includes('.spec.')) hash.update(relative).update(fs.readFileSync(path.join(repoRoot, relative)));
    }
  };
  for (const dir of ['migrations', 'schemas', 'src/log/sqlite', 'src/domain']) walk(dir);
  return hash.digest('hex').slice(0, 16);
}

const MAX_AGE_MS = 6 * 24 * 3600 * 1000; // tokens live 7 days

export async function parleyFixture(options: { fresh?: boolean; log: (line: string) => void }): Promise<{
  templateDir: string;
  population: Population;
}> {
  const dir = path.join(repoRoot, 'bench/.fixtures', fixtureKey());
  const manifest = path.join(dir, 'population.json');
  if (!options.fresh && fs.existsSync(manifest)) {
    const saved = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { createdAt: number; population: Population };
    if (Date.now() - saved.createdAt < MAX_AGE_MS) return { templateDir: path.join(dir, 'data'), population: saved.population };
  }
  // Fixtures of other keys are stale (older code): drop them.
  const root = path.dirname(dir);
  if (fs.existsSync(root))
    for (const other of fs.readdirSync(root)) fs.rmSync(path.join(root, other), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const started = Date.now();
  options.log(
    `building the Parley fixture in ${path.relative(repoRoot, dir)} (${USERS} users, ${1 + SMALL_ROOMS + CLUBS} rooms; cached afterwards)…`,
  );
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir);
  const server = await startServer('parley', { parleyDataDir: dataDir });
  try {
    const population = await registerPopulation(`http://${server.host}:${server.port}`, options.log);
    await server.stop(); // a clean stop leaves a consistent data dir to copy
    fs.writeFileSync(manifest, JSON.stringify({ createdAt: Date.now(), population }));
    options.log(`fixture built in ${Math.round((Date.now() - started) / 1000)} s`);
    return { templateDir: dataDir, population };
  } catch (error) {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Registers the population over REST on a running Parley at `base` (users with
 * bcrypt cost 4, rooms created with member_ids, who accept the invitations);
 * ~30 s for 5,000 users, plus the accepts.
 */
export async function registerPopulation(base: string, log: (line: string) => void): Promise<Population> {
  const post = async <T>(route: string, body: unknown, token?: string, expected = 201): Promise<T> => {
    const response = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) throw new Error(`${route}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const users = await pool(USERS, 64, async (i) => {
    const username = `bench_u${i}`;
    const body = await post<{ user: { id: string }; access_token: string }>('/api/v1/auth/register', {
      username,
      email: `${username}@bench.test`,
      password: 'correct horse battery',
    });
    if ((i + 1) % 1000 === 0) log(`  ${i + 1} users`);
    return { id: body.user.id, token: body.access_token };
  });
  const shape = topology();
  const create = (name: string) => async (members: number[]) => {
    const body = await post<{ id: string }>(
      '/api/v1/rooms',
      { name, member_ids: members.slice(1).map((m) => users[m]!.id) },
      users[members[0]!]!.token,
    );
    // The members are no friends of the owner's: invited, each joins by accepting.
    const invitees = members.slice(1);
    await pool(invitees.length, 16, (k) => post(`/api/v1/invitations/${body.id}/accept`, {}, users[invitees[k]!]!.token, 200));
    return { id: body.id, members };
  };
  const wide = await create('wide room')(shape.wide);
  const small = await pool(shape.small.length, 32, (k) => create(`small ${k}`)(shape.small[k]!));
  const clubs = await pool(shape.clubs.length, 32, (c) => create(`club ${c}`)(shape.clubs[c]!));
  return { users, wide, small, clubs };
}

/** Runs `each(0…count-1)` with at most `concurrency` at once; results in index order. */
export async function pool<T>(count: number, concurrency: number, each: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await each(i);
      }
    }),
  );
  return out;
}
