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

const parseMentions = (value: string | null): string[] => (value === null ? [] : (JSON.parse(value) as string[]));

/** The message's stored mention set, sender and place (undefined: no such message, or deleted). */
async function storedMentionsOf(trx: Transaction<Database>, ids: readonly string[]) {
  const found = new Map<string, { room_id: string; seq: number; sender_id: string; mentions: string[] }>();
  for (let start = 0; start < ids.length; start += 1_000) {
    const rows = await trx
      .selectFrom('messages')
      .select(['id', 'room_id', 'seq', 'sender_id', 'mentions'])
      .where('id', 'in', ids.slice(start, start + 1_000))
      .where('deleted', '=', 0)
      .execute();
    for (const row of rows) {
      found.set(row.id, { room_id: row.room_id, seq: row.seq, sender_id: row.sender_id, mentions: parseMentions(row.mentions) });
    }
  }
  return found;
}

/** Applies edits of stored messages (before their rows take the new mentions). */
async function applyStoredEdits(trx: Transaction<Database>, edits: ReadonlyMap<string, MessageEdited[]>): Promise<void> {
  const stored = await storedMentionsOf(trx, [...edits.keys()]);
  const rows: Row[] = [];
  for (const [messageId, message] of stored) {
    const changes = mentionChanges(
      named(message.mentions, message.sender_id),
      edits.get(messageId)!.map((edit) => ({ mentions: named(edit.data.mentions, message.sender_id), at: edit.data.edited_at })),
    );
    const gone = [...changes.drop, ...changes.insert.keys()];
    if (gone.length > 0) {
      await trx.deleteFrom('mentions').where('message_id', '=', messageId).where('user_id', 'in', gone).execute();
    }
    for (const [user_id, at] of changes.insert) {
      rows.push({ message_id: messageId, user_id, room_id: message.room_id, seq: message.seq, mentioned_at: at });
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

/** Event by event. */
export const mentionsOneByOne = {
  sent: (trx: Transaction<Database>, d: MessageSent['data']) => insertRows(trx, 'mentions', sentRows(d)),
  edited: (trx: Transaction<Database>, event: MessageEdited) =>
    applyStoredEdits(trx, new Map([[event.data.message_id, [event]]])),
  /** The messages were deleted or erased. */
  forget: (trx: Transaction<Database>, messageIds: readonly string[]) =>
    deleteRowsWhereIn(trx, 'mentions', 'message_id', messageIds),
};

/** In a batch: rows of messages sent in it are kept in memory; edits of stored ones are settled at flush. */
export class MentionsBatch {
  /** Messages sent in this batch: user → when mentioned. */
  readonly #pending = new Map<
    string,
    { row: Omit<Row, 'user_id' | 'mentioned_at'>; sender: string; users: Map<string, number> }
  >();
  readonly #edits = new Map<string, MessageEdited[]>();
  readonly #forgotten = new Set<string>();

  sent(d: MessageSent['data']): void {
    const users = new Map(named(d.mentions, d.sender_id).map((user) => [user, d.created_at] as const));
    this.#pending.set(d.message_id, {
      row: { message_id: d.message_id, room_id: d.room_id, seq: d.seq },
      sender: d.sender_id,
      users,
    });
  }

  edited(event: MessageEdited): void {
    const id = event.data.message_id;
    const pending = this.#pending.get(id);
    if (pending === undefined) {
      this.#edits.set(id, [...(this.#edits.get(id) ?? []), event]);
      return;
    }
    const next = new Set(named(event.data.mentions, pending.sender));
    for (const user of [...pending.users.keys()]) if (!next.has(user)) pending.users.delete(user);
    for (const user of next) if (!pending.users.has(user)) pending.users.set(user, event.data.edited_at);
  }

  deleted(messageId: string): void {
    if (this.#pending.delete(messageId)) return;
    this.#edits.delete(messageId);
    this.#forgotten.add(messageId);
  }

  /** Writes what is pending; before the messages' rows take their new mentions. */
  async flush(trx: Transaction<Database>): Promise<void> {
    const rows: Row[] = [];
    for (const { row, users } of this.#pending.values()) {
      for (const [user_id, mentioned_at] of users) rows.push({ ...row, user_id, mentioned_at });
    }
    await insertRows(trx, 'mentions', rows);
    await applyStoredEdits(trx, this.#edits);
    await mentionsOneByOne.forget(trx, [...this.#forgotten]);
    this.#pending.clear();
    this.#edits.clear();
    this.#forgotten.clear();
  }
}
