// Global admins and account suspension (issue 15). Admins are named in
// PARLEY_ADMINS; one suspends an account until a time or until lifted, saying
// why: the log gets `user_suspended` (the reason sealed with the account's
// key), every session of the account ends at once (its sockets close), and
// no new session starts — a login, a refresh or a password reset is refused
// with 403 `account_suspended` — until it ends or an admin lifts it. Every
// admin act has an id and is listed in the audit, newest first.

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { CommandExecutor } from '../commands/execute.ts';
import { Rejection } from '../domain/decider.ts';
import { userKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import { nextBefore, olderThan, type TimeCursor } from '../queries/time-cursor.ts';
import type { AdminAuditTable, Database, UsersTable } from '../store/schema.ts';

export interface Suspension {
  user_id: string;
  suspended_at: number;
  /** null: until an admin lifts it. */
  until: number | null;
  reason: string;
}

type SuspensionColumns = Pick<UsersTable, 'id'> & {
  suspended_at: number | null;
  suspended_until: number | null;
  suspension_reason: string | null;
};
export const suspensionColumns = ['id', 'suspended_at', 'suspended_until', 'suspension_reason'] as const;

/** The suspension an account's row says is in force at `now`, if any. */
export function suspensionIn(row: SuspensionColumns, now = Date.now()): Suspension | undefined {
  if (row.suspended_at === null) return undefined;
  if (row.suspended_until !== null && row.suspended_until <= now) return undefined;
  return { user_id: row.id, suspended_at: row.suspended_at, until: row.suspended_until, reason: row.suspension_reason ?? '' };
}

/** The account's suspension in force at `now`, if any. */
export async function suspensionOf(db: Kysely<Database>, userId: string, now = Date.now()): Promise<Suspension | undefined> {
  const row = await db.selectFrom('users').select(suspensionColumns).where('id', '=', userId).executeTakeFirst();
  return row === undefined ? undefined : suspensionIn(row, now);
}

/** 403 `account_suspended` (with until and reason) while the suspension is in force. */
export function refuseSuspension(suspension: Suspension | undefined): void {
  if (suspension === undefined) return;
  throw new Rejection('account_suspended', 'this account is suspended', {
    until: suspension.until,
    reason: suspension.reason,
  });
}

/** 403 `account_suspended` (with until and reason) while a suspension of the account is in force. */
export async function refuseSuspended(db: Kysely<Database>, userId: string): Promise<void> {
  refuseSuspension(await suspensionOf(db, userId));
}

/** Whether the user is a global admin: named in PARLEY_ADMINS, or granted (`parley admin grant`); the account exists. */
export async function isAdmin(db: Kysely<Database>, admins: readonly string[], userId: string): Promise<boolean> {
  const user = await db
    .selectFrom('users')
    .select(['username', 'is_admin'])
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return user !== undefined && (user.is_admin === 1 || admins.includes(user.username));
}

/** 403 unless the user is a global admin (isAdmin). */
export async function requireAdmin(db: Kysely<Database>, admins: readonly string[], userId: string): Promise<void> {
  if (!(await isAdmin(db, admins, userId))) throw new Rejection('forbidden', 'only an admin may do this');
}

export interface SuspensionDeps {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  /** Ends every session of the user (refresh and access tokens, sockets). */
  endSessions: (userId: string) => Promise<void>;
}

export async function suspendAccount(
  deps: SuspensionDeps,
  adminId: string,
  userId: string,
  input: { until: number | null; reason: string },
): Promise<Suspension> {
  const sealer = await deps.vault.sealerFor(userKeyId(userId));
  await deps.executor.executeFor(adminId, {
    type: 'suspend_user',
    data: { user_id: userId, until: input.until, reason: sealer.seal(input.reason), action_id: randomUUID() },
  });
  // Decided and projected: from here on no session starts; end those that run.
  await deps.endSessions(userId);
  const suspension = await suspensionOf(deps.db, userId);
  if (suspension === undefined) throw new Rejection('invalid_state', 'the suspension has ended already');
  return suspension;
}

export async function liftSuspension(deps: SuspensionDeps, adminId: string, userId: string): Promise<void> {
  await deps.executor.executeFor(adminId, { type: 'lift_suspension', data: { user_id: userId, action_id: randomUUID() } });
}

/** One act of a global admin, as the audit lists it. */
export type AuditEntry = AdminAuditTable;

/** The admins' acts, newest first (a page ends before `before`). */
export async function readAudit(
  db: Kysely<Database>,
  page: { before?: TimeCursor | undefined; limit: number },
): Promise<{ actions: AuditEntry[]; next_before: string | null }> {
  let query = db.selectFrom('admin_audit').selectAll();
  if (page.before !== undefined) query = query.where(olderThan(page.before, 'at', 'action_id'));
  const actions = await query.orderBy('at', 'desc').orderBy('action_id', 'desc').limit(page.limit).execute();
  return {
    actions,
    next_before: nextBefore(
      actions.map((entry) => ({ at: entry.at, id: entry.action_id })),
      page.limit,
    ),
  };
}
