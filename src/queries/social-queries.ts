// Reads over friends, friend requests and blocks.

import type { Kysely, Selectable } from 'kysely';
import type { Database, FriendRequestsTable } from '../store/schema.ts';
import { userView, type UserView } from './wire.ts';

export interface FriendRequestView {
  id: string;
  from_user_id: string;
  to_user_id: string;
  status: FriendRequestsTable['status'];
  created_at: number;
  updated_at: number;
}

export const requestView = (row: Selectable<FriendRequestsTable>): FriendRequestView => ({
  id: row.id,
  from_user_id: row.from_user_id,
  to_user_id: row.to_user_id,
  status: row.status,
  created_at: row.created_at,
  updated_at: row.updated_at,
});

export async function findRequest(db: Kysely<Database>, requestId: string): Promise<FriendRequestView | undefined> {
  const row = await db.selectFrom('friend_requests').selectAll().where('id', '=', requestId).executeTakeFirst();
  return row && requestView(row);
}

export async function pendingRequests(
  db: Kysely<Database>,
  userId: string,
  direction: 'incoming' | 'outgoing',
): Promise<FriendRequestView[]> {
  const rows = await db
    .selectFrom('friend_requests')
    .selectAll()
    .where(direction === 'incoming' ? 'to_user_id' : 'from_user_id', '=', userId)
    .where('status', '=', 'pending')
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map(requestView);
}

export async function friendsOf(db: Kysely<Database>, userId: string): Promise<(UserView & { since: number })[]> {
  const rows = await db
    .selectFrom('friendships as f')
    .innerJoin('users as u', 'u.id', 'f.friend_id')
    .selectAll('u')
    .select('f.since')
    .where('f.user_id', '=', userId)
    .orderBy('u.username')
    .execute();
  return rows.map((row) => ({ ...userView(row), since: row.since }));
}

export async function friendIdsOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('friendships').select('friend_id').where('user_id', '=', userId).execute();
  return rows.map((row) => row.friend_id);
}

export async function areFriends(db: Kysely<Database>, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('friendships')
    .select('user_id')
    .where('user_id', '=', a)
    .where('friend_id', '=', b)
    .executeTakeFirst();
  return row !== undefined;
}

/** True when either user blocks the other. */
export async function blockedBetween(db: Kysely<Database>, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('blocks')
    .select('blocker_id')
    .where((eb) =>
      eb.or([
        eb.and([eb('blocker_id', '=', a), eb('blocked_id', '=', b)]),
        eb.and([eb('blocker_id', '=', b), eb('blocked_id', '=', a)]),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}

/** Which of `others` are friends of `userId`. */
export async function friendsAmong(db: Kysely<Database>, userId: string, others: string[]): Promise<Set<string>> {
  if (others.length === 0) return new Set();
  const rows = await db
    .selectFrom('friendships')
    .select('friend_id')
    .where('user_id', '=', userId)
    .where('friend_id', 'in', others)
    .execute();
  return new Set(rows.map((row) => row.friend_id));
}

/** Which of `others` block `userId` or are blocked by them. */
export async function blockedAmong(db: Kysely<Database>, userId: string, others: string[]): Promise<Set<string>> {
  if (others.length === 0) return new Set();
  const rows = await db
    .selectFrom('blocks')
    .select(['blocker_id', 'blocked_id'])
    .where((eb) =>
      eb.or([
        eb.and([eb('blocker_id', '=', userId), eb('blocked_id', 'in', others)]),
        eb.and([eb('blocked_id', '=', userId), eb('blocker_id', 'in', others)]),
      ]),
    )
    .execute();
  return new Set(rows.map((row) => (row.blocker_id === userId ? row.blocked_id : row.blocker_id)));
}

export async function blockedBy(db: Kysely<Database>, userId: string): Promise<(UserView & { blocked_at: number })[]> {
  const rows = await db
    .selectFrom('blocks as b')
    .innerJoin('users as u', 'u.id', 'b.blocked_id')
    .selectAll('u')
    .select('b.created_at as blocked_at')
    .where('b.blocker_id', '=', userId)
    .orderBy('b.created_at', 'desc')
    .execute();
  return rows.map((row) => ({ ...userView(row), blocked_at: row.blocked_at }));
}

/** Users on either side of a block with `userId` (they do not see each other). */
export async function blockPeersOf(db: Kysely<Database>, userId: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('blocks')
    .select(['blocker_id', 'blocked_id'])
    .where((eb) => eb.or([eb('blocker_id', '=', userId), eb('blocked_id', '=', userId)]))
    .execute();
  return new Set(rows.map((row) => (row.blocker_id === userId ? row.blocked_id : row.blocker_id)));
}

/** The id of a pending friend request from `from` to `to`, if there is one. */
export async function pendingRequestId(db: Kysely<Database>, from: string, to: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('friend_requests')
    .select('id')
    .where('from_user_id', '=', from)
    .where('to_user_id', '=', to)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return row?.id;
}
