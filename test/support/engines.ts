// Read-model stores for integration specs, one per engine, so a suite can loop
// over every dialect (STYLE.md, "one test suite, every dialect"): SQLite in a
// temp dir, always; MySQL/MariaDB in a throwaway database at
// PARLEY_TEST_MYSQL_URL, skipped with a loud warning when unreachable unless
// PARLEY_REQUIRE_INFRA=1, which makes that a failure.
//
//   for (const engine of await testEngines('uploads')) {
//     describe.runIf(engine.available)(`… on ${engine.name}`, () => { … engine.open() … });
//   }

import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { infraAvailable } from './infra.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';
import { openStore, type Engine, type Store, type StoreOptions } from '../../src/store/store.ts';

export const testMysqlUrl = process.env.PARLEY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

/** Store options a spec may vary (the rest are the engine's). */
export type EngineOptions = Pick<StoreOptions, 'stalledTransactionS'>;

export interface TestEngine {
  name: Engine;
  available: boolean;
  /** A fresh, migrated store; `dispose` removes it. */
  open(options?: EngineOptions): Promise<Store>;
  dispose(): Promise<void>;
}

export async function testEngines(suite: string): Promise<TestEngine[]> {
  return [sqliteEngine(suite), mysqlEngine(suite, await mysqlAvailable(suite))];
}

function sqliteEngine(suite: string): TestEngine {
  let dir = '';
  return {
    name: 'sqlite',
    available: true,
    async open(options = {}) {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), `parley-${suite}-`));
      return migrated(openStore({ ...options, dataDir: dir }));
    },
    dispose: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** Runs one statement on a connection of its own (creating and dropping test databases). */
export async function mysqlAdmin(statement: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: testMysqlUrl });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

/** `CREATE DATABASE` with the character set and collation Parley's migrations expect. */
export const createTestDatabase = (name: string, ifNotExists = false): Promise<void> =>
  mysqlAdmin(
    `CREATE DATABASE ${ifNotExists ? 'IF NOT EXISTS ' : ''}\`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
  );

/** The URL of database `name` on the test server. */
export const testDatabaseUrl = (name: string): string => `${testMysqlUrl.replace(/\/$/, '')}/${name}`;

function mysqlEngine(suite: string, available: boolean): TestEngine {
  const name = `parley_test_${suite.replace(/\W/g, '_')}_${crypto.randomBytes(6).toString('hex')}`;
  return {
    name: 'mysql',
    available,
    async open(options = {}) {
      await createTestDatabase(name);
      return migrated(openStore({ ...options, dataDir: os.tmpdir(), databaseUrl: testDatabaseUrl(name) }));
    },
    dispose: () => mysqlAdmin(`DROP DATABASE IF EXISTS \`${name}\``),
  };
}

async function migrated(store: Store): Promise<Store> {
  await migrateToLatest(store.db);
  return store;
}

/** Resolves true when MySQL answers (see infraAvailable for what happens when it does not). */
export function mysqlAvailable(suite: string): Promise<boolean> {
  return infraAvailable('MySQL/MariaDB', testMysqlUrl, suite, async () => {
    const connection = await mysql.createConnection({ uri: testMysqlUrl, connectTimeout: 2000 });
    await connection.end();
  });
}
