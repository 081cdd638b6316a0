// Opens the read-model database: SQLite in the data dir by default, MySQL when
// DATABASE_URL is set. Everything above this module sees a Kysely<Database>
// and, where SQL differs, calls dialect.ts, never asks which engine it is.

import fs from 'node:fs';
import path from 'node:path';
import { Kysely, MysqlDialect } from 'kysely';
import { createPool } from 'mysql2';
import type { Database } from './schema.ts';
import { openSqliteFile } from './sqlite-dialect.ts';

export type Engine = 'sqlite' | 'mysql';

export interface Store {
  db: Kysely<Database>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** `mysql://user:pass@host:port/db`; absent → SQLite under dataDir. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Connections in the MySQL pool. */
  poolSize?: number;
}

export function openStore(options: StoreOptions): Store {
  if (options.databaseUrl) return openMysql(options.databaseUrl, options.poolSize ?? 10);
  fs.mkdirSync(options.dataDir, { recursive: true });
  const { dialect } = openSqliteFile(path.join(options.dataDir, 'read-models.sqlite'));
  const db = new Kysely<Database>({ dialect });
  return { db, close: () => db.destroy() };
}

function openMysql(url: string, connectionLimit: number): Store {
  const pool = createPool({
    uri: url,
    connectionLimit,
    // utf8mb4 so emoji and every other code point round-trip.
    charset: 'utf8mb4_unicode_ci',
    // BIGINT columns hold epoch ms and offsets, all below 2^53.
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: true,
  });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  return { db, close: () => db.destroy() };
}
