// wal-checkpointer.ts on a real SQLite file: the worker thread copies what the
// event loop's connection commits into the database file, the -wal file is
// reused instead of growing with every commit, and stop() closes the worker's
// connection so the file is left whole.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { DatabaseSync } from 'node:sqlite';
import { openSqliteFile } from './sqlite-dialect.ts';
import { BACKSTOP_PAGES, checkpointInBackground, type WalCheckpointer } from './wal-checkpointer.ts';

const ROW_BYTES = 4096;

describe('WAL checkpoints in a worker thread', () => {
  let dir: string;
  let database: DatabaseSync | undefined;
  let checkpointer: WalCheckpointer | undefined;

  afterEach(async () => {
    database?.close();
    await checkpointer?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const open = (onError: (error: unknown) => void = (error) => expect.fail(String(error))) => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-checkpointer-'));
    const filename = path.join(dir, 'models.sqlite');
    database = openSqliteFile(filename).database;
    database.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    checkpointer = checkpointInBackground(database, filename, { intervalMs: 10, onError });
    const insert = database.prepare('INSERT INTO notes (body) VALUES (?)');
    return { filename, write: () => insert.run(new Uint8Array(ROW_BYTES)) };
  };
  const size = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);
  /** The -wal header's checkpoint sequence number (bytes 12–15, big-endian): +1 each time the file is started over. */
  const walCheckpointSequence = (file: string) => fs.readFileSync(file).readUInt32BE(12);

  test('the connection on the event loop only checkpoints past the backstop', () => {
    open();
    const row = database!.prepare('PRAGMA wal_autocheckpoint').get();
    expect(row?.['wal_autocheckpoint']).toBe(BACKSTOP_PAGES);
  });

  test('what the event loop commits reaches the database file without it checkpointing', async () => {
    const { filename, write } = open();
    for (let i = 0; i < 200; i++) write();
    // 200 rows of 4 KiB: far below the backstop, so only the worker can have copied them.
    await vi.waitFor(() => expect(size(filename)).toBeGreaterThan(200 * ROW_BYTES), { timeout: 5_000, interval: 20 });
    const count = database!.prepare('SELECT count(*) AS n FROM notes').get();
    expect(count?.['n']).toBe(200);
  });

  test('the -wal file is started over once the worker has caught up, instead of growing with every commit', async () => {
    const { filename, write } = open();
    for (let i = 0; i < 100; i++) write();
    const firstRound = walCheckpointSequence(`${filename}-wal`);
    // A commit that begins after a checkpoint caught up with the last one
    // writes from the start of the file again, and the header counts it.
    await vi.waitFor(
      () => {
        write();
        expect(walCheckpointSequence(`${filename}-wal`)).toBeGreaterThan(firstRound);
      },
      { timeout: 5_000, interval: 20 },
    );
  });

  test('stop ends the worker; the file opens afresh with every row', async () => {
    const { filename, write } = open();
    for (let i = 0; i < 50; i++) write();
    database!.close();
    database = undefined;
    await checkpointer!.stop();
    checkpointer = undefined;
    const reopened = new DatabaseSync(filename);
    try {
      expect(reopened.prepare('SELECT count(*) AS n FROM notes').get()?.['n']).toBe(50);
      expect(reopened.prepare('PRAGMA integrity_check').get()?.['integrity_check']).toBe('ok');
    } finally {
      reopened.close();
    }
    // The last connection to close checkpointed and removed the -wal file.
    expect(fs.existsSync(`${filename}-wal`)).toBe(false);
  });

  test('stopping holds the process open until the worker is gone, though nothing else does', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-checkpointer-'));
    const fixture = fileURLToPath(new URL('./testing/stop-checkpointer.fixture.ts', import.meta.url));
    const child = spawnSync(process.execPath, [fixture, dir], { encoding: 'utf8', timeout: 30_000 });
    // Without the hold, the process ends mid-stop: exit code 13 (an unsettled await), nothing printed.
    expect({ status: child.status, stdout: child.stdout }).toEqual({ status: 0, stdout: 'stopped\n' });
  });
});
