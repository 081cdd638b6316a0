// Realistic data for every domain event type, for the codec and schema tests.
// The mapped type ties it to the domain: a new event type without samples, or
// a sample missing (or inventing) a field, is a compile error.

import type { AnyEvent, EventType } from '../domain/aggregates.ts';

type DataOf<T extends EventType> = Extract<AnyEvent, { type: T }>['data'];
export type EventSamples = { [T in EventType]: [DataOf<T>, ...DataOf<T>[]] };

const at = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const alice = '0199e1c4-5a7b-7c3d-8e9f-0a1b2c3d4e5f';
const bob = '0199e1c4-5a7b-7c3d-8e9f-1a1b2c3d4e5f';
const room = '0199e1c4-6000-7000-8000-00000000a001';

export const eventSamples: EventSamples = {
  user_registered: [
    {
      user_id: alice,
      username: 'alice',
      email: 'alice@example.org',
      password_hash: '$2b$12$KIXQJQ1v6n3Vf4r6lq9hUe0Z6b1mN3dO2y7pQ8sT9uV0wX1yZ2a3b',
      display_name: 'Alice 👩‍💻 Ångström',
      created_at: at,
    },
    {
      user_id: bob,
      username: 'يوسف',
      email: 'yusuf@例え.jp',
      password_hash: '$2b$12$abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUV0123456789',
      display_name: 'يوسف الأحمد',
      created_at: at + 1,
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
    { user_id: bob, display_name: null, bio: null, avatar_url: 'https://cdn.example.org/a/b.png', changed: ['avatar_url'], updated_at: at + 3 },
    { user_id: bob, display_name: null, bio: null, avatar_url: null, changed: [], updated_at: at + 4 },
  ],
  value_reserved: [
    { kind: 'username', value: 'Alice', owner_id: alice, reserved_at: at },
    { kind: 'email', value: 'yusuf@例え.jp', owner_id: bob, reserved_at: at },
  ],
  value_released: [{ kind: 'username', value: 'Alice', owner_id: alice, released_at: at + 5 }],
  room_created: [
    { room_id: room, type: 'group', name: 'Équipe 🚀 فريق', created_by: alice, created_at: at },
    { room_id: bob, type: 'direct', name: '', created_by: bob, created_at: at },
  ],
  user_joined_room: [
    { room_id: room, user_id: alice, role: 'owner', added_by: alice, joined_at: at },
    { room_id: room, user_id: bob, role: 'admin', added_by: alice, joined_at: at + 1 },
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
      created_at: at + 21,
    },
  ],
};
