// Where a page of a newest-first list ends (mentions, followed threads): the
// last item's time and id, as `next_before` gives it — `<epoch ms>:<uuid>`. The
// next page starts after it; the id breaks ties between items of the same ms.

import { sql, type Expression, type SqlBool } from 'kysely';
import { z } from 'zod';

export interface TimeCursor {
  at: number;
  id: string;
}

export const timeCursorText = (cursor: TimeCursor): string => `${cursor.at}:${cursor.id}`;

/** undefined when `text` is not a cursor. */
export function parseTimeCursor(text: string): TimeCursor | undefined {
  const match = /^(\d{1,15}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(text);
  return match === null ? undefined : { at: Number(match[1]), id: match[2]! };
}

/** The `before` query parameter: a `next_before` of an earlier page. */
export const beforeCursorSchema = z
  .string()
  .max(64)
  .transform((text, ctx) => {
    const cursor = parseTimeCursor(text);
    if (cursor === undefined) ctx.addIssue({ code: 'custom', message: 'must be a next_before of an earlier page' });
    return cursor;
  })
  .optional();

/** The next page's cursor: after the last row, when the page was full. */
export function nextBefore(rows: readonly { at: number; id: string }[], limit: number): string | null {
  const last = rows.at(-1);
  return rows.length === limit && last !== undefined ? timeCursorText(last) : null;
}

/** Rows of a newest-first page that come after the cursor: older, or as old with a smaller id. */
export function olderThan(cursor: TimeCursor, atColumn: string, idColumn: string): Expression<SqlBool> {
  const [at, id] = [sql.ref(atColumn), sql.ref(idColumn)];
  return sql<SqlBool>`(${at} < ${cursor.at} or (${at} = ${cursor.at} and ${id} < ${cursor.id}))`;
}
