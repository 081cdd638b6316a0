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

/**
 * The room's members other than the sender that have a device subscribed and
 * have not blocked the sender; undefined when there are none, or the room or
 * sender is gone. The members are read first: most messages reach nobody's
 * push subscription, and then room and sender are not read at all.
 */
export async function readPushAudience(
  db: Kysely<Database>,
  roomId: string,
  senderId: string,
): Promise<PushAudience | undefined> {
  // Runs for every new message, so it is written as SQL: built with the query
  // builder, this one statement cost more CPU than it took SQLite to run it
  // (bench/README, fix 15). sql.table lets a versioned read model rename the
  // tables (projections/versions.ts).
  const { rows } = await sql<AudienceRow>`
    select m.user_id, m.joined_at, m.notify_level, m.notify_muted_until, m.notify_set_at,
      p.subscription_id, p.endpoint, p.p256dh, p.auth
    from ${sql.table('room_members')} m
    join ${sql.table('push_subscriptions')} p on p.user_id = m.user_id
    where m.room_id = ${roomId} and m.user_id <> ${senderId}
      and not exists (
        select 1 from ${sql.table('blocks')} b where b.blocker_id = m.user_id and b.blocked_id = ${senderId}
      )
    order by m.user_id`.execute(db);
  const members = new Map<string, SubscribedMember>();
  for (const row of rows) {
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
  if (members.size === 0) return undefined;
  const room = await db.selectFrom('rooms').select(['type', 'name']).where('id', '=', roomId).executeTakeFirst();
  const sender = await db
    .selectFrom('users')
    .select(['id', 'username', 'display_name'])
    .where('id', '=', senderId)
    .executeTakeFirst();
  if (room === undefined || sender === undefined) return undefined;
  return { room, sender, members: [...members.values()] };
}
