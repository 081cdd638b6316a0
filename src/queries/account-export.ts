// `GET /api/v1/users/me/export`: everything Parley holds about the caller, as
// one JSON document (the right of access and portability): the profile with
// the email, a suspension in force, the rooms they are in (with their marks and notification
// settings), the threads they follow, the bans and mutes they are under, their
// friends, friend requests and blocks, their uploads, the devices they get
// push notifications on, and every message they
// sent with what it said before each edit (`earlier_versions`). Written as a stream —
// messages a page at a time — so a long history costs no more memory than a
// short one. Read from the read models, where personal data is open.

import type { Kysely } from 'kysely';
import { listPushSubscriptions } from '../push/subscriptions.ts';
import type { Database } from '../store/schema.ts';
import { messageView, userView } from './wire.ts';

/** The export as JSON text, piece by piece; nothing for an unknown or deleted account. */
export async function* accountExport(
  db: Kysely<Database>,
  userId: string,
  options: { now?: number; messagesPerQuery?: number } = {},
): AsyncGenerator<string> {
  const now = options.now ?? Date.now();
  const messagesPerQuery = options.messagesPerQuery ?? 500;
  const user = await db
    .selectFrom('users')
    .selectAll()
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (user === undefined) return;
  const field = (name: string, value: unknown) => `,${JSON.stringify(name)}:${JSON.stringify(value)}`;

  yield `{"format":"parley-export/1","exported_at":${now}`;
  yield field('profile', { ...userView(user), email: user.email });
  const suspended = user.suspended_at !== null && (user.suspended_until === null || user.suspended_until > now);
  yield field(
    'suspension',
    suspended ? { suspended_at: user.suspended_at, until: user.suspended_until, reason: user.suspension_reason ?? '' } : null,
  );
  yield field(
    'rooms',
    await db
      .selectFrom('room_members as m')
      .innerJoin('rooms as r', 'r.id', 'm.room_id')
      .select([
        'r.id',
        'r.type',
        'r.name',
        'r.topic',
        'm.role',
        'm.joined_at',
        'm.last_read_seq',
        'm.last_delivered_seq',
        'm.notify_level',
        'm.notify_muted_until',
      ])
      .where('m.user_id', '=', userId)
      .orderBy('m.joined_at')
      .execute(),
  );
  const threads = await db
    .selectFrom('thread_follows')
    .select(['message_id', 'room_id', 'following', 'last_read_seq'])
    .where('user_id', '=', userId)
    .orderBy('last_activity_at')
    .execute();
  // Unfollowed ones too: that I said so is data about me.
  yield field(
    'followed_threads',
    threads.map((thread) => ({ ...thread, following: thread.following === 1 })),
  );
  yield field(
    'room_bans',
    await db
      .selectFrom('room_bans')
      .select(['room_id', 'banned_by', 'banned_at'])
      .where('user_id', '=', userId)
      .orderBy('banned_at')
      .execute(),
  );
  yield field(
    'room_mutes',
    await db.selectFrom('room_mutes').select(['room_id', 'muted_by', 'muted_until']).where('user_id', '=', userId).execute(),
  );
  yield field(
    'friends',
    await db
      .selectFrom('friendships')
      .select(['friend_id as user_id', 'since'])
      .where('user_id', '=', userId)
      .orderBy('since')
      .execute(),
  );
  yield field(
    'friend_requests',
    await db
      .selectFrom('friend_requests')
      .selectAll()
      .where((eb) => eb.or([eb('from_user_id', '=', userId), eb('to_user_id', '=', userId)]))
      .orderBy('created_at')
      .execute(),
  );
  yield field(
    'blocks',
    await db
      .selectFrom('blocks')
      .select(['blocked_id as user_id', 'created_at'])
      .where('blocker_id', '=', userId)
      .orderBy('created_at')
      .execute(),
  );
  yield field(
    'uploads',
    await db
      .selectFrom('uploads')
      .select(['id', 'purpose', 'room_id', 'mime_type', 'bytes', 'status', 'url', 'created_at'])
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .execute(),
  );

  yield field('push_subscriptions', await listPushSubscriptions(db, userId));

  yield ',"messages":[';
  let after: { created_at: number; id: string } | undefined;
  let first = true;
  for (;;) {
    let page = db.selectFrom('messages').selectAll().where('sender_id', '=', userId);
    if (after !== undefined) {
      const { created_at, id } = after;
      page = page.where((eb) =>
        eb.or([eb('created_at', '>', created_at), eb.and([eb('created_at', '=', created_at), eb('id', '>', id)])]),
      );
    }
    const rows = await page.orderBy('created_at').orderBy('id').limit(messagesPerQuery).execute();
    const earlier = await earlierVersions(
      db,
      rows.map((row) => row.id),
    );
    for (const row of rows) {
      yield `${first ? '' : ','}${JSON.stringify({ ...messageView(row), earlier_versions: earlier.get(row.id) ?? [] })}`;
      first = false;
    }
    if (rows.length < messagesPerQuery) break;
    const last = rows[rows.length - 1]!;
    after = { created_at: last.created_at, id: last.id };
  }
  yield ']}';
}

/** What each of `ids` said before its edits, oldest first. */
async function earlierVersions(
  db: Kysely<Database>,
  ids: string[],
): Promise<Map<string, { content: string; written_at: number }[]>> {
  const byMessage = new Map<string, { content: string; written_at: number }[]>();
  if (ids.length === 0) return byMessage;
  const rows = await db
    .selectFrom('message_versions')
    .select(['message_id', 'content', 'written_at'])
    .where('message_id', 'in', ids)
    .orderBy('message_id')
    .orderBy('version')
    .execute();
  for (const { message_id, content, written_at } of rows) {
    byMessage.set(message_id, [...(byMessage.get(message_id) ?? []), { content, written_at }]);
  }
  return byMessage;
}
