// The event types a webhook may subscribe to: the chat's and the accounts'
// facts, as the log names them (API.md "Webhooks"). Left out: the log's
// bookkeeping (reservations of usernames and emails), devices' push
// subscriptions (endpoints and keys that reach a person's phone) and the
// webhooks' own events (URLs that may hold a credential). A new event type
// must be listed here, one way or the other: the compiler asks.

import type { EventType } from '../domain/aggregates.ts';

const deliverable = {
  user_registered: true,
  user_profile_updated: true,
  user_deleted: true,
  password_changed: true,
  email_confirmed: true,
  user_suspended: true,
  user_suspension_lifted: true,
  admin_granted: true,
  admin_revoked: true,
  bot_token_issued: true,
  bot_token_revoked: true,
  room_created: true,
  room_updated: true,
  room_closed: true,
  room_reopened: true,
  slow_mode_set: true,
  user_joined_room: true,
  user_left_room: true,
  user_invited_to_room: true,
  room_invitation_ended: true,
  member_role_changed: true,
  member_banned: true,
  member_unbanned: true,
  member_muted: true,
  member_unmuted: true,
  message_sent: true,
  message_edited: true,
  message_deleted: true,
  messages_expired: true,
  reaction_added: true,
  reaction_removed: true,
  message_pinned: true,
  message_unpinned: true,
  messages_read: true,
  messages_delivered: true,
  thread_followed: true,
  thread_unfollowed: true,
  thread_read: true,
  notifications_set: true,
  friend_request_sent: true,
  friend_request_accepted: true,
  friend_request_rejected: true,
  friend_request_cancelled: true,
  friendship_ended: true,
  user_blocked: true,
  user_unblocked: true,
  report_filed: true,
  report_resolved: true,
  value_reserved: false,
  value_released: false,
  push_subscription_added: false,
  push_subscription_removed: false,
  webhook_created: false,
  webhook_paused: false,
  webhook_resumed: false,
  webhook_replay_requested: false,
  webhook_deleted: false,
} as const satisfies Record<EventType, boolean>;

export const deliverableEventTypes = Object.entries(deliverable)
  .filter(([, allowed]) => allowed)
  .map(([type]) => type as EventType);
