// The mentions inbox: the messages that mention me, newest first, in the rooms
// I am still in, each with whether I have read that far (my read mark in its
// room). Rows come from the chat projection (projections/chat-mentions.ts).

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { nextBefore, olderThan, type TimeCursor } from './time-cursor.ts';
import { findMessagesByIds } from './messages-queries.ts';
import type { MessageView } from './wire.ts';

export interface MentionView {
  message: MessageView;
  room_id: string;
  /** When the message (or the edit that added me) was written. */
  mentioned_at: number;
  /** My read mark in the room has reached the message. */
  read: boolean;
}

export async function readMentions(
  db: Kysely<Database>,
  userId: string,
  page: { before?: TimeCursor | undefined; limit: number },
): Promise<{ mentions: MentionView[]; next_before: string | null }> {
  let query = db
    .selectFrom('mentions as n')
    .innerJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'n.room_id').onRef('m.user_id', '=', 'n.user_id'))
    .select(['n.message_id', 'n.room_id', 'n.seq', 'n.mentioned_at', 'm.last_read_seq'])
    .where('n.user_id', '=', userId);
  if (page.before !== undefined) query = query.where(olderThan(page.before, 'n.mentioned_at', 'n.message_id'));
  const rows = await query.orderBy('n.mentioned_at', 'desc').orderBy('n.message_id', 'desc').limit(page.limit).execute();
  const messages = new Map(
    (
      await findMessagesByIds(
        db,
        rows.map((row) => row.message_id),
      )
    ).map((m) => [m.id, m]),
  );
  const mentions = rows.flatMap((row) => {
    const message = messages.get(row.message_id);
    if (message === undefined) return [];
    return [{ message, room_id: row.room_id, mentioned_at: row.mentioned_at, read: row.last_read_seq >= row.seq }];
  });
  return {
    mentions,
    next_before: nextBefore(
      rows.map((row) => ({ at: row.mentioned_at, id: row.message_id })),
      page.limit,
    ),
  };
}

/** Per room I am in: the mentions of me past my read mark there (rooms without any are left out). */
export async function unreadMentionCounts(db: Kysely<Database>, userId: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('mentions as n')
    .innerJoin('room_members as m', (join) => join.onRef('m.room_id', '=', 'n.room_id').onRef('m.user_id', '=', 'n.user_id'))
    .select(['n.room_id', (eb) => eb.fn.countAll<number | string>().as('unread')])
    .where('n.user_id', '=', userId)
    .whereRef('n.seq', '>', 'm.last_read_seq')
    .groupBy('n.room_id')
    .execute();
  return new Map(rows.map((row) => [row.room_id, Number(row.unread)]));
}
