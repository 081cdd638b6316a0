// Erasure's last step on the embedded engine: making SQLite's files forget.
//
// Destroying a key (key-store.ts) and tombstoning a message's row change what
// a query sees, but SQLite's files may still hold the old bytes: the -wal file
// keeps earlier page images until a checkpoint, and the full-text index keeps
// a deleted message's terms in older segments until they merge. (Freed space
// inside pages is zeroed as it is freed: the read models open with
// `secure_delete`, store/sqlite-dialect.ts.) The scrubber runs after keys were
// destroyed: it merges the full-text index of every version of the chat model
// and checkpoints the WAL into the database file, truncating the WAL.
//
// MySQL needs none of this here: InnoDB purges old row versions itself, and
// Kafka's segments only ever held sealed values.

import type { Logger } from 'pino';
import { startPeriodicTask } from '../infra/periodic-task.ts';
import { sql, type Kysely } from 'kysely';
import { engineOf } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';
import { chatModel } from '../projections/chat-schema.ts';
import { existingVersions, versionedName } from '../projections/versions.ts';

export interface Scrubber {
  /** Scrubs now if a key was destroyed since the last scrub; resolves with whether it did. */
  runOnce(): Promise<boolean>;
  stop(): Promise<void>;
}

export function startScrubber(options: { db: Kysely<Database>; intervalMs: number; logger: Logger }): Scrubber {
  const { db, logger } = options;
  let scrubbedUpTo = 0;

  async function scrub(): Promise<boolean> {
    if (engineOf(db) !== 'sqlite') return false;
    const latest = await db
      .selectFrom('data_keys')
      .select((eb) => eb.fn.max('destroyed_at').as('at'))
      .executeTakeFirst();
    const at = latest?.at ?? 0;
    if (at <= scrubbedUpTo) return false;
    for (const version of await existingVersions(db, chatModel)) {
      // A version still being built has no full-text index yet.
      const name = versionedName('messages_fts', version);
      const { rows } = await sql`select 1 from sqlite_master where name = ${name}`.execute(db);
      if (rows.length === 0) continue;
      await sql`insert into ${sql.table(name)}(${sql.table(name)}) values ('optimize')`.execute(db);
    }
    // TRUNCATE waits for no reader; one that holds an old snapshot makes it
    // report busy, and the next round tries again.
    const result = await sql<{ busy: number }>`pragma wal_checkpoint(TRUNCATE)`.execute(db);
    if (result.rows[0]?.busy !== 0) return false;
    scrubbedUpTo = at;
    return true;
  }

  return startPeriodicTask(scrub, { intervalMs: options.intervalMs, logger, what: 'erasure scrub' });
}
