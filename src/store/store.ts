// Opens the read-model database: SQLite in the data dir by default, MySQL when
// DATABASE_URL is set. Everything above this module sees a Kysely<Database>
// and, where SQL differs, calls dialect.ts, never asks which engine it is.

import fs from 'node:fs';
import path from 'node:path';
import { Kysely, MysqlDialect } from 'kysely';
import type { Socket } from 'node:net';
import { createPool, type Pool } from 'mysql2';
import type { Database } from './schema.ts';
import { openSqliteFile } from './sqlite-dialect.ts';
import { checkpointInBackground } from './wal-checkpointer.ts';
import { mysqlDialectWithSessionDefaults } from './mysql-session.ts';

export type Engine = 'sqlite' | 'mysql';

export interface Store {
  db: Kysely<Database>;
  close(): Promise<void>;
  /**
   * From now on, a MySQL connection that has a statement outstanding and
   * receives no byte for `afterMs` is destroyed: its statement fails, and the
   * pool opens a new connection for the next one. Without it a half-open
   * connection (the server or a middlebox lost it silently) holds its caller
   * forever. Servers turn it on after their migrations; operator commands,
   * whose index builds may run long, leave it off. SQLite: nothing to do.
   */
  dropSilentConnections?: (afterMs: number) => void;
}

export interface StoreOptions {
  /** `mysql://user:pass@host:port/db`; absent → SQLite under dataDir. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Connections in the MySQL pool. */
  poolSize?: number;
  /**
   * SQLite: checkpoint the WAL from a worker thread (store/wal-checkpointer.ts)
   * instead of stalling a commit on the event loop now and then. Servers and
   * operator commands turn it on; tests that open many short-lived stores leave it off.
   */
  backgroundCheckpoints?: { intervalMs: number; onError: (error: unknown) => void };
  /**
   * MySQL: tell every connection, once, to drop a transaction idle this many
   * seconds (PARLEY_MYSQL_STALLED_TRANSACTION_S) and to run at READ COMMITTED
   * (store/mysql-session.ts). Servers set it; operator commands leave both to
   * each transaction.
   */
  stalledTransactionS?: number;
}

export function openStore(options: StoreOptions): Store {
  if (options.databaseUrl) return openMysql(options.databaseUrl, options.poolSize ?? 10, options.stalledTransactionS);
  fs.mkdirSync(options.dataDir, { recursive: true });
  const filename = path.join(options.dataDir, 'read-models.sqlite');
  const { dialect, database } = openSqliteFile(filename);
  const checkpointer = options.backgroundCheckpoints
    ? checkpointInBackground(database, filename, options.backgroundCheckpoints)
    : undefined;
  const db = new Kysely<Database>({ dialect });
  return {
    db,
    close: async () => {
      await db.destroy();
      await checkpointer?.stop();
    },
  };
}

function openMysql(url: string, connectionLimit: number, stalledTransactionS: number | undefined): Store {
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
  const dialect =
    stalledTransactionS === undefined ? new MysqlDialect({ pool }) : mysqlDialectWithSessionDefaults(pool, stalledTransactionS);
  const db = new Kysely<Database>({ dialect });
  return { db, close: () => db.destroy(), dropSilentConnections: watchSilentConnections(pool) };
}

/** mysql2's connection, as far as the silence watch reads it (its current command is private). */
interface WatchedConnection {
  stream: Socket;
  _command: unknown;
}

/** Watches the pool's connections; the function returned sets the silence after which one is dropped. */
function watchSilentConnections(pool: Pool): (afterMs: number) => void {
  let afterMs = 0;
  const open = new Set<Socket>();
  pool.on('connection', (poolConnection) => {
    const connection = poolConnection as unknown as WatchedConnection;
    const stream = connection.stream;
    open.add(stream);
    stream.once('close', () => open.delete(stream));
    if (afterMs > 0) stream.setTimeout(afterMs);
    // Node fires 'timeout' once per silent stretch; an idle connection is left alone.
    stream.on('timeout', () => {
      if (connection._command)
        stream.destroy(
          Object.assign(new Error(`no answer from MySQL for ${afterMs} ms; connection dropped`), { code: 'ETIMEDOUT' }),
        );
    });
  });
  return (ms) => {
    afterMs = ms;
    for (const stream of open) stream.setTimeout(ms);
  };
}
