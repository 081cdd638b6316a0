// Kysely's SqliteDialect expects a better-sqlite3-like database. node:sqlite's
// DatabaseSync is almost that; this adapter supplies the missing `reader` flag
// so Parley needs no native SQLite module.

import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';

type Param = null | number | bigint | string | Uint8Array;

function toParams(parameters: ReadonlyArray<unknown>): Param[] {
  return parameters.map((value) => {
    if (value === undefined) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    return value as Param;
  });
}

function adaptStatement(statement: StatementSync) {
  return {
    // A statement that yields columns is a reader (SELECT, or … RETURNING).
    reader: statement.columns().length > 0,
    all: (parameters: ReadonlyArray<unknown>) => statement.all(...toParams(parameters)),
    run: (parameters: ReadonlyArray<unknown>) => {
      const result = statement.run(...toParams(parameters));
      return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
    },
    iterate: (parameters: ReadonlyArray<unknown>) => statement.iterate(...toParams(parameters)),
  };
}

export interface SqliteFile {
  dialect: SqliteDialect;
  database: DatabaseSync;
}

/** Runs a write on a read-model file's connection at once, through its prepared statements (dialect.ts, `writeSql`); returns the rows it changed. */
export type DirectWrite = (sql: string, parameters: readonly unknown[]) => number;

/** Each SQLite Kysely instance's adapter (shared by its transactions) → its connection's direct writes. */
const directWrites = new WeakMap<object, DirectWrite>();

/** The direct writes of the file a Kysely adapter belongs to; undefined for MySQL's. */
export function directWriteOf(adapter: object): DirectWrite | undefined {
  return directWrites.get(adapter);
}

/**
 * How a read-model file syncs its commits. NORMAL in WAL mode survives a
 * process crash; only an OS crash can lose the last transactions, and a
 * projection then replays them from the log. What nothing replays commits at
 * FULL instead (`durably`, store/dialect.ts).
 */
export const READ_MODEL_SYNCHRONOUS = 'NORMAL';

/** Opens (creating) a SQLite file tuned for a read model: WAL, one writer, many readers. */
export function openSqliteFile(filename: string): SqliteFile {
  const database = new DatabaseSync(filename);
  database.exec('PRAGMA journal_mode = WAL');
  database.exec(`PRAGMA synchronous = ${READ_MODEL_SYNCHRONOUS}`);
  database.exec('PRAGMA foreign_keys = ON');
  // Erased data must leave the file, not only the query results: freed space
  // is zeroed as it is freed (privacy/scrubber.ts does the WAL and the index).
  database.exec('PRAGMA secure_delete = ON');
  database.exec('PRAGMA busy_timeout = 5000');
  // A statement of a multi-statement transaction that may abort half-way
  // journals the pages it changes, so it can be undone alone. SQLite keeps that
  // journal in memory until it outgrows 64 KiB, then spills it to a temporary
  // file for the rest of the transaction: a projector batch of a few messages
  // did, and wrote every page it touched there (~6 % of the server's CPU at WS
  // 1k msg/s, bench/README fix 26). In memory it is a copy, not a syscall; its
  // size is bounded by the pages one transaction changes. (A rebuild puts it
  // back on disk, for its index builds' sorts: prepareBulkLoad, dialect.ts.)
  database.exec('PRAGMA temp_store = MEMORY');
  // Unicode case folding for searches (SQLite's lower() only folds ASCII).
  database.function('parley_fold', { deterministic: true }, (value) =>
    typeof value === 'string' ? value.normalize('NFKC').toLowerCase() : value,
  );
  const statements = new Map<string, ReturnType<typeof adaptStatement>>();
  const prepare = (sql: string) => {
    // Kysely prepares on every query; caching keeps the hot paths cheap.
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = adaptStatement(database.prepare(sql));
      if (statements.size > 2000) statements.clear();
      statements.set(sql, statement);
    }
    return statement;
  };
  const dialect = new WriterSqliteDialect({ database: { close: () => database.close(), prepare } }, (sql, parameters) =>
    Number(prepare(sql).run(parameters).changes),
  );
  return { dialect, database };
}

/**
 * Every transaction Parley opens on a read model writes, so it takes the
 * file's write lock as it begins (BEGIN IMMEDIATE), waiting for it under
 * busy_timeout. Kysely begins SQLite transactions deferred: one that reads
 * before it writes holds only a snapshot, and when another process (a
 * `parley rebuild` beside a server) commits in between, its first write fails
 * at once with "database is locked" — busy_timeout cannot help, the snapshot
 * is stale.
 */
class WriterSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #directWrite: DirectWrite;
  constructor(config: SqliteDialectConfig, directWrite: DirectWrite) {
    super(config);
    this.#config = config;
    this.#directWrite = directWrite;
  }
  override createDriver(): Driver {
    return new ImmediateTransactionsDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    const adapter = super.createAdapter();
    directWrites.set(adapter, this.#directWrite);
    return adapter;
  }
}

class ImmediateTransactionsDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}
