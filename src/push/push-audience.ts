// The read model's side of a push: who is in the room with a push subscription
// and how they want the room to notify them, the room's name and the sender's.

import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { MemberSetting } from './notify-rules.ts';

export interface Subscription {
  subscription_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface SubscribedMember extends MemberSetting {
  subscriptions: Subscription[];
}

type AudienceRow = MemberSetting & Subscription;

export interface PushAudience {
  room: { type: 'group' | 'direct'; name: string };
  sender: { id: string; username: string; display_name: string };
  members: SubscribedMember[];
}

/** A new message whose audience is asked for. */
export interface AudienceQuery {
  roomId: string;
  senderId: string;
}

/**
 * Per message, the room's members other than the sender that have a device
 * subscribed and have not blocked the sender; undefined when there are none,
 * or the room or sender is gone. Read for a whole batch at once: one query
 * over the rooms' subscribed members — most messages reach nobody's push
 * subscription, and then that is all — then one for the blocks between them
 * and the senders, and one each for the rooms' and the senders' names.
 */
export async function readPushAudiences(
  db: Kysely<Database>,
  messages: readonly AudienceQuery[],
): Promise<(PushAudience | undefined)[]> {
  const none = messages.map((): PushAudience | undefined => undefined);
  if (messages.length === 0) return none;
  const subscribed = await subscribedMembersOf(db, unique(messages.map(({ roomId }) => roomId)));
  const candidates = messages.map(({ roomId, senderId }) =>
    [...(subscribed.get(roomId)?.values() ?? [])].filter((member) => member.user_id !== senderId),
  );
  if (candidates.every((members) => members.length === 0)) return none;

  const blocked = await blockingPairs(
    db,
    unique(candidates.flat().map((member) => member.user_id)),
    unique(messages.map(({ senderId }) => senderId)),
  );
  const audiences = candidates.map((members, i) =>
    members.filter((member) => !blocked.has(pairKey(member.user_id, messages[i]!.senderId))),
  );
  const wanted = messages.filter((_, i) => audiences[i]!.length > 0);
  if (wanted.length === 0) return none;
  // Written as SQL for the same reason as the members' query (below).
  const [rooms, senders] = await Promise.all([
    sql<PushAudience['room'] & { id: string }>`
      select id, type, name from ${sql.table('rooms')} where id in (${sql.join(unique(wanted.map(({ roomId }) => roomId)))})`.execute(
      db,
    ),
    sql<PushAudience['sender']>`
      select id, username, display_name from ${sql.table('users')}
      where id in (${sql.join(unique(wanted.map(({ senderId }) => senderId)))})`.execute(db),
  ]);
  const roomById = new Map(rooms.rows.map(({ id, type, name }) => [id, { type, name }]));
  const senderById = new Map(senders.rows.map((sender) => [sender.id, sender]));
  return messages.map(({ roomId, senderId }, i) => {
    const members = audiences[i]!;
    const room = roomById.get(roomId);
    const sender = senderById.get(senderId);
    if (members.length === 0 || room === undefined || sender === undefined) return undefined;
    return { room, sender, members };
  });
}

/** Per room, its members that have a device subscribed, each with their subscriptions. */
async function subscribedMembersOf(db: Kysely<Database>, roomIds: string[]): Promise<Map<string, Map<string, SubscribedMember>>> {
  // Runs for every batch of new messages, so it is written as SQL: built with
  // the query builder, this one statement cost more CPU than it took SQLite
  // to run it (bench/README, fix 15). sql.table lets a versioned read model
  // rename the tables (projections/versions.ts).
  const { rows } = await sql<AudienceRow & { room_id: string }>`
    select m.room_id, m.user_id, m.joined_at, m.notify_level, m.notify_muted_until, m.notify_set_at,
      p.subscription_id, p.endpoint, p.p256dh, p.auth
    from ${sql.table('room_members')} m
    join ${sql.table('push_subscriptions')} p on p.user_id = m.user_id
    where m.room_id in (${sql.join(roomIds)})
    order by m.room_id, m.user_id, p.subscription_id`.execute(db);
  const byRoom = new Map<string, Map<string, SubscribedMember>>();
  for (const row of rows) {
    let members = byRoom.get(row.room_id);
    if (members === undefined) byRoom.set(row.room_id, (members = new Map<string, SubscribedMember>()));
    let member = members.get(row.user_id);
    if (member === undefined) {
      member = {
        user_id: row.user_id,
        joined_at: row.joined_at,
        notify_level: row.notify_level,
        notify_muted_until: row.notify_muted_until,
        notify_set_at: row.notify_set_at,
        subscriptions: [],
      };
      members.set(row.user_id, member);
    }
    member.subscriptions.push({
      subscription_id: row.subscription_id,
      endpoint: row.endpoint,
      p256dh: row.p256dh,
      auth: row.auth,
    });
  }
  return byRoom;
}

/** Which of `blockers` blocked which of `senders`, as pairKey(blocker, sender). */
async function blockingPairs(db: Kysely<Database>, blockers: string[], senders: string[]): Promise<Set<string>> {
  const { rows } = await sql<{ blocker_id: string; blocked_id: string }>`
    select blocker_id, blocked_id from ${sql.table('blocks')}
    where blocker_id in (${sql.join(blockers)}) and blocked_id in (${sql.join(senders)})`.execute(db);
  return new Set(rows.map(({ blocker_id, blocked_id }) => pairKey(blocker_id, blocked_id)));
}

const pairKey = (blocker: string, blocked: string): string => `${blocker}\u0000${blocked}`;

const unique = (values: readonly string[]): string[] => [...new Set(values)];
