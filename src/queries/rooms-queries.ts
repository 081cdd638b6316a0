// Reads over rooms and memberships.

import type { Kysely } from 'kysely';
import type { Database, RoomMembersTable } from '../store/schema.ts';
import { unreadMentionCounts } from './mentions-queries.ts';
import { messageView, type MessageView } from './wire.ts';

export interface RoomSummary {
  id: string;
  type: 'group' | 'direct';
  name: string;
  topic: string;
  closed: boolean;
  last_seq: number;
  last_read_seq: number;
  unread_count: number;
  /** Messages mentioning me past my read mark. */
  unread_mention_count: number;
  /** How the room notifies me. */
  notifications: RoomNotifications;
  last_message: MessageView | null;
}

/** How a room notifies a member: `level`, and silence until `muted_until` (null: not muted, or the mute has ended). */
export interface RoomNotifications {
  level: 'all' | 'mentions' | 'none';
  muted_until: number | null;
}

/** How a member's room_members row holds the setting. */
export interface StoredNotifications {
  notify_level: RoomNotifications['level'];
  notify_muted_until: number | null;
}

/** The stored setting as of `now`: a mute that has ended reads as none. */
export const notificationsOf = (row: StoredNotifications, now: number): RoomNotifications => ({
  level: row.notify_level,
  muted_until: row.notify_muted_until !== null && row.notify_muted_until > now ? row.notify_muted_until : null,
});

/** My notification settings in a room; undefined when I am not in it. */
export async function findMyNotifications(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
  now = Date.now(),
): Promise<RoomNotifications | undefined> {
  const row = await db
    .selectFrom('room_members')
    .select(['notify_level', 'notify_muted_until'])
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row === undefined ? undefined : notificationsOf(row, now);
}

export interface RoomView {
  id: string;
  type: 'group' | 'direct';
  name: string;
  topic: string;
  /** A direct room closed by a block: readable, no new messages. */
  closed: boolean;
  /** Messages older than this many days are erased; null: the room sets no limit (the server's may apply). */
  retention_days: number | null;
  /** Slow mode: seconds a plain member waits between two messages; 0 = off. */
  slow_mode_s: number;
  created_by: string;
  created_at: number;
  last_seq: number;
}

export interface RoomDetail extends RoomView {
  /** `last_delivered_seq`: how far the member's devices have received the room (never below `last_read_seq`). */
  members: {
    user_id: string;
    role: string;
    joined_at: number;
    last_read_seq: number;
    last_delivered_seq: number;
    /** Until when the member is muted (reads, cannot post, edit or react); null: not muted. */
    muted_until: number | null;
  }[];
  /** Pending invitations: users asked to join who have not answered yet. */
  invitations: { user_id: string; role: string; invited_by: string; invited_at: number }[];
}

/** A room's name alone (a notification about the room that carries nothing else of it). */
export async function findRoomName(db: Kysely<Database>, roomId: string): Promise<string | undefined> {
  const row = await db.selectFrom('rooms').select('name').where('id', '=', roomId).executeTakeFirst();
  return row?.name;
}

export async function findRoom(db: Kysely<Database>, roomId: string): Promise<RoomView | undefined> {
  const room = await db.selectFrom('rooms').selectAll().where('id', '=', roomId).executeTakeFirst();
  if (room === undefined) return undefined;
  return {
    id: room.id,
    type: room.type,
    name: room.name,
    topic: room.topic,
    closed: room.closed === 1,
    retention_days: room.retention_days,
    slow_mode_s: room.slow_mode_s,
    created_by: room.created_by,
    created_at: room.created_at,
    last_seq: room.last_seq,
  };
}

export async function listMyRooms(db: Kysely<Database>, userId: string): Promise<RoomSummary[]> {
  return roomListAsOf(await loadRoomList(db, userId), Date.now());
}

/** A user's room list as its rows hold it, whatever the time: what room-reads.ts caches. */
export type StoredRoomSummary = Omit<RoomSummary, 'notifications'> & { notifications: StoredNotifications };

/** The user's rooms, the most recently active first. */
export async function loadRoomList(db: Kysely<Database>, userId: string): Promise<StoredRoomSummary[]> {
  const rows = await db
    .selectFrom('room_members as m')
    .innerJoin('rooms as r', 'r.id', 'm.room_id')
    .leftJoin('messages as msg', 'msg.id', 'r.last_message_id')
    .select([
      'r.id',
      'r.type',
      'r.name',
      'r.topic',
      'r.closed',
      'r.last_seq',
      'm.last_read_seq',
      'm.notify_level',
      'm.notify_muted_until',
      'msg.id as msg_id',
    ])
    .where('m.user_id', '=', userId)
    .orderBy('r.last_seq', 'desc')
    .execute();
  const lastIds = rows.map((row) => row.msg_id).filter((id): id is string => id !== null);
  const lastMessages = new Map<string, MessageView>();
  if (lastIds.length > 0) {
    for (const row of await db.selectFrom('messages').selectAll().where('id', 'in', lastIds).execute()) {
      lastMessages.set(row.id, messageView(row));
    }
  }
  const unreadMentions = await unreadMentionCounts(db, userId);
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    name: row.name,
    topic: row.topic,
    closed: row.closed === 1,
    last_seq: row.last_seq,
    last_read_seq: row.last_read_seq,
    unread_count: Math.max(0, row.last_seq - row.last_read_seq),
    unread_mention_count: unreadMentions.get(row.id) ?? 0,
    notifications: { notify_level: row.notify_level, notify_muted_until: row.notify_muted_until },
    last_message: row.msg_id === null ? null : (lastMessages.get(row.msg_id) ?? null),
  }));
}

/** The list as shown at `now`: a mute that has ended is no mute. */
export const roomListAsOf = (stored: StoredRoomSummary[], now: number): RoomSummary[] =>
  stored.map((room) => ({ ...room, notifications: notificationsOf(room.notifications, now) }));

/** The room with its members, or undefined when it does not exist or `userId` is not in it. */
export async function findRoomForMember(db: Kysely<Database>, roomId: string, userId: string): Promise<RoomDetail | undefined> {
  if (!(await isMember(db, roomId, userId))) return undefined;
  const stored = await loadRoomDetail(db, roomId);
  return stored === null ? undefined : roomDetailAsOf(stored, Date.now());
}

/** A room's details as its rows hold them, whatever the time: what room-reads.ts caches. Null: no such room. */
export interface StoredRoomDetail {
  room: RoomView;
  members: Omit<RoomDetail['members'][number], 'muted_until'>[];
  /** Every stored mute with its end; those ended by now are left out when shown. */
  mutes: { user_id: string; muted_until: number }[];
  invitations: RoomDetail['invitations'];
}

export async function loadRoomDetail(db: Kysely<Database>, roomId: string): Promise<StoredRoomDetail | null> {
  const room = await findRoom(db, roomId);
  if (room === undefined) return null;
  const members = await db
    .selectFrom('room_members')
    .select(['user_id', 'role', 'joined_at', 'last_read_seq', 'last_delivered_seq'])
    .where('room_id', '=', roomId)
    .orderBy('joined_at')
    .orderBy('user_id')
    .execute();
  const mutes = await db.selectFrom('room_mutes').select(['user_id', 'muted_until']).where('room_id', '=', roomId).execute();
  const invitations = await db
    .selectFrom('room_invitations')
    .select(['user_id', 'role', 'invited_by', 'invited_at'])
    .where('room_id', '=', roomId)
    .orderBy('invited_at')
    .orderBy('user_id')
    .execute();
  return { room, members, mutes, invitations };
}

/** The details as shown at `now`: a mute that has ended is no mute. */
export function roomDetailAsOf(stored: StoredRoomDetail, now: number): RoomDetail {
  const mutedUntil = new Map(stored.mutes.filter((m) => m.muted_until > now).map((m) => [m.user_id, m.muted_until]));
  return {
    ...stored.room,
    members: stored.members.map((m) => ({
      user_id: m.user_id,
      role: m.role,
      joined_at: m.joined_at,
      last_read_seq: m.last_read_seq,
      // Reading implies receiving: a member who read further than any receipt said has received that too.
      last_delivered_seq: Math.max(m.last_delivered_seq, m.last_read_seq),
      muted_until: mutedUntil.get(m.user_id) ?? null,
    })),
    invitations: stored.invitations,
  };
}

/** A pending invitation as its invitee sees it: which room, from whom. */
export interface InvitationView {
  chat_room_id: string;
  room_name: string;
  role: string;
  invited_by: string;
  invited_at: number;
}

/**
 * The invitations waiting for `userId`'s answer, newest first — but none from
 * someone they blocked or who blocked them since: those cannot be accepted.
 */
export async function listMyInvitations(db: Kysely<Database>, userId: string, limit: number): Promise<InvitationView[]> {
  return invitationsOf(db, userId, { limit, withoutBlocked: true });
}

/** One pending invitation of `userId` to `roomId`. */
export async function findInvitation(db: Kysely<Database>, roomId: string, userId: string): Promise<InvitationView | undefined> {
  const [invitation] = await invitationsOf(db, userId, { limit: 1, roomId });
  return invitation;
}

function invitationsOf(
  db: Kysely<Database>,
  userId: string,
  { limit, roomId, withoutBlocked = false }: { limit: number; roomId?: string; withoutBlocked?: boolean },
): Promise<InvitationView[]> {
  let query = db
    .selectFrom('room_invitations as i')
    .innerJoin('rooms as r', 'r.id', 'i.room_id')
    .select(['i.room_id as chat_room_id', 'r.name as room_name', 'i.role', 'i.invited_by', 'i.invited_at'])
    .where('i.user_id', '=', userId);
  if (roomId !== undefined) query = query.where('i.room_id', '=', roomId);
  if (withoutBlocked) {
    query = query.where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('blocks as b')
            .select('b.blocker_id')
            .where((b) =>
              b.or([
                b.and([b('b.blocker_id', '=', userId), b('b.blocked_id', '=', b.ref('i.invited_by'))]),
                b.and([b('b.blocked_id', '=', userId), b('b.blocker_id', '=', b.ref('i.invited_by'))]),
              ]),
            ),
        ),
      ),
    );
  }
  return query.orderBy('i.invited_at', 'desc').orderBy('i.room_id').limit(limit).execute();
}

export async function isMember(db: Kysely<Database>, roomId: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('room_members')
    .select('user_id')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function roomMemberIds(db: Kysely<Database>, roomId: string): Promise<string[]> {
  const rows = await db.selectFrom('room_members').select('user_id').where('room_id', '=', roomId).execute();
  return rows.map((row) => row.user_id);
}

export async function roomIdsOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('room_members').select('room_id').where('user_id', '=', userId).execute();
  return rows.map((row) => row.room_id);
}

/** Whether `a` and `b` are members of one room (any kind, closed or not). */
export async function shareARoom(db: Kysely<Database>, a: string, b: string): Promise<boolean> {
  const row = await db
    .selectFrom('room_members as mine')
    .innerJoin('room_members as peer', 'peer.room_id', 'mine.room_id')
    .select('mine.room_id')
    .where('mine.user_id', '=', a)
    .where('peer.user_id', '=', b)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Everyone who shares a room with the user (for presence notifications). */
export async function roomPeerIds(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('room_members as mine')
    .innerJoin('room_members as peer', 'peer.room_id', 'mine.room_id')
    .select('peer.user_id')
    .distinct()
    .where('mine.user_id', '=', userId)
    .where('peer.user_id', '!=', userId)
    .execute();
  return rows.map((row) => row.user_id);
}

/** The id of the group room `createdBy` made under this name (the oldest, should there be several). */
export async function groupRoomIdByName(db: Kysely<Database>, createdBy: string, name: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('rooms')
    .select('id')
    .where('type', '=', 'group')
    .where('created_by', '=', createdBy)
    .where('name', '=', name)
    .orderBy('created_at')
    .executeTakeFirst();
  return row?.id;
}

/** A ban, as the room's owners and admins see it. */
export interface RoomBan {
  user_id: string;
  banned_by: string;
  banned_at: number;
}

/** The room's bans, newest first, for an owner or admin of it; undefined for anyone else. */
export async function listBansForManager(db: Kysely<Database>, roomId: string, userId: string): Promise<RoomBan[] | undefined> {
  const role = await roleInRoom(db, roomId, userId);
  if (role === undefined || role === 'member') return undefined;
  return db
    .selectFrom('room_bans')
    .select(['user_id', 'banned_by', 'banned_at'])
    .where('room_id', '=', roomId)
    .orderBy('banned_at', 'desc')
    .orderBy('user_id')
    .execute();
}

/** The user's role in the room; undefined when they are not in it. */
export async function roleInRoom(
  db: Kysely<Database>,
  roomId: string,
  userId: string,
): Promise<RoomMembersTable['role'] | undefined> {
  const member = await db
    .selectFrom('room_members')
    .select('role')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return member?.role;
}
