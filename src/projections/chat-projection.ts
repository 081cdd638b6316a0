// The chat read model: users, rooms, memberships and messages, as the queries
// and the gateway need them. Each event type maps to a small write; the runner
// supplies the transaction and the exactly-once bookkeeping.

import type { Transaction } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import { assertNever } from '../domain/decider.ts';
import type { Database } from '../store/schema.ts';
import type { Projection } from './runner.ts';

export const chatProjectionName = 'chat';

export const chatProjection: Projection = {
  name: chatProjectionName,
  apply: (trx, event) => applyChatEvent(trx, event as AnyEvent),
};

async function applyChatEvent(trx: Transaction<Database>, event: AnyEvent): Promise<void> {
  switch (event.type) {
    case 'user_registered': {
      const d = event.data;
      await trx
        .insertInto('users')
        .values({
          id: d.user_id,
          username: d.username,
          email: d.email,
          password_hash: d.password_hash,
          display_name: d.display_name,
          bio: '',
          avatar_url: null,
          created_at: d.created_at,
          last_seen_at: null,
        })
        .execute();
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
      await trx
        .insertInto('rooms')
        .values({
          id: d.room_id,
          type: d.type,
          name: d.name,
          topic: '',
          created_by: d.created_by,
          created_at: d.created_at,
          last_seq: 0,
          last_message_id: null,
          closed: 0,
        })
        .execute();
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
      const users = new Set(reactions[d.emoji] ?? []);
      if (event.type === 'reaction_added') users.add(d.user_id);
      else users.delete(d.user_id);
      if (users.size === 0) delete reactions[d.emoji];
      else reactions[d.emoji] = [...users];
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
      await trx
        .insertInto('room_members')
        .values({ room_id: d.room_id, user_id: d.user_id, role: d.role, joined_at: d.joined_at, last_read_seq: 0 })
        .execute();
      return;
    }
    case 'user_left_room': {
      const d = event.data;
      await trx.deleteFrom('room_members').where('room_id', '=', d.room_id).where('user_id', '=', d.user_id).execute();
      return;
    }
    case 'message_sent': {
      const d = event.data;
      await trx
        .insertInto('messages')
        .values({
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
        })
        .execute();
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
