// The refresh-token store against both read-model engines: SQLite (always) and
// MariaDB/MySQL (a throwaway database; skipped with a loud warning when the
// server is unreachable, unless PARLEY_REQUIRE_INFRA=1).

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Kysely, KyselyPlugin } from 'kysely';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../store/migrate.ts';
import type { Database } from '../store/schema.ts';
import { openStore, type Store } from '../store/store.ts';
import { AuthError, createRefreshTokens, refreshTokenHash, type RefreshTokens } from './refresh-tokens.ts';

const MYSQL_URL = process.env.PARLEY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
const requireInfra = process.env.PARLEY_REQUIRE_INFRA === '1';

const IDLE_S = 3600;
const ABSOLUTE_S = 24 * 3600;
const T0 = Date.UTC(2030, 0, 1);

interface Engine {
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

const sqlite = (): Engine => {
  let dir = '';
  return {
    async open() {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-refresh-'));
      return openStore({ dataDir: dir });
    },
    dispose: () => fs.rm(dir, { recursive: true, force: true }),
  };
};

async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 });
    await connection.end();
    return true;
  } catch (error) {
    if (requireInfra) throw new Error(`PARLEY_REQUIRE_INFRA=1 but MySQL at ${MYSQL_URL} is unreachable`, { cause: error });
    console.warn(
      `\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
        `!! refresh-tokens: MySQL/MariaDB at ${MYSQL_URL} is unreachable (${(error as Error).message}).\n` +
        `!! The MySQL suite is SKIPPED. Set PARLEY_REQUIRE_INFRA=1 to make this fail.\n` +
        `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`,
    );
    return false;
  }
}

const mariadb = (): Engine => {
  const name = `parley_test_auth_${crypto.randomBytes(6).toString('hex')}`;
  const admin = async <T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> => {
    const connection = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      return await work(connection);
    } finally {
      await connection.end();
    }
  };
  return {
    async open() {
      await admin((c) => c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`));
      return openStore({ dataDir: os.tmpdir(), databaseUrl: `${MYSQL_URL.replace(/\/$/, '')}/${name}` });
    },
    async dispose() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``));
    },
  };
};

const engines: Array<[string, () => Engine, boolean]> = [
  ['sqlite', sqlite, true],
  ['mysql', mariadb, await mysqlReachable()],
];

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

async function expectInvalid(promise: Promise<unknown>) {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(AuthError);
  expect(error).toMatchObject({ code: 'invalid_refresh_token' });
}

for (const [engineName, makeEngine, available] of engines) {
  describe.runIf(available)(`refresh tokens on ${engineName}`, () => {
    const engine = makeEngine();
    let store: Store | undefined;
    let db: Kysely<Database>;
    let now: number;
    let reuses: Array<[string, string]>;
    let tokens: RefreshTokens;

    beforeAll(async () => {
      store = await engine.open();
      db = store.db;
      await migrateToLatest(db);
    });

    afterAll(async () => {
      await store?.close();
      await engine.dispose();
    });

    beforeEach(async () => {
      await db.deleteFrom('refresh_tokens').execute();
      now = T0;
      reuses = [];
      tokens = createRefreshTokens({
        db,
        idleTtlS: IDLE_S,
        absoluteTtlS: ABSOLUTE_S,
        clock: () => now,
        onReuse: (userId, familyId) => {
          reuses.push([userId, familyId]);
        },
      });
    });

    it('issues 256-bit base64url tokens, each in a new family', async () => {
      const a = await tokens.issue('u1');
      const b = await tokens.issue('u1');
      expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(a, 'base64url')).toHaveLength(32);
      const rows = await db.selectFrom('refresh_tokens').selectAll().execute();
      expect(rows).toHaveLength(2);
      expect(new Set(rows.map((row) => row.family_id)).size).toBe(2);
      expect(rows.every((row) => row.user_id === 'u1' && row.used_at === null && row.revoked_at === null)).toBe(true);
      expect(Number(rows[0]?.expires_at)).toBe(T0 + IDLE_S * 1000);
      expect(Number(rows[0]?.family_expires_at)).toBe(T0 + ABSOLUTE_S * 1000);
      expect(b).not.toBe(a);
    });

    it('E11: stores only the SHA-256 of a token, never the token', async () => {
      const token = await tokens.issue('u1');
      const rotated = await tokens.rotate(token);
      const rows = await db.selectFrom('refresh_tokens').selectAll().execute();
      const dump = JSON.stringify(rows);
      for (const raw of [token, rotated.token]) {
        expect(dump).not.toContain(raw);
        expect(dump).not.toContain(Buffer.from(raw, 'base64url').toString('hex'));
      }
      expect(rows.map((row) => row.token_hash).sort()).toEqual([refreshTokenHash(token), refreshTokenHash(rotated.token)].sort());
      expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.token_hash))).toBe(true);
    });

    it('E9: rotation returns a new token in the same family; the old one then fails', async () => {
      const first = await tokens.issue('u1');
      now += 1000;
      const second = await tokens.rotate(first);
      expect(second.userId).toBe('u1');
      expect(second.token).not.toBe(first);
      const rows = await db.selectFrom('refresh_tokens').select(['family_id']).execute();
      expect(new Set(rows.map((row) => row.family_id))).toEqual(new Set([second.familyId]));
      now += 1000;
      const third = await tokens.rotate(second.token);
      expect(third).toMatchObject({ userId: 'u1', familyId: second.familyId });
      await expectInvalid(tokens.rotate(second.token));
    });

    it('E9: presenting a spent token revokes the family, fails the successor, and reports the reuse', async () => {
      const stolen = await tokens.issue('u1');
      const other = await tokens.issue('u1'); // another session of the same user
      const legit = await tokens.rotate(stolen);
      await expectInvalid(tokens.rotate(stolen));
      expect(reuses).toEqual([['u1', legit.familyId]]);
      await expectInvalid(tokens.rotate(legit.token));
      // Other sessions of the user live on.
      await expect(tokens.rotate(other)).resolves.toMatchObject({ userId: 'u1' });
    });

    it('E10: of 10 parallel rotations of one token exactly one succeeds', async () => {
      const token = await tokens.issue('u1');
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.rotate(token)));
      const fulfilled = results.filter((result) => result.status === 'fulfilled');
      const rejected = results.filter((result) => result.status === 'rejected');
      expect(fulfilled).toHaveLength(1);
      expect(rejected).toHaveLength(9);
      for (const result of rejected) expect(result.reason).toMatchObject({ code: 'invalid_refresh_token' });
      // Exactly one successor was written.
      const rows = await db.selectFrom('refresh_tokens').selectAll().execute();
      expect(rows).toHaveLength(2);
      // The losers presented a spent token: that is reuse, so the family is gone.
      expect(reuses.length).toBeGreaterThanOrEqual(1);
      const [winner] = fulfilled;
      if (winner?.status !== 'fulfilled') throw new Error('unreachable');
      await expectInvalid(tokens.rotate(winner.value.token));
    });

    it('E9: reuse racing a rotation of the current token always ends with the whole family revoked', async () => {
      for (let round = 0; round < 15; round++) {
        const spent = await tokens.issue('u1');
        const head = await tokens.rotate(spent);
        const [rotation] = await Promise.allSettled([tokens.rotate(head.token), tokens.rotate(spent)]);
        const live = await db
          .selectFrom('refresh_tokens')
          .select('token_hash')
          .where('family_id', '=', head.familyId)
          .where('revoked_at', 'is', null)
          .execute();
        expect(live).toEqual([]);
        if (rotation.status === 'fulfilled') await expectInvalid(tokens.rotate(rotation.value.token));
      }
    });

    it('E7: logout racing a rotation always ends with the whole family revoked', async () => {
      for (let round = 0; round < 15; round++) {
        const head = await tokens.rotate(await tokens.issue('u1'));
        const [rotation] = await Promise.allSettled([tokens.rotate(head.token), tokens.revokeFamilyOf(head.token)]);
        const live = await db
          .selectFrom('refresh_tokens')
          .select('token_hash')
          .where('family_id', '=', head.familyId)
          .where('revoked_at', 'is', null)
          .execute();
        expect(live).toEqual([]);
        if (rotation.status === 'fulfilled') await expectInvalid(tokens.rotate(rotation.value.token));
      }
    });

    it('E10: parallel rotations across many families each succeed once', async () => {
      const issued = await Promise.all(Array.from({ length: 10 }, (_, i) => tokens.issue(`u${i}`)));
      const rotated = await Promise.all(issued.map((token) => tokens.rotate(token)));
      expect(new Set(rotated.map((result) => result.familyId)).size).toBe(10);
      expect(reuses).toEqual([]);
    });

    it('E8: a token idle past idleTtlS fails; using it restarts the idle window', async () => {
      const token = await tokens.issue('u1');
      now = T0 + IDLE_S * 1000 - 1;
      const next = await tokens.rotate(token);
      now += IDLE_S * 1000 - 1;
      const after = await tokens.rotate(next.token); // still alive: the window restarted
      now += IDLE_S * 1000;
      await expectInvalid(tokens.rotate(after.token)); // exactly idle → dead
      expect(reuses).toEqual([]); // expiry is not reuse
    });

    it('E8: the family ends at absoluteTtlS however recently it was used', async () => {
      let token = await tokens.issue('u1');
      const step = Math.floor((ABSOLUTE_S * 1000) / 30);
      while (now + step < T0 + ABSOLUTE_S * 1000) {
        now += step;
        token = (await tokens.rotate(token)).token;
      }
      const last = await db
        .selectFrom('refresh_tokens')
        .select(['expires_at', 'family_expires_at'])
        .where('token_hash', '=', refreshTokenHash(token) ?? '')
        .executeTakeFirstOrThrow();
      expect(last.expires_at).toBe(T0 + ABSOLUTE_S * 1000); // capped by the family
      now = T0 + ABSOLUTE_S * 1000;
      await expectInvalid(tokens.rotate(token));
    });

    it('E7: logout revokes the family; it is idempotent and ignores unknown tokens', async () => {
      const first = await tokens.issue('u1');
      const current = await tokens.rotate(first);
      await expect(tokens.revokeFamilyOf(current.token)).resolves.toEqual({ userId: 'u1', familyId: current.familyId });
      await expectInvalid(tokens.rotate(current.token));
      await expect(tokens.revokeFamilyOf(current.token)).resolves.toEqual({ userId: 'u1', familyId: current.familyId });
      await expect(tokens.revokeFamilyOf(crypto.randomBytes(32).toString('base64url'))).resolves.toBeNull();
      await expect(tokens.revokeFamilyOf('garbage')).resolves.toBeNull();
      // Logging out with an older token of the session also ends it.
      const again = await tokens.issue('u1');
      const rotated = await tokens.rotate(again);
      await tokens.revokeFamilyOf(again);
      await expectInvalid(tokens.rotate(rotated.token));
    });

    it('E7: revokeAllForUser ends every session of that user only', async () => {
      const a = await tokens.issue('u1');
      const b = await tokens.issue('u1');
      const c = await tokens.issue('u2');
      expect(await tokens.revokeAllForUser('u1')).toBe(2);
      await expectInvalid(tokens.rotate(a));
      await expectInvalid(tokens.rotate(b));
      await expect(tokens.rotate(c)).resolves.toMatchObject({ userId: 'u2' });
      expect(await tokens.revokeAllForUser('u1')).toBe(0);
      expect(reuses).toEqual([]); // a revoked, unspent token is not reuse
    });

    it('a session id given at issue names the family; live families are listed, and one can be ended alone', async () => {
      const a = await tokens.issue('u5', 'session-a');
      const b = await tokens.issue('u5', 'session-b');
      const rotated = await tokens.rotate(a);
      expect(rotated.familyId).toBe('session-a');
      expect((await tokens.liveFamiliesOf('u5')).sort()).toEqual(['session-a', 'session-b']);
      expect(await tokens.revokeFamily('session-b')).toBe(1);
      expect(await tokens.liveFamiliesOf('u5')).toEqual(['session-a']);
      await expectInvalid(tokens.rotate(b));
      await expect(tokens.rotate(rotated.token)).resolves.toMatchObject({ familyId: 'session-a' });
    });

    it('rejects malformed and unknown tokens without touching anything', async () => {
      for (const bad of ['', 'short', 'x'.repeat(43) + '=', 'ä'.repeat(43), crypto.randomBytes(32).toString('base64url')]) {
        await expectInvalid(tokens.rotate(bad));
      }
      await expectInvalid(tokens.rotate(undefined as unknown as string));
      expect(reuses).toEqual([]);
    });

    it('purges families past their absolute expiry', async () => {
      const old = await tokens.issue('u1');
      await tokens.rotate(old);
      now = T0 + ABSOLUTE_S * 1000 - 60_000;
      const fresh = await tokens.issue('u2');
      now = T0 + ABSOLUTE_S * 1000;
      expect(await tokens.purgeExpired()).toBe(2);
      await expect(tokens.rotate(fresh)).resolves.toMatchObject({ userId: 'u2' });
    });

    it('a failing onReuse callback does not change the outcome', async () => {
      const failing = createRefreshTokens({
        db,
        idleTtlS: IDLE_S,
        absoluteTtlS: ABSOLUTE_S,
        clock: () => now,
        onReuse: () => {
          throw new Error('logger down');
        },
      });
      const token = await failing.issue('u1');
      const next = await failing.rotate(token);
      await expectInvalid(failing.rotate(token));
      await expectInvalid(failing.rotate(next.token));
    });

    it.runIf(engineName === 'mysql')('a rotation runs with the configured stalled-transaction limit', async () => {
      // The statements the store sends, as the server receives them.
      const sent: string[] = [];
      const executor = db.getExecutor();
      const recorder: KyselyPlugin = {
        transformQuery: ({ node, queryId }) => (sent.push(executor.compileQuery(node, queryId).sql), node),
        transformResult: ({ result }) => Promise.resolve(result),
      };
      const limited = createRefreshTokens({
        db: db.withPlugin(recorder),
        idleTtlS: IDLE_S,
        absoluteTtlS: ABSOLUTE_S,
        clock: () => now,
        stalledTransactionS: 3,
      });
      await limited.rotate(await limited.issue('u1'));
      expect(sent).toContain('set session wait_timeout = 3');
      expect(sent).not.toContain('set session wait_timeout = 10');
    });
  });
}
