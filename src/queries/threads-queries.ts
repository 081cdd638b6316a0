// Threads: the replies to one message (`reply_to`). Summaries are counted when
// read, from the messages themselves (an index on reply_to), so they can never
// disagree with the history they summarise, and no projection keeps counters.
// A reply to a reply belongs to the thread of the message it answers.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { findMessagesByIds } from './messages-queries.ts';
import { nextBefore, olderThan, type TimeCursor } from './time-cursor.ts';
import { messageView, type MessageView } from './wire.ts';

/** What a thread looks like from its root: how many replies, the last one's time, who replied. */
export interface ThreadSummary {
  reply_count: number;
  last_reply_at: number;
  /** Who replied (not deleted replies), in user id order. */
  participant_ids: string[];
}

/** A message as history shows it: with the summary of its thread, or null when nobody replied. */
export type MessageInHistory = MessageView & { thread: ThreadSummary | null };

/** The summaries of the threads these messages root (replies that were deleted do not count). */
export async function threadSummaries(db: Kysely<Database>, rootIds: string[]): Promise<Map<string, ThreadSummary>> {
  const summaries = new Map<string, ThreadSummary>();
  if (rootIds.length === 0) return summaries;
  // Counted by the database (index on reply_to): a long thread costs one row
  // per root and one per participant, not one per reply.
  const live = db.selectFrom('messages').where('reply_to', 'in', rootIds).where('deleted', '=', 0);
  const [counts, participants] = await Promise.all([
    live
      .select((eb) => [
        'reply_to',
        eb.fn.countAll<number | string>().as('replies'),
        eb.fn.max<number | string>('created_at').as('last_at'),
      ])
      .groupBy('reply_to')
      .execute(),
    live.select(['reply_to', 'sender_id']).distinct().orderBy('sender_id').execute(),
  ]);
  for (const row of counts) {
    summaries.set(row.reply_to!, { reply_count: Number(row.replies), last_reply_at: Number(row.last_at), participant_ids: [] });
  }
  for (const row of participants) summaries.get(row.reply_to!)?.participant_ids.push(row.sender_id);
  return summaries;
}

/** The messages with their thread summaries. */
export async function withThreads(db: Kysely<Database>, messages: MessageView[]): Promise<MessageInHistory[]> {
  const summaries = await threadSummaries(
    db,
    messages.map((message) => message.id),
  );
  return messages.map((message) => ({ ...message, thread: summaries.get(message.id) ?? null }));
}

/** A page of a thread's replies, ascending by seq, after `afterSeq` (deleted ones as tombstones, as history shows them). */
export async function readThreadReplies(
  db: Kysely<Database>,
  roomId: string,
  rootId: string,
  page: { after_seq?: number | undefined; limit: number },
): Promise<MessageView[]> {
  let query = db.selectFrom('messages').selectAll().where('room_id', '=', roomId).where('reply_to', '=', rootId);
  if (page.after_seq !== undefined) query = query.where('seq', '>', page.after_seq);
  const rows = await query.orderBy('seq', 'asc').limit(page.limit).execute();
  return rows.map(messageView);
}

/** A thread as one user follows it. */
export interface FollowedThread {
  room_id: string;
  /** The thread's first message, with its summary. */
  message: MessageInHistory;
  /** How far I have read its replies (my own replies read it too). */
  last_read_seq: number;
  /** Replies after that, from others, not deleted. */
  unread_count: number;
  /** The last reply's time (the first message's when I followed it before any reply). */
  last_activity_at: number;
}

/** Per thread of `rootIds` that the user has a row for: their unread replies (from others, not deleted). */
async function unreadReplies(db: Kysely<Database>, userId: string, rootIds: string[]): Promise<Map<string, number>> {
  if (rootIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('thread_follows as f')
    .innerJoin('messages as m', (join) =>
      join
        .onRef('m.reply_to', '=', 'f.message_id')
        .onRef('m.seq', '>', 'f.last_read_seq')
        .onRef('m.sender_id', '<>', 'f.user_id'),
    )
    .select((eb) => ['f.message_id', eb.fn.countAll<number | string>().as('unread')])
    .where('f.user_id', '=', userId)
    .where('f.message_id', 'in', rootIds)
    .where('m.deleted', '=', 0)
    .groupBy('f.message_id')
    .execute();
  return new Map(rows.map((row) => [row.message_id, Number(row.unread)]));
}

/**
 * The threads I follow in the rooms I am in, the latest active first (a page
 * ends before `before`), each with my read mark and unread count.
 */
export async function readFollowedThreads(
  db: Kysely<Database>,
  userId: string,
  page: { before?: TimeCursor | undefined; limit: number },
): Promise<{ threads: FollowedThread[]; next_before: string | null }> {
  let query = db
    .selectFrom('thread_follows as f')
    .innerJoin('room_members as rm', (join) => join.onRef('rm.room_id', '=', 'f.room_id').onRef('rm.user_id', '=', 'f.user_id'))
    .select(['f.message_id', 'f.room_id', 'f.last_read_seq', 'f.last_activity_at'])
    .where('f.user_id', '=', userId)
    .where('f.following', '=', 1);
  if (page.before !== undefined) query = query.where(olderThan(page.before, 'f.last_activity_at', 'f.message_id'));
  const rows = await query.orderBy('f.last_activity_at', 'desc').orderBy('f.message_id', 'desc').limit(page.limit).execute();
  const ids = rows.map((row) => row.message_id);
  const [roots, unread] = await Promise.all([
    findMessagesByIds(db, ids).then((found) => withThreads(db, found)),
    unreadReplies(db, userId, ids),
  ]);
  const rootById = new Map(roots.map((root) => [root.id, root]));
  const threads = rows.flatMap((row) => {
    const message = rootById.get(row.message_id);
    if (message === undefined) return [];
    const { room_id, last_read_seq, last_activity_at } = row;
    return [{ room_id, message, last_read_seq, unread_count: unread.get(row.message_id) ?? 0, last_activity_at }];
  });
  return {
    threads,
    next_before: nextBefore(
      rows.map((row) => ({ at: row.last_activity_at, id: row.message_id })),
      page.limit,
    ),
  };
}

/** Whether I follow a thread, how far I have read it, and how many replies I have not. */
export async function threadStateOf(
  db: Kysely<Database>,
  userId: string,
  messageId: string,
): Promise<{ following: boolean; last_read_seq: number; unread_count: number }> {
  const row = await db
    .selectFrom('thread_follows')
    .select(['following', 'last_read_seq'])
    .where('message_id', '=', messageId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) {
    // Never followed nor read: every reply from someone else is unread.
    const count = await db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number | string>().as('replies'))
      .where('reply_to', '=', messageId)
      .where('sender_id', '<>', userId)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return { following: false, last_read_seq: 0, unread_count: Number(count?.replies ?? 0) };
  }
  const unread = await unreadReplies(db, userId, [messageId]);
  return { following: row.following === 1, last_read_seq: row.last_read_seq, unread_count: unread.get(messageId) ?? 0 };
}
