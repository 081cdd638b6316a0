// One server per embedded data dir. Two `parley start` on the same embedded
// log and read models would both write them (two processors appending seqs);
// the second now refuses to start instead. The lock is an exclusive
// transaction held on the data dir's `server.lock` (an empty SQLite file) for
// the life of the process: the kernel releases it when the process ends, any
// way it ends, so a SIGKILL leaves no stale lock — unlike a pid file, whose
// pid a restarted container's pid 1 would seem to still own. The CLI commands
// that work beside a running server (rebuild, replay) take no lock.

import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const LOCK_FILE = 'server.lock';

export interface DataDirLock {
  release(): void;
}

export class DataDirInUse extends Error {
  readonly code = 'data_dir_in_use';
}

/** Takes the data dir's lock, or throws DataDirInUse at once (no waiting). */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE);
  const db = new DatabaseSync(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    throw new DataDirInUse(
      `the data dir ${dataDir} is in use by another running Parley server (its embedded log or read models ` +
        'take one writer). Stop that server, or give this one its own PARLEY_DATA_DIR; instances of a distributed ' +
        'deployment (KAFKA_BROKERS and DATABASE_URL set) may share one.',
      { cause: error },
    );
  }
  return {
    release() {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
