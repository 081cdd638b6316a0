// Turns events from the log into frames for this gateway's sockets. Each frame
// is serialised once and written to every socket that should see it.
//
// New messages are built from the event itself (the hot path: no query).
// Notifications that carry "the changed object" (an edited message, a renamed
// room, a friend request) read it from the read model once the projection has
// applied the event, so clients receive the same object a query would return.

import type { Kysely } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import { assertNever } from '../domain/decider.ts';
import type { MessageSent } from '../domain/room.ts';
import type { Position } from '../log/port.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { findMessage } from '../queries/messages-queries.ts';
import { findInvitation, findRoom } from '../queries/rooms-queries.ts';
import { findRequest } from '../queries/social-queries.ts';
import type { MessageView } from '../queries/wire.ts';
import type { Database } from '../store/schema.ts';
import type { Delivery } from './delivery.ts';
import { serverFrame } from './frames.ts';
import type { Membership } from './membership.ts';
import type { RoomStream } from './room-stream.ts';
import type { SessionRegistry } from './sessions.ts';

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

  /** The invitee learns of an invitation as GET /invitations shows it. */
  async function invitationSent(roomId: string, userId: string, position: Position) {
    if (!sessions.isConnected(userId)) return;
    await applied(position);
    const invitation = await findInvitation(db, roomId, userId);
    if (invitation !== undefined) delivery.toUsers([userId], serverFrame('ROOM_INVITE', invitation));
  }

  function memberLeft(roomId: string, userId: string, removedBy: string) {
    const frame = serverFrame('MEMBER_REMOVED', { chat_room_id: roomId, user_id: userId, removed_by: removedBy });
    // The removed user hears it too (once), then stops receiving the room at once.
    delivery.toRoomMembers(roomId, frame, (session) => session.userId !== userId);
    membership.apply(roomId, { kind: 'leave', userId });
    for (const session of sessions.of(userId) ?? []) {
      delivery.send(session, frame);
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
        case 'messages_read': {
          const { room_id, user_id, seq } = event.data;
          delivery.toRoomMembers(room_id, serverFrame('READ_RECEIPT', { chat_room_id: room_id, user_id, seq }));
          return;
        }
        case 'messages_delivered': {
          const { room_id, user_id, seq } = event.data;
          delivery.toRoomMembers(room_id, serverFrame('DELIVERY_RECEIPT', { chat_room_id: room_id, user_id, seq }));
          return;
        }
        // A user's threads are theirs: only their own devices hear of them.
        case 'thread_read': {
          const { room_id, message_id, user_id, seq } = event.data;
          delivery.toUsers([user_id], serverFrame('THREAD_READ', { chat_room_id: room_id, message_id, seq }));
          return;
        }
        case 'notifications_set': {
          const { room_id, user_id, level, muted_until } = event.data;
          delivery.toUsers([user_id], serverFrame('NOTIFICATIONS_UPDATED', { chat_room_id: room_id, level, muted_until }));
          return;
        }
        case 'thread_followed':
        case 'thread_unfollowed': {
          const { room_id, message_id, user_id } = event.data;
          const following = event.type === 'thread_followed';
          delivery.toUsers([user_id], serverFrame('THREAD_FOLLOWED', { chat_room_id: room_id, message_id, following }));
          return;
        }
        case 'room_updated':
        case 'room_closed':
        case 'room_reopened':
        case 'slow_mode_set':
          return roomChanged(event.data.room_id, position);
        case 'member_muted':
        case 'member_unmuted': {
          const { room_id, user_id } = event.data;
          const muted_until = event.type === 'member_muted' ? event.data.until : null;
          const by = event.type === 'member_muted' ? event.data.muted_by : event.data.unmuted_by;
          delivery.toRoomMembers(room_id, serverFrame('MEMBER_MUTED', { chat_room_id: room_id, user_id, muted_until, by }));
          return;
        }
        // A banned member's removal is its user_left_room (MEMBER_REMOVED); managers read the bans over REST.
        case 'member_banned':
        case 'member_unbanned':
          return;
        case 'user_joined_room': {
          const { room_id, user_id, role, added_by } = event.data;
          membership.apply(room_id, { kind: 'join', userId: user_id });
          // A connected user who joins a room we do not track yet: start now.
          if (sessions.isConnected(user_id)) void membership.track(room_id, position.partition).catch(() => undefined);
          delivery.toRoomMembers(room_id, serverFrame('MEMBER_ADDED', { chat_room_id: room_id, user_id, role, added_by }));
          return;
        }
        case 'user_invited_to_room':
          return invitationSent(event.data.room_id, event.data.user_id, position);
        case 'room_invitation_ended': {
          // The invitee's other devices drop it.
          const { room_id, user_id, reason } = event.data;
          delivery.toUsers([user_id], serverFrame('ROOM_INVITE_ENDED', { chat_room_id: room_id, reason }));
          return;
        }
        case 'message_pinned':
        case 'message_unpinned': {
          const { room_id, message_id, seq } = event.data;
          const [pinned, by, at] =
            event.type === 'message_pinned'
              ? [true, event.data.pinned_by, event.data.pinned_at]
              : [false, event.data.unpinned_by, event.data.unpinned_at];
          delivery.toRoomMembers(room_id, serverFrame('PIN_UPDATED', { chat_room_id: room_id, message_id, seq, pinned, by, at }));
          return;
        }
        case 'member_role_changed': {
          const { room_id, user_id, role, changed_by } = event.data;
          delivery.toRoomMembers(room_id, serverFrame('MEMBER_UPDATED', { chat_room_id: room_id, user_id, role, changed_by }));
          return;
        }
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
        case 'friendship_ended': {
          const { user_a, user_b, by_user_id } = event.data;
          delivery.toUsers([user_a], serverFrame('FRIEND_REMOVED', { user_id: user_b, by_user_id }));
          delivery.toUsers([user_b], serverFrame('FRIEND_REMOVED', { user_id: user_a, by_user_id }));
          return;
        }
        case 'user_blocked':
        case 'user_unblocked': {
          // Only the blocker's own devices learn of it; the blocked user is not told.
          const { blocker_id, blocked_id } = event.data;
          delivery.toUsers(
            [blocker_id],
            serverFrame('BLOCK_UPDATED', { user_id: blocked_id, blocked: event.type === 'user_blocked' }),
          );
          return;
        }
        // No frame of their own: a new room reaches its members as
        // MEMBER_ADDED (user_joined_room); profiles are read over REST;
        // reservations are internal; a suspension ends the account's
        // sessions, which closes its sockets (session revocations); push
        // subscriptions are the pusher's; moderators read reports over REST.
        case 'user_registered':
        case 'user_profile_updated':
        case 'user_deleted':
        case 'password_changed':
        case 'user_suspended':
        case 'user_suspension_lifted':
        case 'push_subscription_added':
        case 'push_subscription_removed':
        case 'report_filed':
        case 'report_resolved':
        case 'admin_granted':
        case 'admin_revoked':
        case 'email_confirmed':
        case 'messages_expired':
        case 'value_reserved':
        case 'value_released':
        case 'room_created':
          return;
        default:
          return assertNever(event);
      }
    },
  };
}
