// Followed threads in the chat read model: one row per (thread, user) that
// follows it or once did, with how far the user has read it and when the
// thread last moved (the list of followed threads is ordered by it). A thread
// is the replies to a message (its first message, `message_id` here).
//
// Who follows a thread, without asking:
//   - whoever replies in it (and their reply reads it up to there);
//   - whoever a reply mentions (mentions in the reply as sent);
//   - the first message's author, from the first reply on — unless they have a
//     row already (they unfollowed it, or read it) and so have said otherwise.
// Asking (thread_followed / thread_unfollowed) sets it either way; a later
// reply or mention follows again, as in Slack. Reading (thread_read) never
// follows, except that a first message's author who reads their thread before
// any reply keeps the follow the first reply would have given them.
//
// Replies are gathered and written per batch (chat-projection.ts flushes them
// after the messages, so a first message of the same batch is found); the
// asked-for changes are rare and written at once after what is pending. Both
// paths read the first message's row when they write, which is the same row
// either way (its author and place never change). An erased account's rows go
// with it; a reply to its old message later gives its author a row again, as
// its tombstones keep its id — no more than that id and the thread's.

import type { Transaction } from 'kysely';
import type { MessageSent, ThreadFollowed, ThreadRead, ThreadUnfollowed } from '../domain/room.ts';
import { insertRows, updateRows, type Cell } from '../store/dialect.ts';
import type { Database, ThreadFollowsTable } from '../store/schema.ts';

type FollowRow = ThreadFollowsTable;
type Row = Record<string, Cell>;

const followKey = (messageId: string, userId: string) => `${messageId}\u0000${userId}`;

/**
 * The first message of a thread as its rows need it. Only the room's own
 * rows are read: a room's events are in order in one partition, but other
 * aggregates' (users) may be projected before or after them.
 */
interface ThreadRoot {
  id: string;
  room_id: string;
  seq: number;
  created_at: number;
  author: string;
}

async function rootsOf(trx: Transaction<Database>, ids: readonly string[]): Promise<Map<string, ThreadRoot>> {
  const roots = new Map<string, ThreadRoot>();
  for (let start = 0; start < ids.length; start += 1_000) {
    const rows = await trx
      .selectFrom('messages')
      .select(['id', 'room_id', 'seq', 'created_at', 'sender_id'])
      .where('id', 'in', ids.slice(start, start + 1_000))
      .execute();
    for (const row of rows) {
      roots.set(row.id, { id: row.id, room_id: row.room_id, seq: row.seq, created_at: row.created_at, author: row.sender_id });
    }
  }
  return roots;
}

async function storedFollows(trx: Transaction<Database>, rootIds: readonly string[]): Promise<FollowRow[]> {
  const rows: FollowRow[] = [];
  for (let start = 0; start < rootIds.length; start += 1_000) {
    rows.push(
      ...(await trx
        .selectFrom('thread_follows')
        .selectAll()
        .where('message_id', 'in', rootIds.slice(start, start + 1_000))
        .execute()),
    );
  }
  return rows;
}

/** Writes rows that are new, and the changed columns of stored ones. */
async function writeFollows(trx: Transaction<Database>, created: FollowRow[], changed: FollowRow[]): Promise<void> {
  await insertRows(trx, 'thread_follows', created as unknown as Row[]);
  await updateRows(
    trx,
    'thread_follows',
    ['message_id', 'user_id'],
    ['following', 'last_read_seq', 'last_activity_at'],
    changed as unknown as Row[],
  );
}

/** The replies of a batch, written at flush. */
export class ThreadsBatch {
  #replies: MessageSent['data'][] = [];

  sent(message: MessageSent['data']): void {
    if (message.reply_to !== null) this.#replies.push(message);
  }

  async flush(trx: Transaction<Database>): Promise<void> {
    if (this.#replies.length === 0) return;
    const replies = this.#replies;
    this.#replies = [];
    const rootIds = [...new Set(replies.map((reply) => reply.reply_to!))];
    const roots = await rootsOf(trx, rootIds);
    const rows = new Map<string, { row: FollowRow; stored: boolean; changed: boolean }>();
    const byRoot = new Map<string, string[]>();
    for (const row of await storedFollows(trx, rootIds)) {
      rows.set(followKey(row.message_id, row.user_id), { row, stored: true, changed: false });
      (byRoot.get(row.message_id) ?? byRoot.set(row.message_id, []).get(row.message_id)!).push(row.user_id);
    }
    const follow = (root: ThreadRoot, userId: string, how: 'always' | 'unless-said') => {
      const key = followKey(root.id, userId);
      const found = rows.get(key);
      if (found === undefined) {
        const row = {
          message_id: root.id,
          user_id: userId,
          room_id: root.room_id,
          root_seq: root.seq,
          following: 1,
          last_read_seq: 0,
          last_activity_at: root.created_at,
        };
        rows.set(key, { row, stored: false, changed: false });
        (byRoot.get(root.id) ?? byRoot.set(root.id, []).get(root.id)!).push(userId);
        return rows.get(key)!;
      }
      if (how === 'always' && found.row.following !== 1) {
        found.row.following = 1;
        found.changed = true;
      }
      return found;
    };
    for (const reply of replies) {
      const root = roots.get(reply.reply_to!);
      if (root === undefined) continue; // not in the read model: nothing to follow
      const replier = follow(root, reply.sender_id, 'always');
      if (replier.row.last_read_seq < reply.seq) {
        replier.row.last_read_seq = reply.seq;
        replier.changed = true;
      }
      for (const mentioned of reply.mentions) if (mentioned !== reply.sender_id) follow(root, mentioned, 'always');
      follow(root, root.author, 'unless-said');
      for (const userId of byRoot.get(root.id) ?? []) {
        const entry = rows.get(followKey(root.id, userId))!;
        if (entry.row.last_activity_at !== reply.created_at) {
          entry.row.last_activity_at = reply.created_at;
          entry.changed = true;
        }
      }
    }
    const entries = [...rows.values()];
    await writeFollows(
      trx,
      entries.filter((e) => !e.stored).map((e) => e.row),
      entries.filter((e) => e.stored && e.changed).map((e) => e.row),
    );
  }
}

/** A follow, an unfollow or a read mark, written at once (after whatever is pending). */
export async function applyThreadChoice(
  trx: Transaction<Database>,
  event: ThreadFollowed | ThreadUnfollowed | ThreadRead,
): Promise<void> {
  const { message_id, user_id } = event.data;
  const stored = await trx
    .selectFrom('thread_follows')
    .selectAll()
    .where('message_id', '=', message_id)
    .where('user_id', '=', user_id)
    .executeTakeFirst();
  if (stored !== undefined) {
    const row = { ...stored };
    if (event.type === 'thread_read') row.last_read_seq = Math.max(row.last_read_seq, event.data.seq);
    else row.following = event.type === 'thread_followed' ? 1 : 0;
    await writeFollows(trx, [], [row]);
    return;
  }
  const root = (await rootsOf(trx, [message_id])).get(message_id);
  if (root === undefined) return;
  const lastReply = await trx
    .selectFrom('messages')
    .select((eb) => eb.fn.max<number | string | null>('created_at').as('at'))
    .where('reply_to', '=', message_id)
    .executeTakeFirst();
  const following = event.type === 'thread_read' ? (root.author === user_id ? 1 : 0) : event.type === 'thread_followed' ? 1 : 0;
  const row: FollowRow = {
    message_id,
    user_id,
    room_id: root.room_id,
    root_seq: root.seq,
    following,
    last_read_seq: event.type === 'thread_read' ? event.data.seq : 0,
    last_activity_at: lastReply?.at == null ? root.created_at : Number(lastReply.at),
  };
  await writeFollows(trx, [row], []);
}
