// A room as it stood at a moment, folded from its events (issue 15: "the
// room as it was", for disputes). Pure: the reader (room-as-of.ts) gives the
// room's events appended up to that moment, in log order, their sealed values
// opened — a value whose key is destroyed since (a deleted or expired message,
// an erased account's edit) arrives erased, and shows as erased here: what
// was erased stays erased, even in the past.

import type { RoomEvent, Role, RoomType } from '../domain/room.ts';

export interface MemberAsOf {
  user_id: string;
  role: Role;
  joined_at: number;
}

export interface MessageAsOf {
  message_id: string;
  seq: number;
  sender_id: string;
  /** The text as it stood then (its last edit before the moment); null when deleted then, or erased since. */
  content: string | null;
  reply_to: string | null;
  attachments: number;
  created_at: number;
  edited_at: number | null;
  deleted: boolean;
  /** Its text was erased since (deleted later, expired, or its sender's account erased): shown as null. */
  erased: boolean;
  /** Its text (then) is in the log but does not open with its own key — altered there: shown as null. */
  seal_broken: boolean;
}

export interface RoomAsOf {
  room: { type: RoomType; name: string; topic: string; closed: boolean; created_by: string; created_at: number } | null;
  members: MemberAsOf[];
  /** By seq. */
  messages: MessageAsOf[];
}

/**
 * One opened event of the room; `erased`: a sealed value in it could not be
 * opened (its key is destroyed); `sealBroken`: one does not open with its key
 * (altered in the log) — its personal values are not to be shown.
 */
export interface OpenedRoomEvent {
  event: RoomEvent;
  erased: boolean;
  sealBroken?: boolean;
}

export function foldRoomAsOf(events: Iterable<OpenedRoomEvent>): RoomAsOf {
  let room = null as RoomAsOf['room'];
  const members = new Map<string, MemberAsOf>();
  const messages = new Map<number, MessageAsOf>();
  for (const { event, erased, sealBroken = false } of events) {
    switch (event.type) {
      case 'room_created': {
        const { type, name, created_by, created_at } = event.data;
        room = { type, name, topic: '', closed: false, created_by, created_at };
        break;
      }
      case 'room_updated':
        if (room !== null) room = { ...room, name: event.data.name, topic: event.data.topic };
        break;
      case 'room_closed':
      case 'room_reopened':
        if (room !== null) room = { ...room, closed: event.type === 'room_closed' };
        break;
      case 'user_joined_room':
        members.set(event.data.user_id, {
          user_id: event.data.user_id,
          role: event.data.role,
          joined_at: event.data.joined_at,
        });
        break;
      case 'user_left_room':
        members.delete(event.data.user_id);
        break;
      case 'member_role_changed': {
        const member = members.get(event.data.user_id);
        if (member !== undefined) members.set(member.user_id, { ...member, role: event.data.role });
        break;
      }
      case 'message_sent': {
        const m = event.data;
        messages.set(m.seq, {
          message_id: m.message_id,
          seq: m.seq,
          sender_id: m.sender_id,
          content: erased || sealBroken ? null : m.content,
          reply_to: m.reply_to,
          attachments: m.attachments.length,
          created_at: m.created_at,
          edited_at: null,
          deleted: false,
          erased,
          seal_broken: sealBroken,
        });
        break;
      }
      case 'message_edited': {
        const message = messages.get(event.data.seq);
        if (message === undefined || message.deleted) break;
        // An edit that opens mends a broken original (the text then is the edit's); a broken edit hides it.
        messages.set(message.seq, {
          ...message,
          content: erased || message.erased || sealBroken ? null : event.data.content,
          edited_at: event.data.edited_at,
          erased: erased || message.erased,
          seal_broken: sealBroken,
        });
        break;
      }
      case 'message_deleted': {
        const message = messages.get(event.data.seq);
        if (message !== undefined) messages.set(message.seq, { ...message, content: null, deleted: true });
        break;
      }
      case 'messages_expired':
        for (const message of messages.values()) {
          if (message.seq <= event.data.up_to_seq && !message.deleted) {
            messages.set(message.seq, { ...message, content: null, deleted: true, erased: true });
          }
        }
        break;
      default:
        // Invitations, reactions, pins, receipts, threads, moderation: not part of this view.
        break;
    }
  }
  return {
    room,
    members: [...members.values()].sort((a, b) => a.joined_at - b.joined_at || a.user_id.localeCompare(b.user_id)),
    messages: [...messages.values()].sort((a, b) => a.seq - b.seq),
  };
}
