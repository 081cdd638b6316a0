// Threads: the replies to one message (`reply_to`). Summaries are counted when
// read, from the messages themselves (an index on reply_to), so they can never
// disagree with the history they summarise, and no projection keeps counters.
// A reply to a reply belongs to the thread of the message it answers.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
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
  const replies = await db
    .selectFrom('messages')
    .select(['reply_to', 'sender_id', 'created_at'])
    .where('reply_to', 'in', rootIds)
    .where('deleted', '=', 0)
    .execute();
  const participants = new Map<string, Set<string>>();
  for (const reply of replies) {
    const root = reply.reply_to!;
    const summary = summaries.get(root) ?? { reply_count: 0, last_reply_at: 0, participant_ids: [] };
    summary.reply_count++;
    summary.last_reply_at = Math.max(summary.last_reply_at, reply.created_at);
    summaries.set(root, summary);
    const who = participants.get(root) ?? participants.set(root, new Set()).get(root)!;
    who.add(reply.sender_id);
  }
  for (const [root, who] of participants) summaries.get(root)!.participant_ids = [...who].sort();
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
