// The chat read model: users, rooms, memberships and messages, as the queries
// and the gateway need them. Each event type maps to a small write; the runner
// supplies the transaction and the exactly-once bookkeeping.

import type { Insertable, Transaction } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import { assertNever } from '../domain/decider.ts';
import type { MessageSent, RoomCreated, UserJoinedRoom } from '../domain/room.ts';
import type { UserRegistered } from '../domain/user.ts';
import { insertRows, updateRows, type Cell } from '../store/dialect.ts';
import type { Database, MessagesTable, RoomMembersTable, RoomsTable, UsersTable } from '../store/schema.ts';
import type { Projection } from './runner.ts';

export const chatProjectionName = 'chat';

export const chatProjection: Projection = {
  name: chatProjectionName,
  apply: (trx, event) => applyChatEvent(trx, event as AnyEvent),
  applyBatch: (trx, events) => applyChatEvents(trx, events.map(({ event }) => event as AnyEvent)),
};

const userRow = (d: UserRegistered['data']): Insertable<UsersTable> => ({
  id: d.user_id,
  username: d.username,
  email: d.email,
  password_hash: d.password_hash,
  display_name: d.display_name,
  bio: '',
  avatar_url: null,
  created_at: d.created_at,
});

const roomRow = (d: RoomCreated['data']): Insertable<RoomsTable> => ({
  id: d.room_id,
  type: d.type,
  name: d.name,
  topic: '',
  created_by: d.created_by,
  created_at: d.created_at,
  last_seq: 0,
  last_message_id: null,
  closed: 0,
});

const memberRow = (d: UserJoinedRoom['data']): Insertable<RoomMembersTable> => ({
  room_id: d.room_id,
  user_id: d.user_id,
  role: d.role,
  joined_at: d.joined_at,
  last_read_seq: 0,
});

const messageRow = (d: MessageSent['data']): Insertable<MessagesTable> => ({
  id: d.message_id,
  room_id: d.room_id,
  seq: d.seq,
  sender_id: d.sender_id,
  client_msg_id: d.client_msg_id,
  content: d.content,
  mime_type: d.mime_type,
  reply_to: d.reply_to,
  attachments: JSON.stringify(d.attachments),
  reactions: '{}',
  created_at: d.created_at,
  edited_at: null,
  deleted: 0,
  mentions: d.mentions.length > 0 ? JSON.stringify(d.mentions) : null,
});

/** A message's reactions after one reaction event (the same steps on either path). */
function react(reactions: Record<string, string[]>, event: Extract<AnyEvent, { type: 'reaction_added' | 'reaction_removed' }>) {
  const d = event.data;
  const users = new Set(reactions[d.emoji] ?? []);
  if (event.type === 'reaction_added') users.add(d.user_id);
  else users.delete(d.user_id);
  if (users.size === 0) delete reactions[d.emoji];
  else reactions[d.emoji] = [...users];
}

async function applyChatEvent(trx: Transaction<Database>, event: AnyEvent): Promise<void> {
  switch (event.type) {
    case 'user_registered': {
      const d = event.data;
      await trx.insertInto('users').values(userRow(d)).execute();
      return;
    }
    case 'user_profile_updated': {
      const d = event.data;
      const changes: { display_name?: string; bio?: string; avatar_url?: string | null } = {};
      if (d.changed.includes('display_name') && d.display_name !== null) changes.display_name = d.display_name;
      if (d.changed.includes('bio')) changes.bio = d.bio ?? '';
      if (d.changed.includes('avatar_url')) changes.avatar_url = d.avatar_url;
      if (Object.keys(changes).length > 0) {
        await trx.updateTable('users').set(changes).where('id', '=', d.user_id).execute();
      }
      return;
    }
    case 'value_reserved':
    case 'value_released':
      return; // reservations only matter to the writer
    case 'room_created': {
      const d = event.data;
      await trx.insertInto('rooms').values(roomRow(d)).execute();
      return;
    }
    case 'room_updated':
      await trx
        .updateTable('rooms')
        .set({ name: event.data.name, topic: event.data.topic })
        .where('id', '=', event.data.room_id)
        .execute();
      return;
    case 'room_closed':
    case 'room_reopened':
      await trx
        .updateTable('rooms')
        .set({ closed: event.type === 'room_closed' ? 1 : 0 })
        .where('id', '=', event.data.room_id)
        .execute();
      return;
    case 'member_role_changed':
      await trx
        .updateTable('room_members')
        .set({ role: event.data.role })
        .where('room_id', '=', event.data.room_id)
        .where('user_id', '=', event.data.user_id)
        .execute();
      return;
    case 'messages_read':
      await trx
        .updateTable('room_members')
        .set({ last_read_seq: event.data.seq })
        .where('room_id', '=', event.data.room_id)
        .where('user_id', '=', event.data.user_id)
        .where('last_read_seq', '<', event.data.seq)
        .execute();
      return;
    case 'message_edited':
      await trx
        .updateTable('messages')
        .set({ content: event.data.content, edited_at: event.data.edited_at, mentions: JSON.stringify(event.data.mentions) })
        .where('id', '=', event.data.message_id)
        .execute();
      return;
    case 'message_deleted':
      // A tombstone: the row keeps its seq, loses what it said.
      await trx
        .updateTable('messages')
        .set({ deleted: 1, content: '', attachments: '[]', reactions: '{}', mentions: null })
        .where('id', '=', event.data.message_id)
        .execute();
      return;
    case 'reaction_added':
    case 'reaction_removed': {
      const d = event.data;
      const row = await trx.selectFrom('messages').select('reactions').where('id', '=', d.message_id).executeTakeFirst();
      if (row === undefined) return;
      const reactions = JSON.parse(row.reactions) as Record<string, string[]>;
      react(reactions, event);
      await trx.updateTable('messages').set({ reactions: JSON.stringify(reactions) }).where('id', '=', d.message_id).execute();
      return;
    }
    case 'friend_request_sent': {
      const d = event.data;
      await trx
        .insertInto('friend_requests')
        .values({
          id: d.request_id,
          from_user_id: d.from_user_id,
          to_user_id: d.to_user_id,
          status: 'pending',
          created_at: d.created_at,
          updated_at: d.created_at,
        })
        .execute();
      return;
    }
    case 'friend_request_accepted':
    case 'friend_request_rejected':
    case 'friend_request_cancelled': {
      const d = event.data;
      const status =
        event.type === 'friend_request_accepted' ? 'accepted' : event.type === 'friend_request_rejected' ? 'rejected' : 'cancelled';
      await trx.updateTable('friend_requests').set({ status, updated_at: d.at }).where('id', '=', d.request_id).execute();
      if (status === 'accepted') {
        await trx
          .insertInto('friendships')
          .values([
            { user_id: d.from_user_id, friend_id: d.to_user_id, since: d.at },
            { user_id: d.to_user_id, friend_id: d.from_user_id, since: d.at },
          ])
          .execute();
      }
      return;
    }
    case 'friendship_ended': {
      const { user_a, user_b } = event.data;
      await trx
        .deleteFrom('friendships')
        .where((eb) =>
          eb.or([
            eb.and([eb('user_id', '=', user_a), eb('friend_id', '=', user_b)]),
            eb.and([eb('user_id', '=', user_b), eb('friend_id', '=', user_a)]),
          ]),
        )
        .execute();
      return;
    }
    case 'user_blocked':
      await trx
        .insertInto('blocks')
        .values({ blocker_id: event.data.blocker_id, blocked_id: event.data.blocked_id, created_at: event.data.at })
        .execute();
      return;
    case 'user_unblocked':
      await trx
        .deleteFrom('blocks')
        .where('blocker_id', '=', event.data.blocker_id)
        .where('blocked_id', '=', event.data.blocked_id)
        .execute();
      return;
    case 'user_joined_room': {
      const d = event.data;
      await trx.insertInto('room_members').values(memberRow(d)).execute();
      return;
    }
    case 'user_left_room': {
      const d = event.data;
      await trx.deleteFrom('room_members').where('room_id', '=', d.room_id).where('user_id', '=', d.user_id).execute();
      return;
    }
    case 'message_sent': {
      const d = event.data;
      await trx.insertInto('messages').values(messageRow(d)).execute();
      await trx
        .updateTable('rooms')
        .set({ last_seq: d.seq, last_message_id: d.message_id })
        .where('id', '=', d.room_id)
        .execute();
      // The sender has read everything up to their own message.
      await trx
        .updateTable('room_members')
        .set({ last_read_seq: d.seq })
        .where('room_id', '=', d.room_id)
        .where('user_id', '=', d.sender_id)
        .execute();
      return;
    }
    default:
      return assertNever(event);
  }
}

// ── batches ─────────────────────────────────────────────────────────────────
// A batch defers what it can and writes it with few statements at the end:
// new users, rooms, members and messages become multi-row INSERTs, and the
// rooms' last message and the members' read marks (moved by every
// message_sent) one bulk UPDATE each, since only the last value of a row
// matters. An event that changes a row still pending (an edit of a message
// sent in the same batch, a read mark of a member who joined in it) changes
// it in memory. Every other event is written at once through applyChatEvent:
// it touches other rows, or other columns, than what is pending, so the order
// between them does not matter. The rows left are exactly those of applying
// each event in turn (rebuild.int.spec.ts checks it on generated logs).

type Row = Record<string, Cell>;

type ReadMark = { room_id: string; user_id: string; last_read_seq: number; onlyIfGreater: boolean };

const memberKey = (roomId: string, userId: string) => `${roomId}\u0000${userId}`;

class ChatBatch {
  readonly #trx: Transaction<Database>;
  readonly #users = new Map<string, Insertable<UsersTable>>();
  readonly #rooms = new Map<string, Insertable<RoomsTable>>();
  readonly #members = new Map<string, Insertable<RoomMembersTable>>();
  readonly #messages = new Map<string, Insertable<MessagesTable>>();
  /** Last message of rooms not pending (they exist outside this batch, or nowhere). */
  readonly #roomLast = new Map<string, { id: string; last_seq: number; last_message_id: string }>();
  /** Read marks of members not pending. */
  readonly #readMarks = new Map<string, ReadMark>();

  constructor(trx: Transaction<Database>) {
    this.#trx = trx;
  }

  async apply(event: AnyEvent): Promise<void> {
    switch (event.type) {
      case 'user_registered':
        if (this.#users.has(event.data.user_id)) break; // a duplicate fails as it would alone
        this.#users.set(event.data.user_id, userRow(event.data));
        return;
      case 'user_profile_updated': {
        const row = this.#users.get(event.data.user_id);
        if (row === undefined) break;
        const d = event.data;
        if (d.changed.includes('display_name') && d.display_name !== null) row.display_name = d.display_name;
        if (d.changed.includes('bio')) row.bio = d.bio ?? '';
        if (d.changed.includes('avatar_url')) row.avatar_url = d.avatar_url;
        return;
      }
      case 'room_created':
        if (this.#rooms.has(event.data.room_id)) break;
        this.#rooms.set(event.data.room_id, roomRow(event.data));
        return;
      case 'room_updated': {
        const row = this.#rooms.get(event.data.room_id);
        if (row === undefined) break;
        row.name = event.data.name;
        row.topic = event.data.topic;
        return;
      }
      case 'room_closed':
      case 'room_reopened': {
        const row = this.#rooms.get(event.data.room_id);
        if (row === undefined) break;
        row.closed = event.type === 'room_closed' ? 1 : 0;
        return;
      }
      case 'user_joined_room': {
        const d = event.data;
        const key = memberKey(d.room_id, d.user_id);
        if (this.#members.has(key)) break;
        // A mark pending for a member not in the room (a no-op) must not land on the new row.
        await this.#writeReadMarks(key);
        this.#members.set(key, memberRow(d));
        return;
      }
      case 'user_left_room': {
        const key = memberKey(event.data.room_id, event.data.user_id);
        // Whatever was pending for the row goes with it.
        this.#readMarks.delete(key);
        if (this.#members.delete(key)) return;
        break;
      }
      case 'member_role_changed': {
        const row = this.#members.get(memberKey(event.data.room_id, event.data.user_id));
        if (row === undefined) break;
        row.role = event.data.role;
        return;
      }
      case 'message_sent': {
        const d = event.data;
        if (this.#messages.has(d.message_id)) break;
        this.#messages.set(d.message_id, messageRow(d));
        const room = this.#rooms.get(d.room_id);
        if (room !== undefined) {
          room.last_seq = d.seq;
          room.last_message_id = d.message_id;
        } else {
          this.#roomLast.set(d.room_id, { id: d.room_id, last_seq: d.seq, last_message_id: d.message_id });
        }
        this.#markRead(d.room_id, d.sender_id, d.seq, false);
        return;
      }
      case 'messages_read':
        this.#markRead(event.data.room_id, event.data.user_id, event.data.seq, true);
        return;
      case 'message_edited': {
        const row = this.#messages.get(event.data.message_id);
        if (row === undefined) break;
        row.content = event.data.content;
        row.edited_at = event.data.edited_at;
        row.mentions = JSON.stringify(event.data.mentions);
        return;
      }
      case 'message_deleted': {
        const row = this.#messages.get(event.data.message_id);
        if (row === undefined) break;
        Object.assign(row, { deleted: 1, content: '', attachments: '[]', reactions: '{}', mentions: null });
        return;
      }
      case 'reaction_added':
      case 'reaction_removed': {
        const row = this.#messages.get(event.data.message_id);
        if (row === undefined) break;
        const reactions = JSON.parse(row.reactions) as Record<string, string[]>;
        react(reactions, event);
        row.reactions = JSON.stringify(reactions);
        return;
      }
      default:
        break;
    }
    await applyChatEvent(this.#trx, event);
  }

  /** Writes everything pending. */
  async flush(): Promise<void> {
    const trx = this.#trx;
    await insertRows(trx, 'users', [...this.#users.values()] as Row[]);
    await insertRows(trx, 'rooms', [...this.#rooms.values()] as Row[]);
    await insertRows(trx, 'room_members', [...this.#members.values()] as Row[]);
    await insertRows(trx, 'messages', [...this.#messages.values()] as Row[]);
    await updateRows(trx, 'rooms', ['id'], ['last_seq', 'last_message_id'], [...this.#roomLast.values()]);
    await this.#writeReadMarks();
    this.#users.clear();
    this.#rooms.clear();
    this.#members.clear();
    this.#messages.clear();
    this.#roomLast.clear();
  }

  /** message_sent sets the sender's mark; messages_read only raises it. */
  #markRead(room_id: string, user_id: string, seq: number, onlyIfGreater: boolean): void {
    const key = memberKey(room_id, user_id);
    const member = this.#members.get(key);
    if (member !== undefined) {
      member.last_read_seq = onlyIfGreater ? Math.max(Number(member.last_read_seq), seq) : seq;
      return;
    }
    const mark = this.#readMarks.get(key);
    if (mark === undefined) this.#readMarks.set(key, { room_id, user_id, last_read_seq: seq, onlyIfGreater });
    else if (!onlyIfGreater) Object.assign(mark, { last_read_seq: seq, onlyIfGreater: false });
    else mark.last_read_seq = Math.max(mark.last_read_seq, seq);
  }

  /** Writes the pending read marks (only `key`'s when given). */
  async #writeReadMarks(key?: string): Promise<void> {
    let marks: ReadMark[];
    if (key === undefined) {
      marks = [...this.#readMarks.values()];
      this.#readMarks.clear();
    } else {
      const mark = this.#readMarks.get(key);
      if (mark === undefined) return;
      this.#readMarks.delete(key);
      marks = [mark];
    }
    await updateRows(
      this.#trx,
      'room_members',
      ['room_id', 'user_id'],
      ['last_read_seq'],
      marks.map(({ room_id, user_id, last_read_seq, onlyIfGreater }) => ({ room_id, user_id, last_read_seq, raise: onlyIfGreater ? 1 : 0 })),
      (mark) => mark.raise === 1,
    );
  }
}

async function applyChatEvents(trx: Transaction<Database>, events: readonly AnyEvent[]): Promise<void> {
  const batch = new ChatBatch(trx);
  for (const event of events) await batch.apply(event);
  await batch.flush();
}
