// Turns events from the log into frames for this gateway's sockets. Each frame
// is serialised once and written to every socket that should see it.
//
// New messages are built from the event itself (the hot path: no query).
// Notifications that carry "the changed object" (an edited message, a renamed
// room, a friend request) read it from the read model once the projection has
// applied the event, so clients receive the same object a query would return.

import type { Kysely } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import type { MessageSent, UserInvitedToRoom } from '../domain/room.ts';
import type { Position } from '../log/port.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { syncChangesOf } from '../projections/sync-changes.ts';
import { findMessage } from '../queries/messages-queries.ts';
import { findRoom, findRoomName, type InvitationView } from '../queries/rooms-queries.ts';
import { findRequest } from '../queries/social-queries.ts';
import type { MessageView } from '../queries/wire.ts';
import type { Database } from '../store/schema.ts';
import type { Delivery } from './delivery.ts';
import { serverFrame } from './frames.ts';
import type { Membership } from './membership.ts';
import type { RoomStream } from './room-stream.ts';
import { reaches, type SessionRegistry } from './sessions.ts';

/** A new message as a query would show it; `erased` when its key was destroyed before it got here. */
export function messageFromEvent(data: MessageSent['data'], erased: boolean): MessageView {
  return {
    id: data.message_id,
    room_id: data.room_id,
    seq: data.seq,
    sender_id: data.sender_id,
    client_msg_id: data.client_msg_id,
    content: erased ? null : data.content,
    mime_type: data.mime_type,
    reply_to: data.reply_to,
    attachments: erased ? [] : data.attachments,
    mentions: data.mentions,
    reactions: {},
    created_at: data.created_at,
    edited_at: null,
    deleted: false,
    erased,
  };
}

/** An event as the gateway reads it: personal values open, or erased (privacy/vault.ts). */
export type OpenedEvent = AnyEvent & { erased: boolean };

export interface Fanout {
  /** Routes one event; resolves once its frames are written (keeps per-partition order). */
  deliver(event: OpenedEvent, position: Position): Promise<void> | void;
}

export function createFanout(options: {
  sessions: SessionRegistry;
  membership: Membership;
  delivery: Delivery;
  roomStream: RoomStream;
  db: Kysely<Database>;
  progress: ProjectionProgress;
  projection: string;
  catchUpTimeoutMs: number;
}): Fanout {
  const { sessions, membership, delivery, roomStream, db } = options;

  const anyConnected = (userIds: string[]) => userIds.some(sessions.isConnected);
  /** Waits until the read model shows the event (bounded; on timeout it shows what it has). */
  const applied = (position: Position) => options.progress.waitFor(options.projection, position, options.catchUpTimeoutMs);

  async function messageChanged(type: string, roomId: string, messageId: string, position: Position) {
    if (!membership.isTracked(roomId)) return;
    await applied(position);
    const message = await findMessage(db, roomId, messageId);
    if (message !== undefined) delivery.toRoomMembers(roomId, serverFrame(type, message));
  }

  async function roomChanged(roomId: string, position: Position) {
    if (!membership.isTracked(roomId)) return;
    await applied(position);
    const room = await findRoom(db, roomId);
    if (room !== undefined) delivery.toRoomMembers(roomId, serverFrame('ROOM_UPDATED', room));
  }

  async function requestChanged(type: string, requestId: string, parties: string[], position: Position) {
    if (!anyConnected(parties)) return;
    await applied(position);
    const request = await findRequest(db, requestId);
    if (request !== undefined) delivery.toUsers(parties, serverFrame(type, request));
  }

  /**
   * The invitee learns of an invitation as GET /invitations showed it when it
   * was made: built from the event, with the room's name from the read model.
   * Read back whole, an invitation accepted or declined before this ran (on
   * another device, by a quick client) was no longer there, and the invitee
   * heard MEMBER_ADDED or ROOM_INVITE_ENDED of an invitation never announced.
   * On a socket limited to some rooms too, when the room is one of them (a bot
   * joins its rooms by accepting).
   */
  async function invitationSent(invitation: UserInvitedToRoom['data'], position: Position) {
    const { room_id: roomId, user_id: userId } = invitation;
    if (!sessions.isConnected(userId)) return;
    await applied(position);
    const roomName = await findRoomName(db, roomId);
    if (roomName === undefined) return;
    const frame = serverFrame('ROOM_INVITE', {
      chat_room_id: roomId,
      room_name: roomName,
      role: invitation.role,
      invited_by: invitation.invited_by,
      invited_at: invitation.invited_at,
    } satisfies InvitationView);
    for (const session of sessions.of(userId) ?? []) if (reaches(session, roomId)) delivery.send(session, frame);
  }

  function memberLeft(roomId: string, userId: string, removedBy: string) {
    const frame = serverFrame('MEMBER_REMOVED', { chat_room_id: roomId, user_id: userId, removed_by: removedBy });
    // The removed user hears it too (once), then stops receiving the room at once.
    delivery.toRoomMembers(roomId, frame, (session) => session.userId !== userId);
    membership.apply(roomId, { kind: 'leave', userId });
    for (const session of sessions.of(userId) ?? []) {
      if (reaches(session, roomId)) delivery.send(session, frame);
      roomStream.forget(session, roomId);
    }
  }

  return {
    deliver(event, position) {
      switch (event.type) {
        case 'message_sent': {
          const { room_id, seq } = event.data;
          const frame = serverFrame('NEW_MESSAGE', messageFromEvent(event.data, event.erased));
          delivery.eachRoomSession(room_id, (session) => roomStream.live(session, room_id, seq, frame, position));
          return;
        }
        case 'message_edited':
          return messageChanged('MESSAGE_UPDATED', event.data.room_id, event.data.message_id, position);
        case 'message_deleted':
          return messageChanged('MESSAGE_DELETED', event.data.room_id, event.data.message_id, position);
        case 'reaction_added':
        case 'reaction_removed':
          return messageChanged('REACTION_UPDATED', event.data.room_id, event.data.message_id, position);
        case 'room_updated':
        case 'room_closed':
        case 'room_reopened':
        case 'slow_mode_set':
          return roomChanged(event.data.room_id, position);
        case 'user_joined_room': {
          const { room_id, user_id, role, added_by } = event.data;
          membership.apply(room_id, { kind: 'join', userId: user_id });
          // A connected user who joins a room we do not track yet: start now.
          if (sessions.isConnected(user_id)) void membership.track(room_id, position.partition).catch(() => undefined);
          delivery.toRoomMembers(room_id, serverFrame('MEMBER_ADDED', { chat_room_id: room_id, user_id, role, added_by }));
          return;
        }
        case 'user_invited_to_room':
          return invitationSent(event.data, position);
        case 'user_left_room': {
          memberLeft(event.data.room_id, event.data.user_id, event.data.removed_by);
          return;
        }
        case 'friend_request_sent':
          return requestChanged(
            'FRIEND_REQUEST',
            event.data.request_id,
            [event.data.to_user_id, event.data.from_user_id],
            position,
          );
        case 'friend_request_accepted':
        case 'friend_request_rejected':
        case 'friend_request_cancelled':
          return requestChanged(
            'FRIEND_REQUEST_UPDATED',
            event.data.request_id,
            [event.data.from_user_id, event.data.to_user_id],
            position,
          );
        // Every other event's frames carry only ids and numbers: they are the
        // sync feed's changes of it (projections/sync-changes.ts), to the same
        // audience — so the socket and GET /sync never disagree. Events with
        // no frame have no changes there either.
        default:
          for (const { to, frame, data } of syncChangesOf(event)) {
            const bytes = serverFrame(frame, data);
            if ('room_id' in to) delivery.toRoomMembers(to.room_id, bytes);
            else delivery.toUsers([to.user_id], bytes);
          }
          return;
      }
    },
  };
}
