// Runs, in its own process, a transaction whose statement journal outgrows
// SQLite's 64 KiB in-memory threshold, and prints how many temporary files the
// process held open in SQLITE_TMPDIR meanwhile (sqlite-dialect.int.spec.ts).
// SQLite reads SQLITE_TMPDIR once, when it initialises; hence a process of its own.
//
//   node statement-journal.fixture.ts <dir> read-model|bulk-load|plain
//
// read-model: a file as the server opens it; bulk-load: the same, readied for a
// rebuild (prepareBulkLoad); plain: a connection with SQLite's defaults.

import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely } from 'kysely';
import { prepareBulkLoad } from '../dialect.ts';
import { openSqliteFile } from '../sqlite-dialect.ts';

const [dir, kind] = process.argv.slice(2) as [string, 'read-model' | 'bulk-load' | 'plain'];
const filename = path.join(dir, 'models.sqlite');
let database: DatabaseSync;
if (kind === 'plain') {
  database = new DatabaseSync(filename);
} else {
  const file = openSqliteFile(filename);
  database = file.database;
  if (kind === 'bulk-load') await prepareBulkLoad(new Kysely({ dialect: file.dialect }));
}
database.exec('PRAGMA journal_mode = WAL');
database.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, rank INTEGER NOT NULL UNIQUE, body BLOB NOT NULL)');
const insert = database.prepare('INSERT INTO notes (rank, body) VALUES (?, ?)');
database.exec('BEGIN');
for (let i = 0; i < 200; i++) insert.run(i, new Uint8Array(2048));
database.exec('COMMIT');

/** Files this process holds open under the temporary directory (SQLite unlinks them at once; the descriptor remains). */
function openTemporaryFiles(): number {
  const tmpdir = process.env['SQLITE_TMPDIR']!;
  let count = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(path.join('/proc/self/fd', fd)).startsWith(tmpdir)) count++;
    } catch {
      // the descriptor readdir itself used is gone already
    }
  }
  return count;
}

// A multi-row UPDATE that may abort on a constraint, inside a transaction:
// SQLite journals every existing page it changes (~100 pages here) so the
// statement can be undone alone.
database.exec('BEGIN');
database.exec('UPDATE notes SET rank = rank + 1000, body = zeroblob(2048)');
const held = openTemporaryFiles();
database.exec('COMMIT');
database.close();
process.stdout.write(`${held}\n`);
