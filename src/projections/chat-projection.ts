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
        })
        .execute();
      return;
    }
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
