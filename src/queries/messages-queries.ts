// Reads over a room's message history, paged by `seq`.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { messageView, type MessageView } from './wire.ts';

export interface HistoryPage {
  /** Exclusive bounds: messages with before > seq or seq > after. */
  before_seq?: number | undefined;
  after_seq?: number | undefined;
  limit: number;
}

/**
 * A page of history in ascending `seq`. With `after_seq` it reads forward from
 * there; otherwise it reads the newest messages (below `before_seq` if given).
 */
export async function readHistory(db: Kysely<Database>, roomId: string, page: HistoryPage): Promise<MessageView[]> {
  let query = db.selectFrom('messages').selectAll().where('room_id', '=', roomId);
  if (page.before_seq !== undefined) query = query.where('seq', '<', page.before_seq);
  if (page.after_seq !== undefined) {
    const rows = await query.where('seq', '>', page.after_seq).orderBy('seq', 'asc').limit(page.limit).execute();
    return rows.map(messageView);
  }
  const rows = await query.orderBy('seq', 'desc').limit(page.limit).execute();
  return rows.reverse().map(messageView);
}

export async function findMessageByClientId(
  db: Kysely<Database>,
  roomId: string,
  senderId: string,
  clientMsgId: string,
): Promise<MessageView | undefined> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('room_id', '=', roomId)
    .where('sender_id', '=', senderId)
    .where('client_msg_id', '=', clientMsgId)
    .executeTakeFirst();
  return row && messageView(row);
}

export async function findMessage(db: Kysely<Database>, roomId: string, messageId: string): Promise<MessageView | undefined> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('room_id', '=', roomId)
    .where('id', '=', messageId)
    .executeTakeFirst();
  return row && messageView(row);
}

/** Messages by id, in the order of `ids`. */
export async function findMessagesByIds(db: Kysely<Database>, ids: string[]): Promise<MessageView[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
  const byId = new Map(rows.map((row) => [row.id, messageView(row)]));
  return ids.map((id) => byId.get(id)).filter((message): message is MessageView => message !== undefined);
}

/** A pinned message as GET /rooms/:id/pins lists it. */
export interface PinView {
  message: MessageView;
  pinned_by: string;
  pinned_at: number;
}

/** The room's pins, the most recently pinned first (a room holds at most PARLEY_MAX_PINS). */
export async function readPins(db: Kysely<Database>, roomId: string): Promise<PinView[]> {
  const pins = await db
    .selectFrom('room_pins')
    .select(['message_id', 'pinned_by', 'pinned_at'])
    .where('room_id', '=', roomId)
    .orderBy('pinned_at', 'desc')
    .orderBy('seq', 'desc')
    .execute();
  const messages = new Map(
    (
      await findMessagesByIds(
        db,
        pins.map((pin) => pin.message_id),
      )
    ).map((m) => [m.id, m]),
  );
  return pins.flatMap(({ message_id, pinned_by, pinned_at }) => {
    const message = messages.get(message_id);
    return message === undefined ? [] : [{ message, pinned_by, pinned_at }];
  });
}

/** What a message said before, as GET /rooms/:id/messages/:message_id/history lists it. */
export interface MessageVersionView {
  content: string;
  /** When this version was written: sent, or edited to it. */
  written_at: number;
}

/** A message's earlier versions, oldest first (none once it is deleted or erased). */
export async function readVersions(db: Kysely<Database>, messageId: string): Promise<MessageVersionView[]> {
  return db
    .selectFrom('message_versions')
    .select(['content', 'written_at'])
    .where('message_id', '=', messageId)
    .orderBy('version', 'asc')
    .execute();
}

/** Who, of the room's other members, a message reached and who read it (Tinode's recv/read, WhatsApp's message info). */
export interface MessageReceipts {
  message_id: string;
  seq: number;
  /** The room's members other than the sender. */
  recipients: number;
  /** Those whose devices received it (readers included: reading implies it). */
  delivered_to: string[];
  /** Those who read it. */
  read_by: string[];
}

export async function readReceipts(db: Kysely<Database>, message: MessageView): Promise<MessageReceipts> {
  const members = await db
    .selectFrom('room_members')
    .select(['user_id', 'last_read_seq', 'last_delivered_seq'])
    .where('room_id', '=', message.room_id)
    .where('user_id', '!=', message.sender_id)
    .orderBy('user_id')
    .execute();
  return {
    message_id: message.id,
    seq: message.seq,
    recipients: members.length,
    delivered_to: members.filter((m) => Math.max(m.last_delivered_seq, m.last_read_seq) >= message.seq).map((m) => m.user_id),
    read_by: members.filter((m) => m.last_read_seq >= message.seq).map((m) => m.user_id),
  };
}
