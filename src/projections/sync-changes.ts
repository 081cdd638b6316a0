// The sync feed's rows (GET /api/v1/sync): for each event, the frames the
// WebSocket gateway sends about it and who may see them — every current
// member of a room, or one user. The gateway's fan-out sends the frames that
// carry only ids and numbers straight from here (gateway/fanout.ts). Written
// by the chat projection in the transaction that applies the event, so the
// feed and the model it is read from never disagree.
//
// Frames that show an object (a message, a room, a friend request, an
// invitation) keep only its ids here: the feed renders them from the model
// when a client syncs, as the gateway does, so an erased value is never kept
// in this table nor served from it.

import type { Transaction } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import { assertNever } from '../domain/decider.ts';
import { insertRows, type Cell } from '../store/dialect.ts';
import type { Database, SyncChangesTable } from '../store/schema.ts';
import type { AppliedEvent } from './runner.ts';

/** Frames the feed renders from the model; `data` holds the object's ids. */
export type RenderedFrame =
  | 'NEW_MESSAGE'
  | 'MESSAGE_UPDATED'
  | 'MESSAGE_DELETED'
  | 'REACTION_UPDATED'
  | 'ROOM_UPDATED'
  | 'FRIEND_REQUEST'
  | 'FRIEND_REQUEST_UPDATED'
  | 'ROOM_INVITE';

/** Who sees a change: the room's current members, or one user. */
export type SyncAudience = { room_id: string } | { user_id: string };

export interface SyncChange {
  to: SyncAudience;
  frame: string;
  data: Record<string, unknown>;
}

const toRoom = (room_id: string) => ({ room_id });
const toUser = (user_id: string) => ({ user_id });

function messageChange(frame: RenderedFrame, data: { room_id: string; message_id: string }): SyncChange {
  return { to: toRoom(data.room_id), frame, data: { room_id: data.room_id, message_id: data.message_id } };
}

/** The changes one event makes visible, in the order a socket would hear them. */
export function syncChangesOf(event: AnyEvent): SyncChange[] {
  switch (event.type) {
    case 'message_sent':
      return [messageChange('NEW_MESSAGE', event.data)];
    case 'message_edited':
      return [messageChange('MESSAGE_UPDATED', event.data)];
    case 'message_deleted':
      return [messageChange('MESSAGE_DELETED', event.data)];
    case 'reaction_added':
    case 'reaction_removed':
      return [messageChange('REACTION_UPDATED', event.data)];
    case 'messages_read': {
      const { room_id, user_id, seq } = event.data;
      return [{ to: toRoom(room_id), frame: 'READ_RECEIPT', data: { chat_room_id: room_id, user_id, seq } }];
    }
    case 'messages_delivered': {
      const { room_id, user_id, seq } = event.data;
      return [{ to: toRoom(room_id), frame: 'DELIVERY_RECEIPT', data: { chat_room_id: room_id, user_id, seq } }];
    }
    case 'thread_read': {
      const { room_id, message_id, user_id, seq } = event.data;
      return [{ to: toUser(user_id), frame: 'THREAD_READ', data: { chat_room_id: room_id, message_id, seq } }];
    }
    case 'notifications_set': {
      const { room_id, user_id, level, muted_until } = event.data;
      return [{ to: toUser(user_id), frame: 'NOTIFICATIONS_UPDATED', data: { chat_room_id: room_id, level, muted_until } }];
    }
    case 'thread_followed':
    case 'thread_unfollowed': {
      const { room_id, message_id, user_id } = event.data;
      const following = event.type === 'thread_followed';
      return [{ to: toUser(user_id), frame: 'THREAD_FOLLOWED', data: { chat_room_id: room_id, message_id, following } }];
    }
    case 'room_updated':
    case 'room_closed':
    case 'room_reopened':
    case 'slow_mode_set':
      return [{ to: toRoom(event.data.room_id), frame: 'ROOM_UPDATED', data: { room_id: event.data.room_id } }];
    case 'member_muted':
    case 'member_unmuted': {
      const { room_id, user_id } = event.data;
      const muted_until = event.type === 'member_muted' ? event.data.until : null;
      const by = event.type === 'member_muted' ? event.data.muted_by : event.data.unmuted_by;
      return [{ to: toRoom(room_id), frame: 'MEMBER_MUTED', data: { chat_room_id: room_id, user_id, muted_until, by } }];
    }
    case 'user_joined_room': {
      const { room_id, user_id, role, added_by } = event.data;
      return [{ to: toRoom(room_id), frame: 'MEMBER_ADDED', data: { chat_room_id: room_id, user_id, role, added_by } }];
    }
    case 'user_invited_to_room': {
      const { room_id, user_id } = event.data;
      return [{ to: toUser(user_id), frame: 'ROOM_INVITE', data: { room_id, user_id } }];
    }
    case 'room_invitation_ended': {
      const { room_id, user_id, reason } = event.data;
      return [{ to: toUser(user_id), frame: 'ROOM_INVITE_ENDED', data: { chat_room_id: room_id, reason } }];
    }
    case 'message_pinned':
    case 'message_unpinned': {
      const { room_id, message_id, seq } = event.data;
      const [pinned, by, at] =
        event.type === 'message_pinned'
          ? [true, event.data.pinned_by, event.data.pinned_at]
          : [false, event.data.unpinned_by, event.data.unpinned_at];
      return [{ to: toRoom(room_id), frame: 'PIN_UPDATED', data: { chat_room_id: room_id, message_id, seq, pinned, by, at } }];
    }
    case 'member_role_changed': {
      const { room_id, user_id, role, changed_by } = event.data;
      return [{ to: toRoom(room_id), frame: 'MEMBER_UPDATED', data: { chat_room_id: room_id, user_id, role, changed_by } }];
    }
    case 'user_left_room': {
      // The members who stay see it as room members; the one who left is no
      // longer one, and sees it as theirs.
      const { room_id, user_id, removed_by } = event.data;
      const data = { chat_room_id: room_id, user_id, removed_by };
      return [
        { to: toRoom(room_id), frame: 'MEMBER_REMOVED', data },
        { to: toUser(user_id), frame: 'MEMBER_REMOVED', data },
      ];
    }
    case 'friend_request_sent':
    case 'friend_request_accepted':
    case 'friend_request_rejected':
    case 'friend_request_cancelled': {
      const frame = event.type === 'friend_request_sent' ? 'FRIEND_REQUEST' : 'FRIEND_REQUEST_UPDATED';
      const { request_id, from_user_id, to_user_id } = event.data;
      return [to_user_id, from_user_id].map((user) => ({ to: toUser(user), frame, data: { request_id } }));
    }
    case 'friendship_ended': {
      const { user_a, user_b, by_user_id } = event.data;
      return [
        { to: toUser(user_a), frame: 'FRIEND_REMOVED', data: { user_id: user_b, by_user_id } },
        { to: toUser(user_b), frame: 'FRIEND_REMOVED', data: { user_id: user_a, by_user_id } },
      ];
    }
    case 'user_blocked':
    case 'user_unblocked': {
      // Only the blocker's own devices learn of it.
      const { blocker_id, blocked_id } = event.data;
      return [
        { to: toUser(blocker_id), frame: 'BLOCK_UPDATED', data: { user_id: blocked_id, blocked: event.type === 'user_blocked' } },
      ];
    }
    case 'webhook_paused': {
      // The webhook's creator learns that deliveries stopped (most often: its receiver kept failing).
      const { webhook_id, reason, error, created_by } = event.data;
      return [{ to: toUser(created_by), frame: 'WEBHOOK_PAUSED', data: { webhook_id, reason, error } }];
    }
    // No frame, on the socket or in the feed: a banned member's removal is its
    // user_left_room (managers read bans over REST); a new room reaches its
    // members as MEMBER_ADDED; profiles are read over REST; reservations are
    // internal; a suspension ends the account's sessions, which closes its
    // sockets; push subscriptions are the pusher's; moderators read reports
    // over REST; admins read webhooks and bots' tokens over REST.
    case 'member_banned':
    case 'member_unbanned':
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
    case 'bot_token_issued':
    case 'bot_token_revoked':
    case 'email_confirmed':
    case 'messages_expired':
    case 'value_reserved':
    case 'value_released':
    case 'room_created':
    case 'webhook_created':
    case 'webhook_resumed':
    case 'webhook_replay_requested':
    case 'webhook_deleted':
      return [];
    default:
      return assertNever(event);
  }
}

/** The feed's rows of a batch of applied events, in log order. */
export function syncRowsOf(applied: readonly AppliedEvent[]): (SyncChangesTable & Record<string, Cell>)[] {
  const rows: (SyncChangesTable & Record<string, Cell>)[] = [];
  for (const { event, record } of applied) {
    syncChangesOf(event as AnyEvent).forEach((change, idx) =>
      rows.push({
        log_partition: record.partition,
        log_offset: record.offset,
        idx,
        room_id: 'room_id' in change.to ? change.to.room_id : null,
        user_id: 'user_id' in change.to ? change.to.user_id : null,
        frame: change.frame,
        data: JSON.stringify(change.data),
        appended_at: record.timestamp,
      }),
    );
  }
  return rows;
}

export async function insertSyncChanges(trx: Transaction<Database>, applied: readonly AppliedEvent[]): Promise<void> {
  await insertRows(trx, 'sync_changes', syncRowsOf(applied));
}
