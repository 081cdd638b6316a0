// The few places where SQLite and MySQL need different SQL, kept together so
// the rest of the code never asks which database it talks to.

import { MysqlAdapter, sql, type Kysely } from 'kysely';
import type { Engine } from './store.ts';

/** Which engine a Kysely instance talks to (migrations only receive the instance). */
export function engineOf(db: Kysely<any>): Engine {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite';
}

/** Escapes LIKE wildcards so user input is matched literally (use with `escape '\\'`). */
export const escapeLike = (value: string): string => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Turns free text into a full-text query that matches every word as a prefix,
 * with the engine's operators stripped so input cannot change the query's
 * meaning: FTS5 `"word"*`, MySQL boolean mode `+word*`.
 */
export function fullTextQuery(engine: Engine, text: string): string | null {
  const words = text
    .normalize('NFKC')
    .split(/[^\p{L}\p{N}_]+/u)
    .filter((word) => word.length > 0)
    .slice(0, 10);
  if (words.length === 0) return null;
  return engine === 'mysql' ? words.map((w) => `+${w}*`).join(' ') : words.map((w) => `"${w}"*`).join(' ');
}

/** Ids of messages whose content matches, best first, within the given rooms. */
export async function searchMessageIds(
  db: Kysely<any>,
  engine: Engine,
  query: string,
  roomIds: string[],
  limit: number,
): Promise<string[]> {
  if (roomIds.length === 0) return [];
  if (engine === 'mysql') {
    const rows = await sql<{ id: string }>`
      select id from messages
      where match(content) against (${query} in boolean mode)
        and room_id in (${sql.join(roomIds)}) and deleted = 0
      order by created_at desc limit ${limit}`.execute(db);
    return rows.rows.map((row) => row.id);
  }
  const rows = await sql<{ id: string }>`
    select m.id from messages_fts f join messages m on m.rowid = f.rowid
    where messages_fts match ${query}
      and m.room_id in (${sql.join(roomIds)}) and m.deleted = 0
    order by m.created_at desc limit ${limit}`.execute(db);
  return rows.rows.map((row) => row.id);
}
