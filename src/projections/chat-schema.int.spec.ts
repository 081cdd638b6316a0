// The chat model's tables come from two places: migrations/ made version 1,
// chat-schema.ts makes every rebuilt version. They must not drift: on each
// engine, the schema after all migrations and the one createChatTables +
// finishChatTables produce are introspected and compared — columns (order,
// type, nullability, default), primary keys, indexes (columns, uniqueness,
// kind) and full-text search (FTS5 table and triggers / FULLTEXT index).

import { sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import type { AnyDatabase } from '../store/dialect.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { chatModel, chatTables, createChatTables, finishChatTables } from './chat-schema.ts';
import { existingVersions, versionedName } from './versions.ts';

/** Suffixes and SQLite's generated autoindex names say nothing about the schema. */
const normalise = (text: string, version: number) => text.replaceAll(`__v${version}`, '');

async function sqliteSchema(db: AnyDatabase, version: number): Promise<unknown> {
  const tables: Record<string, unknown> = {};
  for (const table of chatTables) {
    const name = versionedName(table, version);
    const columns = (
      await sql<
        Record<string, unknown>
      >`select name, type, "notnull", dflt_value, pk from pragma_table_info(${name}) order by cid`.execute(db)
    ).rows;
    const indexList = (
      await sql<{
        name: string;
        unique: number;
        origin: string;
      }>`select name, "unique", origin from pragma_index_list(${name})`.execute(db)
    ).rows;
    const indexes: string[] = [];
    for (const index of indexList) {
      if (index.origin === 'pk') continue; // the primary key, already in `pk` above
      const cols = (await sql<{ name: string }>`select name from pragma_index_info(${index.name}) order by seqno`.execute(db))
        .rows;
      indexes.push(`${index.unique ? 'unique' : 'index'}(${cols.map((c) => c.name).join(',')})`);
    }
    tables[table] = { columns, indexes: indexes.sort() };
  }
  const objects = (
    await sql<{ type: string; name: string; tbl_name: string; sql: string | null }>`
      select type, name, tbl_name, sql from sqlite_master
      where (type = 'trigger' or (type = 'table' and sql like 'create virtual table%'))
        and tbl_name in (${sql.join([versionedName('messages', version), versionedName('messages_fts', version)])})
      order by type, name`.execute(db)
  ).rows.map((row) => ({
    type: row.type,
    name: normalise(row.name, version),
    // Whitespace and case aside, the same statement.
    sql: normalise(row.sql ?? '', version)
      .replace(/["'`]/g, '')
      .replace(/\s+/g, ' ')
      .toLowerCase()
      .trim(),
  }));
  return { tables, search: objects };
}

async function mysqlSchema(db: AnyDatabase, version: number): Promise<unknown> {
  const tables: Record<string, unknown> = {};
  for (const table of chatTables) {
    const name = versionedName(table, version);
    const columns = (
      await sql`select column_name, column_type, is_nullable, column_default, column_key, collation_name
        from information_schema.columns where table_schema = database() and table_name = ${name}
        order by ordinal_position`.execute(db)
    ).rows;
    const stats = (
      await sql<{ index_name: string; non_unique: number; column_name: string; index_type: string }>`
        select index_name, non_unique, column_name, index_type from information_schema.statistics
        where table_schema = database() and table_name = ${name} order by index_name, seq_in_index`.execute(db)
    ).rows;
    const byIndex = new Map<string, { kind: string; cols: string[] }>();
    for (const row of stats) {
      const kind =
        row.index_name === 'PRIMARY'
          ? 'primary'
          : row.index_type === 'FULLTEXT'
            ? 'fulltext'
            : row.non_unique === 0
              ? 'unique'
              : 'index';
      const entry = byIndex.get(row.index_name) ?? { kind, cols: [] };
      entry.cols.push(row.column_name);
      byIndex.set(row.index_name, entry);
    }
    tables[table] = { columns, indexes: [...byIndex.values()].map((i) => `${i.kind}(${i.cols.join(',')})`).sort() };
  }
  return { tables };
}

for (const engine of await testEngines('chat_schema')) {
  describe.runIf(engine.available)(`chat schema on ${engine.name}`, () => {
    let store: Store | undefined;
    afterAll(async () => {
      await store?.close();
      await engine.dispose();
    });

    test('createChatTables + finishChatTables give exactly the schema migrations gave', async () => {
      store = await engine.open();
      const db: AnyDatabase = store.db;
      await createChatTables(db, 2);
      await finishChatTables(db, 2);
      const schemaOf = engine.name === 'mysql' ? mysqlSchema : sqliteSchema;
      const migrated = await schemaOf(db, 1);
      const created = await schemaOf(db, 2);
      expect(created).toEqual(migrated);
      // And the comparison has teeth: it sees every table, index and trigger.
      expect(JSON.stringify(migrated)).toContain('unique(room_id,seq)');
      expect(JSON.stringify(migrated)).toContain(engine.name === 'mysql' ? 'fulltext(content)' : 'messages_fts_update');
    });

    test('finishing twice changes nothing; dropping a version removes all of it', async () => {
      const db: AnyDatabase = store!.db;
      await finishChatTables(db, 2);
      expect(await existingVersions(db, chatModel)).toEqual([1, 2]);
      await chatModel.drop(db, 2);
      expect(await existingVersions(db, chatModel)).toEqual([1]);
      const left = (await db.introspection.getTables()).map((t) => t.name).filter((n) => n.includes('__v2'));
      expect(left).toEqual([]);
    });
  });
}
