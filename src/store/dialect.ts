// The few places where SQLite and MySQL need different SQL, kept together so
// the rest of the code never asks which database it talks to: each function
// here takes the Kysely instance and finds its engine itself.

import { CompiledQuery, MysqlAdapter, sql, type Expression, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { directWriteOf, READ_MODEL_SYNCHRONOUS } from './sqlite-dialect.ts';
import type { Engine } from './store.ts';

/**
 * A database whose tables are named at run time — a versioned read model's
 * (`messages__v3`), a migration's, these helpers' own. Kysely's own type for
 * such a schema is `AnyDatabase`; this is the one place it is written.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above: the schema is only known at run time
export type AnyDatabase = Kysely<any>;

/** Which engine a Kysely instance talks to (migrations only receive the instance). */
export function engineOf(db: AnyDatabase): Engine {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite';
}

/**
 * Reads `column` of the one row that `key` picks and locks the row until the
 * transaction ends, so two writers of it serialise. MySQL: SELECT … FOR
 * UPDATE. SQLite has one writer, and Parley's transactions there take the
 * file's write lock as they begin (sqlite-dialect.ts): a plain read suffices.
 */
export async function readLocked(db: AnyDatabase, table: string, column: string, key: Record<string, Cell>): Promise<Cell> {
  // Written as SQL rather than with the query builder: the projector runs it
  // for every batch, and building it cost more CPU than running it
  // (bench/README, fix 15).
  const where = sql.join(
    Object.entries(key).map(([name, value]) => sql`${sql.ref(name)} = ${value}`),
    sql` and `,
  );
  const lock = engineOf(db) === 'mysql' ? sql` for update` : sql``;
  const { rows } = await sql<CellRow>`select ${sql.ref(column)} from ${sql.table(table)} where ${where}${lock}`.execute(db);
  const row = rows[0];
  if (row === undefined) throw new Error(`no row of ${table} where ${JSON.stringify(key)}`);
  return row[column] ?? null;
}

/**
 * Readies this connection for loading a whole read model (a rebuild). SQLite:
 * a 128 MB page cache, since the build writes every table at once, and
 * temporary data back on disk (a live read model keeps it in memory,
 * sqlite-dialect.ts): the indexes built after the load sort whole tables,
 * which in memory would hold them all in RAM. MySQL: nothing (the server's
 * buffer pool is the server's).
 */
export async function prepareBulkLoad(db: AnyDatabase): Promise<void> {
  if (engineOf(db) !== 'sqlite') return;
  await sql`pragma cache_size = -131072`.execute(db);
  await sql`pragma temp_store = file`.execute(db);
}

/**
 * Runs `write` with its commits on disk before they return. SQLite: the file
 * runs at synchronous = NORMAL (sqlite-dialect.ts), right for what a
 * projection can replay from the log, not for what exists nowhere else (a
 * data key: the log holds only what was sealed under it, and a power cut
 * that lost the key would leave its message unreadable for good): on one
 * held connection, the writes run at FULL and the setting is put back. MySQL:
 * InnoDB flushes every commit already. Not for use inside a transaction.
 */
export async function durably<DB, T>(db: Kysely<DB>, write: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (engineOf(db) === 'mysql') return write(db);
  return db.connection().execute(async (connection) => {
    await sql`pragma synchronous = full`.execute(connection);
    try {
      return await write(connection);
    } finally {
      await sql`pragma synchronous = ${sql.raw(READ_MODEL_SYNCHRONOUS)}`.execute(connection);
    }
  });
}

/** Escapes LIKE wildcards so user input is matched literally (see `likePrefix`). */
export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * `column LIKE 'prefix%'` with backslash as the escape character, for a
 * prefix already passed through `escapeLike`. The ESCAPE literal differs:
 * MySQL reads a backslash in a string literal as an escape itself (the SQL
 * text `'\\\\'` is one backslash there), SQLite does not (`'\\'`). Written
 * SQLite's way, MySQL sees an unterminated string: user search answered 500
 * on MariaDB.
 */
export function likePrefix(db: AnyDatabase, column: Expression<unknown>, escapedPrefix: string): RawBuilder<SqlBool> {
  const pattern = `${escapedPrefix}%`;
  return engineOf(db) === 'mysql'
    ? sql<SqlBool>`${column} like ${pattern} escape '\\\\'`
    : sql<SqlBool>`${column} like ${pattern} escape '\\'`;
}

/**
 * A text column folded for case-insensitive matching the way user input is
 * (NFKC, lower case): MySQL's lower() under utf8mb4_unicode_ci folds all of
 * Unicode; SQLite's only knows ASCII, so it gets parley_fold()
 * (registered in sqlite-dialect.ts).
 */
export function foldedColumn(db: AnyDatabase, column: string): RawBuilder<string> {
  return engineOf(db) === 'mysql' ? sql<string>`lower(${sql.ref(column)})` : sql<string>`parley_fold(${sql.ref(column)})`;
}

/**
 * Turns free text into a full-text query that matches every word as a prefix,
 * with the engine's operators stripped so input cannot change the query's
 * meaning: FTS5 `"word"*`, MySQL boolean mode `+word*`.
 */
export function fullTextQuery(db: AnyDatabase, text: string): string | null {
  const words = text
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((word) => word.length > 0)
    .slice(0, 10);
  if (words.length === 0) return null;
  return engineOf(db) === 'mysql' ? words.map((w) => `+${w}*`).join(' ') : words.map((w) => `"${w}"*`).join(' ');
}

/**
 * Ids of messages whose content matches, best first, within the given rooms.
 * Tables are named through sql.table() so a versioned read model's plugin
 * (projections/versions.ts) points the query at the active version.
 */
export async function searchMessageIds(db: AnyDatabase, query: string, roomIds: string[], limit: number): Promise<string[]> {
  if (roomIds.length === 0) return [];
  if (engineOf(db) === 'mysql') {
    const rows = await sql<{ id: string }>`
      select id from ${sql.table('messages')}
      where match(content) against (${query} in boolean mode)
        and room_id in (${sql.join(roomIds)}) and deleted = 0
      order by created_at desc limit ${limit}`.execute(db);
    return rows.rows.map((row) => row.id);
  }
  // FTS5's MATCH takes the full-text table's own name on its left.
  const fts = sql.table('messages_fts');
  const rows = await sql<{ id: string }>`
    select m.id from ${fts} join ${sql.table('messages')} m on m.rowid = ${fts}.rowid
    where ${fts} match ${query}
      and m.room_id in (${sql.join(roomIds)}) and m.deleted = 0
    order by m.created_at desc limit ${limit}`.execute(db);
  return rows.rows.map((row) => row.id);
}

export type Cell = string | number | null;
type CellRow = Record<string, Cell>;

/**
 * A plugin that renames tables and can tell the new name of one without a
 * query to transform (projections/versions.ts: a versioned read model's).
 */
export interface TableRenaming {
  renamedTable(table: string): string;
}

const isTableRenaming = (plugin: object): plugin is TableRenaming =>
  typeof (plugin as Partial<TableRenaming>).renamedTable === 'function';

/**
 * The SQL name of `table` as `db` sees it: quoted, and renamed by the
 * instance's plugins. Asked for a name directly when they can tell it:
 * compiling `sql.table(name)` through them cost ~15 µs at every bulk write,
 * 2 % of the embedded server's CPU at 1k msg/s (bench/README, fix 29). Any
 * other plugin may rewrite the table too, so with one of those the name is
 * compiled as before.
 */
export function tableName(db: AnyDatabase, table: string): string {
  const executor = db.getExecutor();
  let name = table;
  for (const plugin of executor.plugins) {
    if (!isTableRenaming(plugin)) return sql`${sql.table(table)}`.compile(db).sql;
    name = plugin.renamedTable(name);
  }
  return quote(engineOf(db), name);
}

const quote = (engine: Engine, name: string) => (engine === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** Bound values per statement: well under SQLite's 32,766 and MySQL's 65,535. */
const maxParams = 8_000;
/** And about this much text per statement (MySQL's max_allowed_packet is 16 MB by default). */
const maxBytes = 1_000_000;

/**
 * Slices rows for multi-row statements. With `fewShapes` (SQLite, whose
 * driver keeps every distinct statement prepared), a slice short of the limit
 * is cut to a power of two, so only a dozen statement texts ever occur.
 */
function* chunks<Row>(
  rows: readonly Row[],
  paramsPerRow: number,
  maxRows: number,
  size: (row: Row) => number,
  fewShapes = false,
): Generator<Row[]> {
  const limit = Math.max(1, Math.min(maxRows, Math.floor(maxParams / paramsPerRow)));
  let start = 0;
  while (start < rows.length) {
    let end = start;
    let bytes = 0;
    while (end < rows.length && end - start < limit && bytes < maxBytes) bytes += size(rows[end++]!);
    if (fewShapes && end - start < limit) end = start + 2 ** Math.floor(Math.log2(end - start));
    yield rows.slice(start, end);
    start = end;
  }
}

const sizeOf = (row: Record<string, unknown>) => {
  let size = 16;
  for (const key in row) {
    const value = row[key];
    size += typeof value === 'string' ? value.length * 3 : 8;
  }
  return size;
};

/** `(?, ?, ?), (?, ?, ?)`, kept per shape: bulk writes repeat the same few. */
const placeholderCache = new Map<string, string>();
function placeholders(rows: number, perRow: number): string {
  const key = `${rows}x${perRow}`;
  let text = placeholderCache.get(key);
  if (text === undefined) {
    const one = `(${Array.from({ length: perRow }, () => '?').join(', ')})`;
    text = Array.from({ length: rows }, () => one).join(', ');
    if (placeholderCache.size > 10_000) placeholderCache.clear();
    placeholderCache.set(key, text);
  }
  return text;
}

/**
 * Inserts many rows (all with the same columns) in a few multi-row INSERTs.
 * The statements are written directly rather than through the query builder,
 * which costs several times more per row; only the table name goes through
 * the instance's plugins.
 */
export async function insertRows(db: AnyDatabase, table: string, rows: readonly Record<string, Cell>[]): Promise<void> {
  if (rows.length === 0) return;
  const engine = engineOf(db);
  const columns = Object.keys(rows[0]!);
  const head = `insert into ${tableName(db, table)} (${columns.map((c) => quote(engine, c)).join(', ')}) values `;
  for (const chunk of chunks(rows, columns.length, Infinity, sizeOf, engine === 'sqlite')) {
    const parameters: Cell[] = [];
    for (const row of chunk) for (const column of columns) parameters.push(row[column] ?? null);
    await writeSql(db, head + placeholders(chunk.length, columns.length), parameters);
  }
}

/**
 * Runs a write written as SQL text (the helpers below, the projector's offset
 * move) and answers how many rows it changed. Table names in `text` are taken
 * as written: what a versioned model renames goes through `tableName` first.
 * Inside a SQLite transaction it goes straight to the connection's prepared
 * statement: the transaction holds the file's one connection, and kysely's
 * executor around a synchronous statement (its connection queue, plugin hooks,
 * several promise hops) cost about as much as SQLite's work for a projector's
 * one-row writes (bench/README, fix 27). So the caller must not have another
 * statement of the transaction in flight (every caller awaits each in turn).
 * Elsewhere — MySQL, or outside a transaction, where someone else may hold the
 * connection — through kysely.
 */
export function writeSql(db: AnyDatabase, text: string, parameters: (Cell | Uint8Array)[]): number | Promise<number> {
  const direct = db.isTransaction ? directWriteOf(db.getExecutor().adapter) : undefined;
  if (direct !== undefined) return direct(text, parameters);
  return db.executeQuery(CompiledQuery.raw(text, parameters)).then((result) => Number(result.numAffectedRows ?? 0));
}

/** A column's name quoted for the engine (`partition` is a reserved word on MySQL). */
export function quotedColumn(db: AnyDatabase, name: string): string {
  return quote(engineOf(db), name);
}

/** Deletes the rows whose `column` is one of `values`, a thousand values a statement. */
export async function deleteRowsWhereIn(db: AnyDatabase, table: string, column: string, values: readonly Cell[]): Promise<void> {
  const head = `delete from ${tableName(db, table)} where ${quote(engineOf(db), column)} in (`;
  for (let start = 0; start < values.length; start += 1_000) {
    const chunk = values.slice(start, start + 1_000);
    await writeSql(db, `${head}${chunk.map(() => '?').join(', ')})`, chunk);
  }
}

/**
 * Which of `pairs` name a row of `table` by its two-column key, read in a few
 * statements. The pairs are grouped by their first column, which leads the
 * key's index, so each group is one range of it:
 *
 *   SELECT k1, k2 FROM t WHERE (k1 = ? AND k2 IN (?, ?)) OR (k1 = ? AND k2 IN (?)) …
 *
 * A read, not a DELETE of that shape: on a small table MariaDB scans it
 * instead, and a DELETE's scan locks every row it passes, waiting for the
 * other partitions' projectors' new rows — deadlocks (seen in a rebuild).
 * A plain SELECT locks nothing; the caller deletes what exists by its key.
 */
export async function existingPairs(
  db: AnyDatabase,
  table: string,
  [first, second]: readonly [string, string],
  pairs: readonly (readonly [Cell, Cell])[],
): Promise<[Cell, Cell][]> {
  const engine = engineOf(db);
  const [a, b] = [quote(engine, first), quote(engine, second)];
  const head = `select ${a} as a, ${b} as b from ${tableName(db, table)} where `;
  const found: [Cell, Cell][] = [];
  for (let start = 0; start < pairs.length; start += 1_000) {
    const groups = new Map<Cell, Cell[]>();
    for (const [x, y] of pairs.slice(start, start + 1_000)) {
      const group = groups.get(x);
      if (group === undefined) groups.set(x, [y]);
      else group.push(y);
    }
    const parameters: Cell[] = [];
    const terms: string[] = [];
    for (const [x, ys] of groups) {
      parameters.push(x, ...ys);
      terms.push(`(${a} = ? and ${b} in (${'?, '.repeat(ys.length - 1)}?))`);
    }
    const result = await db.executeQuery<{ a: Cell; b: Cell }>(CompiledQuery.raw(head + terms.join(' or '), parameters));
    for (const row of result.rows) found.push([row.a, row.b]);
  }
  return found;
}

/**
 * `key = ?` for each of `keys` of `row`, and `column < ?` when the row may only
 * raise `raiseColumn`; the values are pushed to `parameters` in that order.
 */
function matchTerms<Row extends Record<string, Cell>>(
  row: Row,
  keys: readonly (keyof Row & string)[],
  raiseColumn: (keyof Row & string) | undefined,
  parameters: Cell[],
  q: (name: string) => string,
): string[] {
  const terms = keys.map((key) => {
    parameters.push(row[key] ?? null);
    return `${q(key)} = ?`;
  });
  if (raiseColumn !== undefined) {
    parameters.push(row[raiseColumn] ?? null);
    terms.push(`${q(raiseColumn)} < ?`);
  }
  return terms;
}

/**
 * Sets columns of many rows, each found by its key, in a few statements (the
 * batched projections' bulk writes). With `raiseOnly`, a row whose flag is
 * set is only updated when its single column grows (`col < new value`).
 *
 *   SQLite: UPDATE t SET c = v.column3 FROM (VALUES (…), …) v WHERE t.k = v.column1 …
 *   MySQL:  UPDATE t SET c = CASE k WHEN … THEN … END WHERE (k = …) OR …
 *           (a CASE, not a join on a derived table of literals, whose
 *           collation could clash with the table's; see below for two keys)
 */
export async function updateRows<Row extends Record<string, Cell>>(
  db: AnyDatabase,
  table: string,
  keys: readonly (keyof Row & string)[],
  columns: readonly (keyof Row & string)[],
  rows: readonly Row[],
  raiseOnly?: (row: Row) => boolean,
): Promise<void> {
  if (rows.length === 0) return;
  if (raiseOnly !== undefined && columns.length !== 1) throw new Error('raiseOnly needs exactly one column');
  const engine = engineOf(db);
  const target = tableName(db, table);
  const q = (name: string) => quote(engine, name);
  if (rows.length === 1) {
    // A projector's batch at a steady rate holds one row per table: a plain
    // UPDATE costs SQLite a third of the multi-row form's time (10 vs 3.7 µs).
    const row = rows[0]!;
    const parameters: Cell[] = columns.map((column) => row[column] ?? null);
    const terms = matchTerms(row, keys, raiseOnly?.(row) ? columns[0] : undefined, parameters, q);
    const assignments = columns.map((column) => `${q(column)} = ?`).join(', ');
    await writeSql(db, `update ${target} set ${assignments} where ${terms.join(' and ')}`, parameters);
    return;
  }
  if (engine === 'sqlite') {
    // VALUES names its columns column1, column2 …: keys, then columns, then the flag.
    const names = [...keys, ...columns];
    const v = (name: string) => `v.column${names.indexOf(name) + 1}`;
    const flag = `v.column${names.length + 1}`;
    const guard = raiseOnly === undefined ? '' : ` and (${flag} = 0 or ${target}.${q(columns[0]!)} < ${v(columns[0]!)})`;
    const head = `update ${target} set ${columns.map((c) => `${q(c)} = ${v(c)}`).join(', ')} from (values `;
    const tail = `) as v where ${keys.map((k) => `${target}.${q(k)} = ${v(k)}`).join(' and ')}${guard}`;
    for (const chunk of chunks(rows, names.length + 1, 1_000, sizeOf, true)) {
      const parameters: Cell[] = [];
      for (const row of chunk) {
        for (const name of names) parameters.push(row[name] ?? null);
        parameters.push(raiseOnly?.(row) ? 1 : 0);
      }
      await writeSql(db, head + placeholders(chunk.length, names.length + 1) + tail, parameters);
    }
    return;
  }
  // Rows grouped by their first key, so a matched row compares its first key
  // with each group's, then its other keys within its group only:
  //   SET c = CASE k1 WHEN ? THEN CASE k2 WHEN ? THEN ? … END … END
  //   WHERE (k1 = ? AND ((k2 = ? [AND c < ?]) OR …)) OR …
  const [first, ...rest] = keys;
  const inner = (row: Row, parameters: Cell[], value: (row: Row) => Cell): string => {
    if (rest.length === 0) {
      parameters.push(value(row));
      return '?';
    }
    for (const k of rest) parameters.push(row[k] ?? null);
    parameters.push(value(row));
    return `when ${rest.map((k) => `${q(k)} = ?`).join(' and ')} then ?`;
  };
  for (const chunk of chunks(rows, keys.length * (columns.length + 1) + columns.length + 1, 500, sizeOf)) {
    const groups = new Map<Cell, Row[]>();
    for (const row of chunk) {
      const group = groups.get(row[first!] ?? null);
      if (group === undefined) groups.set(row[first!] ?? null, [row]);
      else group.push(row);
    }
    const parameters: Cell[] = [];
    const assignments = columns.map((column) => {
      const whens = [...groups].map(([value, members]) => {
        parameters.push(value);
        if (rest.length === 0) return `when ? then ${inner(members[0]!, parameters, (row) => row[column] ?? null)}`;
        return `when ? then case ${members.map((row) => inner(row, parameters, (r) => r[column] ?? null)).join(' ')} end`;
      });
      return `${q(column)} = case ${q(first!)} ${whens.join(' ')} end`;
    });
    const where = [...groups].map(([value, members]) => {
      parameters.push(value);
      const each = members.map((row) => {
        const terms = matchTerms(row, rest, raiseOnly?.(row) ? columns[0] : undefined, parameters, q);
        return terms.length === 0 ? 'true' : `(${terms.join(' and ')})`;
      });
      return `(${q(first!)} = ? and (${each.join(' or ')}))`;
    });
    await writeSql(db, `update ${target} set ${assignments.join(', ')} where ${where.join(' or ')}`, parameters);
  }
}
