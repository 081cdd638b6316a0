// Realistic data for every domain event type and every signal type, for the
// codec and schema tests. The mapped types tie them to the domain and to
// src/log/signals.ts: a new type without samples, or a sample missing (or
// inventing) a field, is a compile error.

import type { AnyEvent, EventType } from '../domain/aggregates.ts';
import type { AnySignal, SignalType } from './signals.ts';

type DataOf<T extends EventType> = Extract<AnyEvent, { type: T }>['data'];
export type EventSamples = { [T in EventType]: [DataOf<T>, ...DataOf<T>[]] };
type SignalDataOf<T extends SignalType> = Extract<AnySignal, { type: T }>['data'];
export type SignalSamples = { [T in SignalType]: [SignalDataOf<T>, ...SignalDataOf<T>[]] };

const at = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const alice = '0199e1c4-5a7b-7c3d-8e9f-0a1b2c3d4e5f';
const bob = '0199e1c4-5a7b-7c3d-8e9f-1a1b2c3d4e5f';
const carol = '0199e1c4-5a7b-7c3d-8e9f-2a1b2c3d4e5f';
const deployBot = '0199e1c4-5a7b-7c3d-8e9f-3a1b2c3d4e5f';
const room = '0199e1c4-6000-7000-8000-00000000a001';
const direct = '0199e1c4-6000-7000-8000-00000000a002';
const firstMessage = '0199e1c4-7000-7000-8000-00000000b001';
const request = '0199e1c4-8000-7000-8000-00000000c001';
const webhook = '0199e1c4-9000-7000-8000-00000000f100';

export const eventSamples: EventSamples = {
  user_registered: [
    {
      user_id: alice,
      username: 'alice',
      email: 'alice@example.org',
      display_name: 'Alice 👩‍💻 Ångström',
      created_at: at,
      bot: false,
      created_by: null,
    },
    {
      user_id: bob,
      username: 'يوسف',
      email: 'yusuf@例え.jp',
      display_name: 'يوسف الأحمد',
      created_at: at + 1,
      bot: false,
      created_by: null,
    },
    {
      user_id: deployBot,
      username: 'deploy_bot',
      email: '',
      display_name: 'Deploys 🤖',
      created_at: at + 1,
      bot: true,
      created_by: alice,
    },
  ],
  user_profile_updated: [
    {
      user_id: alice,
      display_name: 'Alice 🏳️‍🌈',
      bio: 'Builds chat backends.\nשלום עולם',
      avatar_url: null,
      changed: ['display_name', 'bio', 'avatar_url'],
      updated_at: at + 2,
    },
    {
      user_id: bob,
      display_name: null,
      bio: null,
      avatar_url: 'https://cdn.example.org/a/b.png',
      changed: ['avatar_url'],
      updated_at: at + 3,
    },
    { user_id: bob, display_name: null, bio: null, avatar_url: null, changed: [], updated_at: at + 4 },
  ],
  value_reserved: [
    { kind: 'username', value: 'Alice', owner_id: alice, reserved_at: at },
    { kind: 'email', value: 'yusuf@例え.jp', owner_id: bob, reserved_at: at },
  ],
  value_released: [
    { kind: 'username', value: 'Alice', owner_id: alice, released_at: at + 5, available_at: at + 5 },
    { kind: 'username', value: 'bob', owner_id: bob, released_at: at + 5, available_at: at + 30 * 86_400_000 },
  ],
  user_deleted: [
    { user_id: bob, deleted_at: at + 6, deleted_by: null, action_id: null },
    { user_id: deployBot, deleted_at: at + 13, deleted_by: alice, action_id: '0199e1c4-9000-7000-8000-00000000f206' },
  ],
  user_suspended: [
    {
      user_id: bob,
      until: null,
      reason: 'spam — 3 reports',
      action_id: '0199e1c4-9000-7000-8000-00000000d001',
      suspended_by: alice,
      suspended_at: at + 6,
    },
    {
      user_id: carol,
      until: at + 86_400_000,
      reason: '',
      action_id: '0199e1c4-9000-7000-8000-00000000d002',
      suspended_by: alice,
      suspended_at: at + 6,
    },
  ],
  user_suspension_lifted: [
    { user_id: bob, action_id: '0199e1c4-9000-7000-8000-00000000d003', lifted_by: alice, lifted_at: at + 7 },
  ],
  push_subscription_added: [
    {
      user_id: alice,
      subscription_id: '3f1c0a9e5b7d4e2f8a6c1b0d9e8f7a6b',
      endpoint: 'https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH',
      p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
      auth: 'tBHItJI5svbpez7KI4CCXg',
      added_at: at + 6,
    },
  ],
  push_subscription_removed: [
    { user_id: alice, subscription_id: '3f1c0a9e5b7d4e2f8a6c1b0d9e8f7a6b', reason: 'expired', removed_at: at + 7 },
  ],
  report_filed: [
    {
      report_id: '0199e1c4-9000-7000-8000-00000000e001',
      reporter_id: alice,
      target_user_id: bob,
      room_id: room,
      message_id: '0199e1c4-9000-7000-8000-00000000e002',
      reason: 'spam — links to a phishing site',
      filed_at: at + 8,
    },
    {
      report_id: '0199e1c4-9000-7000-8000-00000000e003',
      reporter_id: bob,
      target_user_id: carol,
      room_id: null,
      message_id: null,
      reason: '',
      filed_at: at + 8,
    },
  ],
  report_resolved: [
    { report_id: '0199e1c4-9000-7000-8000-00000000e001', resolution: 'actioned', resolved_by: carol, resolved_at: at + 9 },
  ],
  admin_granted: [
    { user_id: alice, action_id: '0199e1c4-9000-7000-8000-00000000f001', granted_by: null, granted_at: at + 9 },
    { user_id: bob, action_id: '0199e1c4-9000-7000-8000-00000000f002', granted_by: alice, granted_at: at + 9 },
  ],
  admin_revoked: [{ user_id: bob, action_id: '0199e1c4-9000-7000-8000-00000000f003', revoked_by: null, revoked_at: at + 10 }],
  password_changed: [{ user_id: alice, changed_at: at + 7 }],
  bot_token_issued: [
    {
      user_id: deployBot,
      token_id: '0199e1c4-9000-7000-8000-00000000f201',
      name: 'deploys 🚀',
      room_ids: [room],
      action_id: '0199e1c4-9000-7000-8000-00000000f202',
      issued_by: alice,
      issued_at: at + 11,
    },
    {
      user_id: deployBot,
      token_id: '0199e1c4-9000-7000-8000-00000000f203',
      name: 'everywhere',
      room_ids: null,
      action_id: '0199e1c4-9000-7000-8000-00000000f204',
      issued_by: alice,
      issued_at: at + 11,
    },
  ],
  bot_token_revoked: [
    {
      user_id: deployBot,
      token_id: '0199e1c4-9000-7000-8000-00000000f201',
      action_id: '0199e1c4-9000-7000-8000-00000000f205',
      revoked_by: alice,
      revoked_at: at + 12,
    },
  ],
  webhook_created: [
    {
      webhook_id: webhook,
      action_id: '0199e1c4-9000-7000-8000-00000000f101',
      url: 'https://hooks.example.org/parley/T0001?token=s3cr3t',
      events: ['message_sent', 'message_edited'],
      room_id: room,
      created_by: alice,
      created_at: at + 11,
    },
    {
      webhook_id: '0199e1c4-9000-7000-8000-00000000f200',
      action_id: '0199e1c4-9000-7000-8000-00000000f102',
      url: 'http://10.0.0.7:8080/',
      events: ['user_registered'],
      room_id: null,
      created_by: bob,
      created_at: at + 11,
    },
  ],
  webhook_paused: [
    {
      webhook_id: webhook,
      action_id: '0199e1c4-9000-7000-8000-00000000f103',
      reason: 'failing',
      error: 'HTTP 503 for 24 h',
      paused_by: null,
      paused_at: at + 12,
      created_by: alice,
    },
    {
      webhook_id: webhook,
      action_id: '0199e1c4-9000-7000-8000-00000000f104',
      reason: 'admin',
      error: null,
      paused_by: alice,
      paused_at: at + 12,
      created_by: alice,
    },
  ],
  webhook_resumed: [
    { webhook_id: webhook, action_id: '0199e1c4-9000-7000-8000-00000000f105', resumed_by: alice, resumed_at: at + 13 },
  ],
  webhook_replay_requested: [
    {
      webhook_id: webhook,
      action_id: '0199e1c4-9000-7000-8000-00000000f106',
      from_time: at,
      requested_by: alice,
      requested_at: at + 14,
    },
  ],
  webhook_deleted: [
    { webhook_id: webhook, action_id: '0199e1c4-9000-7000-8000-00000000f107', deleted_by: alice, deleted_at: at + 15 },
  ],
  email_confirmed: [{ user_id: alice, email: 'alice@例え.jp', confirmed_at: at + 8 }],
  room_created: [
    { room_id: room, type: 'group', name: 'Équipe 🚀 فريق', created_by: alice, created_at: at },
    { room_id: bob, type: 'direct', name: '', created_by: bob, created_at: at },
  ],
  user_joined_room: [
    { room_id: room, user_id: alice, role: 'owner', added_by: alice, joined_at: at },
    { room_id: room, user_id: bob, role: 'admin', added_by: alice, joined_at: at + 1 },
  ],
  user_invited_to_room: [
    { room_id: room, user_id: bob, role: 'member', invited_by: alice, invited_at: at + 2 },
    { room_id: room, user_id: alice, role: 'admin', invited_by: bob, invited_at: at + 3 },
  ],
  room_invitation_ended: [
    { room_id: room, user_id: bob, reason: 'declined', ended_by: bob, ended_at: at + 4 },
    { room_id: room, user_id: bob, reason: 'withdrawn', ended_by: alice, ended_at: at + 5 },
  ],
  user_left_room: [
    { room_id: room, user_id: bob, removed_by: bob, left_at: at + 9 },
    { room_id: room, user_id: bob, removed_by: alice, left_at: at + 10 },
  ],
  message_sent: [
    {
      room_id: room,
      message_id: '0199e1c4-7000-7000-8000-00000000b001',
      seq: 1,
      sender_id: alice,
      client_msg_id: 'c-1',
      // ZWJ family, skin tone, flag, RTL with a mark, combining accent.
      content: 'Hi 👨‍👩‍👧‍👦👍🏽🇳🇴 — مرحبا بكم\u200f! שלום. e\u0301',
      mime_type: 'text/plain',
      reply_to: null,
      attachments: [],
      mentions: [],
      created_at: at + 20,
    },
    {
      room_id: room,
      message_id: '0199e1c4-7000-7000-8000-00000000b002',
      seq: 9_007_199_254_740_990, // the largest long avsc maps to a number (2^53 − 2)
      sender_id: bob,
      client_msg_id: 'c-2',
      content: '',
      mime_type: 'text/markdown',
      reply_to: '0199e1c4-7000-7000-8000-00000000b001',
      attachments: [
        { url: 'https://cdn.example.org/f/1.png', mime_type: 'image/png', bytes: 48_213, name: 'screen 📸.png' },
        { url: 'https://cdn.example.org/f/2.mp4', mime_type: 'video/mp4', bytes: 5_368_709_120, name: null },
      ],
      mentions: [alice, carol],
      created_at: at + 21,
    },
  ],
  messages_expired: [{ room_id: room, up_to_seq: 2, expired_at: at + 40 }],
  room_updated: [
    {
      room_id: room,
      name: 'Équipe 🚀 فريق',
      topic: 'Releases, every Thursday\nנא לא לשלוח ספאם',
      retention_days: 30,
      updated_by: alice,
      updated_at: at + 30,
    },
    { room_id: room, name: '', topic: '', retention_days: null, updated_by: bob, updated_at: at + 31 },
  ],
  member_role_changed: [
    { room_id: room, user_id: bob, role: 'owner', changed_by: alice, changed_at: at + 32 },
    { room_id: room, user_id: alice, role: 'member', changed_by: alice, changed_at: at + 33 },
  ],
  message_edited: [
    {
      room_id: room,
      message_id: firstMessage,
      seq: 1,
      content: 'Hi again 👋🏿, @bob and @carol — تعديل',
      mentions: [bob, carol],
      edited_by: alice,
      edited_at: at + 40,
    },
    {
      room_id: room,
      message_id: firstMessage,
      seq: 9_007_199_254_740_990,
      content: '',
      mentions: [],
      edited_by: alice,
      edited_at: at + 41,
    },
  ],
  message_deleted: [
    { room_id: room, message_id: firstMessage, seq: 1, deleted_by: alice, deleted_at: at + 42 },
    { room_id: room, message_id: firstMessage, seq: 2, deleted_by: bob, deleted_at: at + 43 },
  ],
  reaction_added: [
    { room_id: room, message_id: firstMessage, seq: 1, emoji: '👍🏽', user_id: bob, at: at + 44 },
    { room_id: room, message_id: firstMessage, seq: 1, emoji: '👨‍👩‍👧‍👦', user_id: carol, at: at + 45 },
  ],
  reaction_removed: [{ room_id: room, message_id: firstMessage, seq: 1, emoji: '👍🏽', user_id: bob, at: at + 46 }],
  message_pinned: [{ room_id: room, message_id: firstMessage, seq: 1, pinned_by: bob, pinned_at: at + 46 }],
  message_unpinned: [{ room_id: room, message_id: firstMessage, seq: 1, unpinned_by: carol, unpinned_at: at + 46 }],
  messages_read: [
    { room_id: room, user_id: bob, seq: 1, at: at + 47 },
    { room_id: room, user_id: carol, seq: 9_007_199_254_740_990, at: at + 48 },
  ],
  messages_delivered: [{ room_id: room, user_id: carol, seq: 2, at: at + 48 }],
  notifications_set: [
    { room_id: room, user_id: bob, level: 'mentions', muted_until: null, at: at + 49 },
    { room_id: room, user_id: carol, level: 'none', muted_until: at + 86_400_000, at: at + 49 },
  ],
  thread_followed: [{ room_id: room, message_id: firstMessage, user_id: carol, at: at + 49 }],
  thread_unfollowed: [{ room_id: room, message_id: firstMessage, user_id: carol, at: at + 49 }],
  thread_read: [{ room_id: room, message_id: firstMessage, user_id: bob, seq: 9_007_199_254_740_990, at: at + 49 }],
  member_banned: [{ room_id: room, user_id: carol, banned_by: alice, banned_at: at + 49 }],
  member_unbanned: [{ room_id: room, user_id: carol, unbanned_by: alice, unbanned_at: at + 49 }],
  member_muted: [{ room_id: room, user_id: bob, until: at + 3_600_000, muted_by: alice, muted_at: at + 49 }],
  member_unmuted: [{ room_id: room, user_id: bob, unmuted_by: alice, unmuted_at: at + 49 }],
  slow_mode_set: [{ room_id: room, interval_s: 30, set_by: alice, set_at: at + 49 }],
  room_closed: [{ room_id: direct, at: at + 50 }],
  room_reopened: [{ room_id: direct, at: at + 51 }],
  friend_request_sent: [{ request_id: request, from_user_id: alice, to_user_id: bob, created_at: at + 60 }],
  friend_request_accepted: [{ request_id: request, from_user_id: alice, to_user_id: bob, by_user_id: bob, at: at + 61 }],
  friend_request_rejected: [{ request_id: request, from_user_id: bob, to_user_id: alice, by_user_id: alice, at: at + 62 }],
  friend_request_cancelled: [{ request_id: request, from_user_id: alice, to_user_id: carol, by_user_id: alice, at: at + 63 }],
  friendship_ended: [{ user_a: alice, user_b: bob, by_user_id: bob, at: at + 64 }],
  user_blocked: [{ blocker_id: bob, blocked_id: alice, at: at + 65 }],
  user_unblocked: [{ blocker_id: bob, blocked_id: alice, at: at + 66 }],
};

export const signalSamples: SignalSamples = {
  typing_started: [{ room_id: room, user_id: alice, at: at + 70 }],
  typing_stopped: [{ room_id: room, user_id: alice, at: at + 71 }],
  user_online: [{ user_id: bob, at: at + 72 }],
  user_offline: [{ user_id: bob, at: at + 73 }],
  room_view_started: [
    { room_id: room, user_id: carol, session_id: 'ws-0199e1c4-9000-7000-8000-00000000d001', at: at + 74 },
    { room_id: direct, user_id: carol, session_id: 'ws-0199e1c4-9000-7000-8000-00000000d002', at: at + 75 },
  ],
  room_view_ended: [{ room_id: room, user_id: carol, session_id: 'ws-0199e1c4-9000-7000-8000-00000000d001', at: at + 76 }],
};
