// A migrated read-model SQLite file whose Kysely instance records, for every
// statement, the table it writes and the connection's `synchronous` setting
// at the moment it is about to run — how specs check that writes which exist
// nowhere but this file commit at FULL (store/dialect.ts `durably`) while the
// file runs at NORMAL.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, TableNode, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { migrateToLatest } from '../migrate.ts';
import type { Database } from '../schema.ts';
import { openSqliteFile } from '../sqlite-dialect.ts';

export const FULL = 2;
export const NORMAL = 1;

export interface RecordedStatement {
  /** The table an INSERT, UPDATE or DELETE writes; "-" for the rest. */
  table: string;
  synchronous: number;
}

export interface RecordedSqlite {
  db: Kysely<Database>;
  /** What ran since the last `clear`. */
  seen: RecordedStatement[];
  /** The settings the writes of `table` ran under. */
  writesOf(table: string): number[];
  /** The connection's setting now. */
  synchronous(): number;
  clear(): void;
}

export async function openRecordedSqlite(): Promise<RecordedSqlite> {
  const file = openSqliteFile(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-sync-')), 'read-models.sqlite'));
  const synchronous = () => (file.database.prepare('pragma synchronous').get() as { synchronous: number }).synchronous;
  const seen: RecordedStatement[] = [];
  const recorder: KyselyPlugin = {
    transformQuery: ({ node }) => {
      seen.push({ table: writtenTable(node), synchronous: synchronous() });
      return node;
    },
    transformResult: ({ result }) => Promise.resolve(result),
  };
  const db = new Kysely<Database>({ dialect: file.dialect, plugins: [recorder] });
  await migrateToLatest(db);
  seen.length = 0;
  return {
    db,
    seen,
    writesOf: (table) => seen.filter((s) => s.table === table).map((s) => s.synchronous),
    synchronous,
    clear: () => void (seen.length = 0),
  };
}

function writtenTable(node: RootOperationNode): string {
  switch (node.kind) {
    case 'InsertQueryNode':
      return node.into?.table.identifier.name ?? '-';
    case 'UpdateQueryNode':
      return node.table !== undefined && TableNode.is(node.table) ? node.table.table.identifier.name : '-';
    case 'DeleteQueryNode': {
      const [from] = node.from.froms;
      return from !== undefined && TableNode.is(from) ? from.table.identifier.name : '-';
    }
    default:
      return '-';
  }
}
