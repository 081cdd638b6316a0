// The mentions inbox's rows in the chat read model: one per (message, user it
// mentions), with when that mention was written — the message's time, or the
// edit's that added it. Edits change who is mentioned: a name taken out goes,
// a name put in comes with the edit's time, one that stays keeps its row.
// Deleting, expiring or erasing a message takes its mentions with it. A
// sender's mention of themselves is not kept (nobody's inbox wants it).
//
// Two paths, as for the rest of the chat model (chat-projection.ts): event by
// event, and in batches; rebuild.int.spec.ts / chat-projection.int.spec.ts
// check they leave the same rows.

import type { Transaction } from 'kysely';
import type { MessageEdited, MessageSent } from '../domain/room.ts';
import { deleteRowsWhereIn, insertRows, type Cell } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';

type Row = Record<string, Cell>;

/** Who a mention set names, the writer left out. */
const named = (mentions: readonly string[], writer: string): string[] => mentions.filter((user) => user !== writer);

/**
 * What a run of edits does to a message's mention rows, from `before` (the
 * users it mentions now, each with a stored row): `drop` — stored rows that go
 * (a name taken out, even if put back later); `insert` — rows to write, with
 * the time of the edit that (last) put the name in.
 */
export function mentionChanges(
  before: Iterable<string>,
  edits: readonly { mentions: readonly string[]; at: number }[],
): { drop: Set<string>; insert: Map<string, number> } {
  const stored = new Set(before);
  /** user → 'stored' (its row untouched) or the time of a row to write. */
  const now = new Map<string, 'stored' | number>([...stored].map((user) => [user, 'stored'] as const));
  const drop = new Set<string>();
  for (const { mentions, at } of edits) {
    const next = new Set(mentions);
    for (const user of [...now.keys()]) {
      if (next.has(user)) continue;
      now.delete(user);
      if (stored.has(user)) drop.add(user);
    }
    for (const user of next) if (!now.has(user)) now.set(user, at);
  }
  const insert = new Map<string, number>();
  for (const [user, state] of now) if (state !== 'stored') insert.set(user, state);
  return { drop, insert };
}

/** A stored message an edit finds: where it is, who wrote it, whom it names now. */
export interface EditTarget {
  message_id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  mentions: readonly string[];
}

/** Applies edits of stored messages (before their rows take the new mentions). */
export async function applyMentionEdits(
  trx: Transaction<Database>,
  targets: readonly EditTarget[],
  edits: ReadonlyMap<string, readonly MessageEdited[]>,
): Promise<void> {
  const rows: Row[] = [];
  for (const message of targets) {
    const changes = mentionChanges(
      named(message.mentions, message.sender_id),
      edits.get(message.message_id)!.map((edit) => ({
        mentions: named(edit.data.mentions, message.sender_id),
        at: edit.data.edited_at,
      })),
    );
    const gone = [...changes.drop, ...changes.insert.keys()];
    if (gone.length > 0) {
      await trx.deleteFrom('mentions').where('message_id', '=', message.message_id).where('user_id', 'in', gone).execute();
    }
    for (const [user_id, at] of changes.insert) {
      rows.push({ message_id: message.message_id, user_id, room_id: message.room_id, seq: message.seq, mentioned_at: at });
    }
  }
  await insertRows(trx, 'mentions', rows);
}

const sentRows = (d: MessageSent['data']): Row[] =>
  named(d.mentions, d.sender_id).map((user_id) => ({
    message_id: d.message_id,
    user_id,
    room_id: d.room_id,
    seq: d.seq,
    mentioned_at: d.created_at,
  }));

/** Event by event (edits: applyMentionEdits, with the stored message chat-projection.ts read). */
export const mentionsOneByOne = {
  sent: (trx: Transaction<Database>, d: MessageSent['data']) => insertRows(trx, 'mentions', sentRows(d)),
  /** The messages were deleted or erased. */
  forget: (trx: Transaction<Database>, messageIds: readonly string[]) =>
    deleteRowsWhereIn(trx, 'mentions', 'message_id', messageIds),
};

/**
 * In a batch: rows of messages sent in it are kept in memory, and edited
 * there; edits of stored messages are the batch's (applyMentionEdits).
 */
export class MentionsBatch {
  /** Messages sent in this batch: user → when mentioned. */
  readonly #pending = new Map<
    string,
    { row: Omit<Row, 'user_id' | 'mentioned_at'>; sender: string; users: Map<string, number> }
  >();
  readonly #forgotten = new Set<string>();

  sent(d: MessageSent['data']): void {
    const users = new Map(named(d.mentions, d.sender_id).map((user) => [user, d.created_at] as const));
    this.#pending.set(d.message_id, {
      row: { message_id: d.message_id, room_id: d.room_id, seq: d.seq },
      sender: d.sender_id,
      users,
    });
  }

  /** An edit of a message sent in this batch. */
  editedPending(event: MessageEdited): void {
    const pending = this.#pending.get(event.data.message_id);
    if (pending === undefined) return;
    const next = new Set(named(event.data.mentions, pending.sender));
    for (const user of [...pending.users.keys()]) if (!next.has(user)) pending.users.delete(user);
    for (const user of next) if (!pending.users.has(user)) pending.users.set(user, event.data.edited_at);
  }

  deleted(messageId: string): void {
    if (!this.#pending.delete(messageId)) this.#forgotten.add(messageId);
  }

  /** Writes what is pending. */
  async flush(trx: Transaction<Database>): Promise<void> {
    const rows: Row[] = [];
    for (const { row, users } of this.#pending.values()) {
      for (const [user_id, mentioned_at] of users) rows.push({ ...row, user_id, mentioned_at });
    }
    await insertRows(trx, 'mentions', rows);
    await mentionsOneByOne.forget(trx, [...this.#forgotten]);
    this.#pending.clear();
    this.#forgotten.clear();
  }
}
