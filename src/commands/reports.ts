// Reports to the moderators (issue 15): anyone reports a message they can see,
// or a user; a global admin, or an owner or admin of the message's room,
// resolves it. The reason is the reporter's words: sealed with their key in
// the log, gone from the read model when their account is.

import { newId } from '../ids.ts';
import type { Kysely } from 'kysely';
import { isAdmin } from '../auth/suspension.ts';
import { Rejection } from '../domain/decider.ts';
import type { ReportResolution } from '../domain/report.ts';
import { userKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { listReports, readReport, type ReportReader, type ReportStatus, type ReportView } from '../queries/reports-queries.ts';
import type { TimeCursor } from '../queries/time-cursor.ts';
import type { Database } from '../store/schema.ts';
import type { CommandRateLimits } from './command-rate-limits.ts';
import type { CommandExecutor } from './execute.ts';

export interface ReportsDeps {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  rateLimits: CommandRateLimits;
  /** PARLEY_ADMINS. */
  admins: readonly string[];
}

export type ReportInput = { message_id: string; reason: string } | { user_id: string; reason: string };

/** What a reporter may report: a message of a room they are in, or an account that exists. */
async function targetOf(
  db: Kysely<Database>,
  reporterId: string,
  input: ReportInput,
): Promise<{ target_user_id: string; room_id: string | null; message_id: string | null }> {
  if ('user_id' in input) {
    const user = await db
      .selectFrom('users')
      .select('id')
      .where('id', '=', input.user_id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (user === undefined) throw new Rejection('user_not_found', 'user not found');
    return { target_user_id: user.id, room_id: null, message_id: null };
  }
  const message = await db
    .selectFrom('messages as m')
    .innerJoin('room_members as rm', (join) => join.onRef('rm.room_id', '=', 'm.room_id').on('rm.user_id', '=', reporterId))
    .select(['m.id', 'm.room_id', 'm.sender_id'])
    .where('m.id', '=', input.message_id)
    .executeTakeFirst();
  // Not in the room: as if there were no such message (nothing about it leaks).
  if (message === undefined) throw new Rejection('message_not_found', 'message not found');
  return { target_user_id: message.sender_id, room_id: message.room_id, message_id: message.id };
}

async function readerOf(deps: ReportsDeps, userId: string): Promise<ReportReader> {
  return (await isAdmin(deps.db, deps.admins, userId)) ? { kind: 'admin' } : { kind: 'moderator', userId };
}

export async function fileReport(
  deps: ReportsDeps,
  reporterId: string,
  input: ReportInput,
): Promise<{ id: string; filed_at: number }> {
  await deps.rateLimits.charge(reporterId, 'file_report');
  const target = await targetOf(deps.db, reporterId, input);
  const reportId = newId();
  const sealer = await deps.vault.sealerFor(userKeyId(reporterId));
  await deps.executor.executeFor(reporterId, {
    type: 'file_report',
    data: { report_id: reportId, ...target, reason: sealer.seal(input.reason) },
  });
  const filed = await deps.db.selectFrom('reports').select(['id', 'filed_at']).where('id', '=', reportId).executeTakeFirst();
  if (filed === undefined) throw new Error('the report is not in the read model after its command');
  return filed;
}

export async function reportsFor(
  deps: ReportsDeps,
  userId: string,
  page: { status?: ReportStatus | undefined; before?: TimeCursor | undefined; limit: number },
): Promise<{ reports: ReportView[]; next_before: string | null }> {
  return listReports(deps.db, await readerOf(deps, userId), page);
}

/** Resolves a report the user moderates; one they may not see is 404, as if it did not exist. */
export async function resolveReport(
  deps: ReportsDeps,
  userId: string,
  reportId: string,
  resolution: ReportResolution,
): Promise<ReportView> {
  const reader = await readerOf(deps, userId);
  if ((await readReport(deps.db, reader, reportId)) === undefined) throw new Rejection('not_found', 'report not found');
  await deps.rateLimits.charge(userId, 'resolve_report');
  await deps.executor.executeFor(userId, { type: 'resolve_report', data: { report_id: reportId, resolution } });
  const resolved = await readReport(deps.db, reader, reportId);
  if (resolved === undefined) throw new Rejection('not_found', 'report not found');
  return resolved;
}
