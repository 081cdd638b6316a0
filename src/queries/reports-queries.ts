// Reports as moderators read them (GET /api/v1/reports): a global admin sees
// every report, an owner or admin of a room the reports of its messages —
// newest first, open, resolved or both, with what the reported message says
// now (null once deleted or erased), so a moderator need not be in the room.

import type { Kysely } from 'kysely';
import type { Database, ReportsTable } from '../store/schema.ts';
import { nextBefore, olderThan, type TimeCursor } from './time-cursor.ts';

export type ReportStatus = 'open' | 'resolved';

export interface ReportView {
  id: string;
  reporter_id: string;
  target_user_id: string;
  room_id: string | null;
  message_id: string | null;
  /** What the reported message says now; null once deleted or erased, and for a report of a user. */
  message_content: string | null;
  reason: string;
  status: ReportStatus;
  resolution: ReportsTable['resolution'];
  resolved_by: string | null;
  filed_at: number;
  resolved_at: number | null;
}

/** Who reads: every report (a global admin), or those of the rooms they moderate. */
export type ReportReader = { kind: 'admin' } | { kind: 'moderator'; userId: string };

/** The reports `reader` may see, each with its message as it stands now. */
function reportsFor(db: Kysely<Database>, reader: ReportReader) {
  const all = db
    .selectFrom('reports as r')
    .leftJoin('messages as m', 'm.id', 'r.message_id')
    .select([
      'r.id',
      'r.reporter_id',
      'r.target_user_id',
      'r.room_id',
      'r.message_id',
      'r.reason',
      'r.resolution',
      'r.resolved_by',
      'r.filed_at',
      'r.resolved_at',
      'm.content',
      'm.deleted',
    ]);
  if (reader.kind === 'admin') return all;
  return all.where('r.room_id', 'in', (eb) =>
    eb.selectFrom('room_members').select('room_id').where('user_id', '=', reader.userId).where('role', 'in', ['owner', 'admin']),
  );
}

type Row = Awaited<ReturnType<ReturnType<typeof reportsFor>['execute']>>[number];

const viewOf = (row: Row): ReportView => ({
  id: row.id,
  reporter_id: row.reporter_id,
  target_user_id: row.target_user_id,
  room_id: row.room_id,
  message_id: row.message_id,
  // A tombstone (deleted, or its sender's account erased) has no content to show.
  message_content: row.content === null || row.deleted === 1 || row.content === '' ? null : row.content,
  reason: row.reason,
  status: row.resolution === null ? 'open' : 'resolved',
  resolution: row.resolution,
  resolved_by: row.resolved_by,
  filed_at: row.filed_at,
  resolved_at: row.resolved_at,
});

export async function readReport(db: Kysely<Database>, reader: ReportReader, reportId: string): Promise<ReportView | undefined> {
  const row = await reportsFor(db, reader).where('r.id', '=', reportId).executeTakeFirst();
  return row === undefined ? undefined : viewOf(row);
}

export async function listReports(
  db: Kysely<Database>,
  reader: ReportReader,
  page: { status?: ReportStatus | undefined; before?: TimeCursor | undefined; limit: number },
): Promise<{ reports: ReportView[]; next_before: string | null }> {
  let query = reportsFor(db, reader);
  if (page.status === 'open') query = query.where('r.resolution', 'is', null);
  if (page.status === 'resolved') query = query.where('r.resolution', 'is not', null);
  if (page.before !== undefined) query = query.where(olderThan(page.before, 'r.filed_at', 'r.id'));
  const rows = await query.orderBy('r.filed_at', 'desc').orderBy('r.id', 'desc').limit(page.limit).execute();
  const reports = rows.map(viewOf);
  return {
    reports,
    next_before: nextBefore(
      reports.map((report) => ({ at: report.filed_at, id: report.id })),
      page.limit,
    ),
  };
}
