// A data key exists nowhere but the key store, while the log — synced at
// every commit — holds what was sealed under it. The embedded read-model file
// runs at synchronous = NORMAL (a projection replays what a power cut took),
// which would let a cut lose a key whose message the log still has: that
// message could never be read again. So the key store's writes commit at
// FULL, and the file goes back to NORMAL after. Checked on a real SQLite file
// by reading the connection's setting as each statement is about to run.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Kysely, type KyselyPlugin, type RootOperationNode } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../store/migrate.ts';
import type { Database } from '../store/schema.ts';
import { openSqliteFile } from '../store/sqlite-dialect.ts';
import { storeKeys } from './key-store.ts';
import { createMessageKeyPool } from './message-keys.ts';
import { newDataKey } from './sealing.ts';

const FULL = 2;
const NORMAL = 1;

describe('the key store on SQLite', () => {
  let database: DatabaseSync;
  let db: Kysely<Database>;
  /** The synchronous setting each statement ran under, by the table it wrote ("-" for the rest). */
  const seen: { table: string; synchronous: number }[] = [];

  beforeAll(async () => {
    const file = openSqliteFile(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-key-store-')), 'read-models.sqlite'));
    database = file.database;
    const recordSetting: KyselyPlugin = {
      transformQuery: ({ node }) => {
        seen.push({ table: writtenTable(node), synchronous: synchronous() });
        return node;
      },
      transformResult: ({ result }) => Promise.resolve(result),
    };
    db = new Kysely<Database>({ dialect: file.dialect, plugins: [recordSetting] });
    await migrateToLatest(db);
  });
  afterAll(async () => {
    await db.destroy();
  });

  const synchronous = () => (database.prepare('pragma synchronous').get() as { synchronous: number }).synchronous;

  it('stores keys at synchronous FULL, and the file is back at NORMAL after', async () => {
    expect(synchronous()).toBe(NORMAL);
    seen.length = 0;
    await storeKeys(db, [{ id: 'message:a', secret: newDataKey() }], 1);
    expect(seen.filter((s) => s.table === 'data_keys')).toEqual([{ table: 'data_keys', synchronous: FULL }]);
    expect(synchronous()).toBe(NORMAL);
    expect(await db.selectFrom('data_keys').select('id').where('id', '=', 'message:a').execute()).toHaveLength(1);
  });

  it('a statement issued while keys are stored runs after them, at NORMAL', async () => {
    seen.length = 0;
    const storing = storeKeys(db, [{ id: 'message:b', secret: newDataKey() }], 1);
    const other = db
      .insertInto('projection_offsets')
      .values({ projection: 't', topic: 't', partition: 0, next_offset: 1 })
      .execute();
    await Promise.all([storing, other]);
    const keys = seen.findIndex((s) => s.table === 'data_keys');
    const offsets = seen.findIndex((s) => s.table === 'projection_offsets');
    expect(seen[keys]!.synchronous).toBe(FULL);
    expect(seen[offsets]!.synchronous).toBe(NORMAL);
  });

  it("a message key pool's keys are stored at FULL before one is handed out", async () => {
    seen.length = 0;
    const pool = createMessageKeyPool({ db, size: 8, onRefillError: (error) => expect.fail(String(error)) });
    const key = await pool.take();
    expect(seen.filter((s) => s.table === 'data_keys').map((s) => s.synchronous)).toEqual([FULL]);
    expect(await db.selectFrom('data_keys').select('id').where('id', '=', key.keyId).execute()).toHaveLength(1);
    await pool.stop();
    expect(synchronous()).toBe(NORMAL);
  });
});

/** The table an INSERT writes, or "-". */
function writtenTable(node: RootOperationNode): string {
  if (node.kind !== 'InsertQueryNode') return '-';
  return node.into?.table.identifier.name ?? '-';
}
