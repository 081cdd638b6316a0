// The room's rules, one given/when/then each: who may create, join, leave and
// post, how messages are numbered and de-duplicated, who may rename the room,
// change roles, edit, delete and react, how far members have read, and how the
// system closes and reopens a direct room.

import { describe, it, expect } from 'vitest';
import { replay, type CommandMetadata } from './decider.ts';
import {
  roomDecider,
  type AddMember,
  type ChangeRole,
  type CloseRoom,
  type CreateRoom,
  type DeleteMessage,
  type EditMessage,
  type ExpireMessages,
  type MarkRead,
  type MarkDelivered,
  type FollowThread,
  type MarkThreadRead,
  type SetNotifications,
  type NotificationsSet,
  type ThreadRead,
  type MessagesDelivered,
  type MemberRoleChanged,
  type MessagePinned,
  type MessageUnpinned,
  type PinMessage,
  type MessageDeleted,
  type MessageEdited,
  type MessageSent,
  type MessagesRead,
  type React,
  type ReactionAdded,
  type ReactionRemoved,
  type RemoveMember,
  type ReopenRoom,
  type Role,
  type RoomClosed,
  type RoomCreated,
  type RoomEvent,
  type RoomReopened,
  type RoomType,
  type RoomUpdated,
  type SendMessage,
  type UpdateRoom,
  type UserJoinedRoom,
  type UserLeftRoom,
} from './room.ts';
import { given } from './testing/given-when-then.ts';

const room_id = 'room-1';
const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;

const meta = (user_id: string | null, at: number): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

// ── commands ────────────────────────────────────────────────────────────────

const createRoom = (by: string | null, member_ids: string[] = [], type: RoomType = 'group'): CreateRoom => ({
  type: 'create_room',
  data: { room_id, type, name: 'General', member_ids },
  metadata: meta(by, T1),
});

const addMember = (by: string, user_id: string, role: Role = 'member'): AddMember => ({
  type: 'add_member',
  data: { room_id, user_id, role },
  metadata: meta(by, T1),
});

const removeMember = (by: string, user_id: string): RemoveMember => ({
  type: 'remove_member',
  data: { room_id, user_id },
  metadata: meta(by, T1),
});

interface MessageOptions {
  message_id?: string;
  content?: string;
  reply_to?: string | null;
  mentions?: string[];
  at?: number;
}

const send = (by: string | null, client_msg_id: string, o: MessageOptions = {}): SendMessage => ({
  type: 'send_message',
  data: {
    room_id,
    message_id: o.message_id ?? `msg-${by}-${client_msg_id}`,
    client_msg_id,
    content: o.content ?? 'hello',
    mime_type: 'text/plain',
    reply_to: o.reply_to ?? null,
    attachments: [],
    ...(o.mentions === undefined ? {} : { mentions: o.mentions }),
  },
  metadata: meta(by, o.at ?? T1),
});

const updateRoom = (
  by: string | null,
  changes: { name?: string; topic?: string; retention_days?: number | null },
): UpdateRoom => ({
  type: 'update_room',
  data: { room_id, ...changes },
  metadata: meta(by, T1),
});

const changeRole = (by: string | null, user_id: string, role: Role): ChangeRole => ({
  type: 'change_role',
  data: { room_id, user_id, role },
  metadata: meta(by, T1),
});

const edit = (by: string | null, message_id: string, content = 'edited', mentions?: string[]): EditMessage => ({
  type: 'edit_message',
  data: { room_id, message_id, content, ...(mentions === undefined ? {} : { mentions }) },
  metadata: meta(by, T1),
});

const del = (by: string | null, message_id: string): DeleteMessage => ({
  type: 'delete_message',
  data: { room_id, message_id },
  metadata: meta(by, T1),
});

const react = (by: string | null, message_id: string, emoji: string, add = true): React => ({
  type: 'react',
  data: { room_id, message_id, emoji, add },
  metadata: meta(by, T1),
});

const pin = (by: string | null, message_id: string, pinned = true, max_pins = 3): PinMessage => ({
  type: 'pin_message',
  data: { room_id, message_id, pinned, max_pins },
  metadata: meta(by, T1),
});

const markRead = (by: string | null, seq: number): MarkRead => ({
  type: 'mark_read',
  data: { room_id, seq },
  metadata: meta(by, T1),
});

const markDelivered = (by: string | null, seq: number): MarkDelivered => ({
  type: 'mark_delivered',
  data: { room_id, seq },
  metadata: meta(by, T1),
});

const followThread = (by: string | null, message_id: string, following = true): FollowThread => ({
  type: 'follow_thread',
  data: { room_id, message_id, following },
  metadata: meta(by, T1),
});

const setNotifications = (
  by: string | null,
  level: 'all' | 'mentions' | 'none',
  muted_until: number | null = null,
): SetNotifications => ({
  type: 'set_notifications',
  data: { room_id, level, muted_until },
  metadata: meta(by, T1),
});

const notificationsSet = (
  user_id: string,
  level: 'all' | 'mentions' | 'none',
  muted_until: number | null = null,
): NotificationsSet => ({
  type: 'notifications_set',
  data: { room_id, user_id, level, muted_until, at: T1 },
});

const markThreadRead = (by: string | null, message_id: string, seq: number): MarkThreadRead => ({
  type: 'mark_thread_read',
  data: { room_id, message_id, seq },
  metadata: meta(by, T1),
});

const closeRoom = (by: string | null = null): CloseRoom => ({ type: 'close_room', data: { room_id }, metadata: meta(by, T1) });
const reopenRoom = (by: string | null = null): ReopenRoom => ({ type: 'reopen_room', data: { room_id }, metadata: meta(by, T1) });

// ── events ──────────────────────────────────────────────────────────────────

const created = (by: string, at = T0, type: RoomType = 'group'): RoomCreated => ({
  type: 'room_created',
  data: { room_id, type, name: 'General', created_by: by, created_at: at },
});

const joined = (user_id: string, role: Role, added_by: string, at = T0): UserJoinedRoom => ({
  type: 'user_joined_room',
  data: { room_id, user_id, role, added_by, joined_at: at },
});

const left = (user_id: string, removed_by: string, at = T1): UserLeftRoom => ({
  type: 'user_left_room',
  data: { room_id, user_id, removed_by, left_at: at },
});

const sent = (seq: number, by: string, client_msg_id: string, o: MessageOptions = {}): MessageSent => ({
  type: 'message_sent',
  data: {
    room_id,
    message_id: o.message_id ?? `msg-${by}-${client_msg_id}`,
    seq,
    sender_id: by,
    client_msg_id,
    content: o.content ?? 'hello',
    mime_type: 'text/plain',
    reply_to: o.reply_to ?? null,
    attachments: [],
    mentions: o.mentions ?? [],
    created_at: o.at ?? T0,
  },
});

const roomUpdated = (name: string, topic: string, by: string, at = T1): RoomUpdated => ({
  type: 'room_updated',
  data: { room_id, name, topic, retention_days: null, updated_by: by, updated_at: at },
});

const roleChanged = (user_id: string, role: Role, by: string, at = T1): MemberRoleChanged => ({
  type: 'member_role_changed',
  data: { room_id, user_id, role, changed_by: by, changed_at: at },
});

const edited = (
  message_id: string,
  seq: number,
  by: string,
  content = 'edited',
  mentions: string[] = [],
  at = T1,
): MessageEdited => ({
  type: 'message_edited',
  data: { room_id, message_id, seq, content, mentions, edited_by: by, edited_at: at },
});

const deleted = (message_id: string, seq: number, by: string, at = T1): MessageDeleted => ({
  type: 'message_deleted',
  data: { room_id, message_id, seq, deleted_by: by, deleted_at: at },
});

const reactionAdded = (message_id: string, seq: number, emoji: string, user_id: string, at = T1): ReactionAdded => ({
  type: 'reaction_added',
  data: { room_id, message_id, seq, emoji, user_id, at },
});

const reactionRemoved = (message_id: string, seq: number, emoji: string, user_id: string, at = T1): ReactionRemoved => ({
  type: 'reaction_removed',
  data: { room_id, message_id, seq, emoji, user_id, at },
});

const pinned = (message_id: string, seq: number, by: string, at = T1): MessagePinned => ({
  type: 'message_pinned',
  data: { room_id, message_id, seq, pinned_by: by, pinned_at: at },
});

const unpinned = (message_id: string, seq: number, by: string, at = T1): MessageUnpinned => ({
  type: 'message_unpinned',
  data: { room_id, message_id, seq, unpinned_by: by, unpinned_at: at },
});

const read = (user_id: string, seq: number, at = T1): MessagesRead => ({
  type: 'messages_read',
  data: { room_id, user_id, seq, at },
});

const delivered = (user_id: string, seq: number, at = T1): MessagesDelivered => ({
  type: 'messages_delivered',
  data: { room_id, user_id, seq, at },
});

const threadRead = (user_id: string, message_id: string, seq: number, at = T1): ThreadRead => ({
  type: 'thread_read',
  data: { room_id, message_id, user_id, seq, at },
});

const closed = (at = T1): RoomClosed => ({ type: 'room_closed', data: { room_id, at } });
const reopened = (at = T1): RoomReopened => ({ type: 'room_reopened', data: { room_id, at } });

/** A group room: alice owns it, carol is an admin, bob and dave are members. */
const aRoom: RoomEvent[] = [
  created('alice'),
  joined('alice', 'owner', 'alice'),
  joined('bob', 'member', 'alice'),
  joined('carol', 'admin', 'alice'),
  joined('dave', 'member', 'alice'),
];

/** A direct room between alice and bob, opened by alice. */
const aDirectRoom: RoomEvent[] = [
  created('alice', T0, 'direct'),
  joined('alice', 'member', 'alice'),
  joined('bob', 'member', 'alice'),
];

/** aRoom with three messages: m1 by bob, m2 by alice (the owner), m3 by dave. */
const withMessages: RoomEvent[] = [
  ...aRoom,
  sent(1, 'bob', 'c1', { message_id: 'm1' }),
  sent(2, 'alice', 'c2', { message_id: 'm2' }),
  sent(3, 'dave', 'c3', { message_id: 'm3' }),
];

const stateAfter = (events: RoomEvent[]) => replay(roomDecider, events);

// ── create_room ─────────────────────────────────────────────────────────────

describe('create_room', () => {
  it('makes the creator the owner of a group room and the others members', () => {
    given(roomDecider, [])
      .when(createRoom('alice', ['bob', 'carol']))
      .then([
        created('alice', T1),
        joined('alice', 'owner', 'alice', T1),
        joined('bob', 'member', 'alice', T1),
        joined('carol', 'member', 'alice', T1),
      ]);
  });

  it('collapses duplicates in member_ids, keeping the first order', () => {
    given(roomDecider, [])
      .when(createRoom('alice', ['bob', 'carol', 'bob', 'carol', 'bob']))
      .then([
        created('alice', T1),
        joined('alice', 'owner', 'alice', T1),
        joined('bob', 'member', 'alice', T1),
        joined('carol', 'member', 'alice', T1),
      ]);
  });

  it('does not add the creator twice when they list themselves', () => {
    given(roomDecider, [])
      .when(createRoom('alice', ['alice', 'bob', 'alice']))
      .then([created('alice', T1), joined('alice', 'owner', 'alice', T1), joined('bob', 'member', 'alice', T1)]);
  });

  it('creates a room with only its owner when nobody else is listed', () => {
    given(roomDecider, [])
      .when(createRoom('alice'))
      .then([created('alice', T1), joined('alice', 'owner', 'alice', T1)]);
  });

  it('gives nobody ownership of a direct room', () => {
    given(roomDecider, [])
      .when(createRoom('alice', ['bob'], 'direct'))
      .then([created('alice', T1, 'direct'), joined('alice', 'member', 'alice', T1), joined('bob', 'member', 'alice', T1)]);
  });

  it('makes a direct room of the actor and one other user, whether or not the actor lists themselves', () => {
    const expected = [
      created('alice', T1, 'direct'),
      joined('alice', 'member', 'alice', T1),
      joined('bob', 'member', 'alice', T1),
    ];
    given(roomDecider, [])
      .when(createRoom('alice', ['alice', 'bob'], 'direct'))
      .then(expected);
    given(roomDecider, [])
      .when(createRoom('alice', ['bob', 'bob', 'alice'], 'direct'))
      .then(expected);
  });

  it('lets the system create a direct room for two users, the first of the pair as creator', () => {
    given(roomDecider, [])
      .when(createRoom(null, ['bob', 'alice'], 'direct'))
      .then([created('alice', T1, 'direct'), joined('alice', 'member', 'alice', T1), joined('bob', 'member', 'alice', T1)]);
  });

  it('refuses a direct room with fewer than two distinct users', () => {
    given(roomDecider, [])
      .when(createRoom('alice', [], 'direct'))
      .thenRejects('invalid_state');
    given(roomDecider, [])
      .when(createRoom('alice', ['alice', 'alice'], 'direct'))
      .thenRejects('invalid_state');
    given(roomDecider, [])
      .when(createRoom(null, ['bob'], 'direct'))
      .thenRejects('invalid_state');
    given(roomDecider, [])
      .when(createRoom(null, ['bob', 'bob'], 'direct'))
      .thenRejects('invalid_state');
    given(roomDecider, [])
      .when(createRoom(null, [], 'direct'))
      .thenRejects('invalid_state');
  });

  it('refuses a direct room with more than two users', () => {
    given(roomDecider, [])
      .when(createRoom('alice', ['bob', 'carol'], 'direct'))
      .thenRejects('invalid_state');
    given(roomDecider, [])
      .when(createRoom(null, ['alice', 'bob', 'carol'], 'direct'))
      .thenRejects('invalid_state');
  });

  it('answers a direct room asked for again with no events, whoever asks', () => {
    given(roomDecider, aDirectRoom)
      .when(createRoom('alice', ['bob'], 'direct'))
      .then([]);
    given(roomDecider, aDirectRoom)
      .when(createRoom('bob', ['alice'], 'direct'))
      .then([]);
    given(roomDecider, aDirectRoom)
      .when(createRoom(null, ['alice', 'bob'], 'direct'))
      .then([]);
  });

  it('creates a direct room closed when the system closed it before it existed', () => {
    given(roomDecider, [closed(T0)])
      .when(createRoom('alice', ['bob'], 'direct'))
      .then([
        created('alice', T1, 'direct'),
        joined('alice', 'member', 'alice', T1),
        joined('bob', 'member', 'alice', T1),
        closed(T1),
      ]);
  });

  it('creates a direct room open when it was closed and reopened before it existed', () => {
    given(roomDecider, [closed(T0), reopened(T0)])
      .when(createRoom('alice', ['bob'], 'direct'))
      .then([created('alice', T1, 'direct'), joined('alice', 'member', 'alice', T1), joined('bob', 'member', 'alice', T1)]);
  });

  it('refuses to create a room that already exists, even for its owner', () => {
    given(roomDecider, aRoom)
      .when(createRoom('alice', ['eve']))
      .thenRejects('already_exists');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, [])
      .when(createRoom(null, ['bob']))
      .thenRejects('forbidden');
  });
});

// ── add_member ──────────────────────────────────────────────────────────────

describe('add_member', () => {
  it('refuses to add anyone to a direct room', () => {
    given(roomDecider, aDirectRoom).when(addMember('alice', 'carol')).thenRejects('invalid_state');
    given(roomDecider, aDirectRoom)
      .when(addMember('bob', 'carol', 'owner'))
      .thenRejects('invalid_state');
  });

  it('hides a direct room from a third user', () => {
    given(roomDecider, aDirectRoom).when(addMember('carol', 'dave')).thenRejects('room_not_found');
  });

  it('lets the owner add a member', () => {
    given(roomDecider, aRoom)
      .when(addMember('alice', 'eve'))
      .then([joined('eve', 'member', 'alice', T1)]);
  });

  it('lets an admin add a member', () => {
    given(roomDecider, aRoom)
      .when(addMember('carol', 'eve'))
      .then([joined('eve', 'member', 'carol', T1)]);
  });

  it('lets an admin add another admin', () => {
    given(roomDecider, aRoom)
      .when(addMember('carol', 'eve', 'admin'))
      .then([joined('eve', 'admin', 'carol', T1)]);
  });

  it('refuses a plain member', () => {
    given(roomDecider, aRoom).when(addMember('bob', 'eve')).thenRejects('forbidden');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, aRoom).when(addMember('eve', 'frank')).thenRejects('room_not_found');
  });

  it('says room_not_found for a room that does not exist', () => {
    given(roomDecider, []).when(addMember('alice', 'eve')).thenRejects('room_not_found');
  });

  it('refuses to add someone who is already a member, whatever the role', () => {
    given(roomDecider, aRoom).when(addMember('alice', 'bob')).thenRejects('already_member');
    given(roomDecider, aRoom)
      .when(addMember('alice', 'bob', 'admin'))
      .thenRejects('already_member');
    given(roomDecider, aRoom)
      .when(addMember('alice', 'alice', 'owner'))
      .thenRejects('already_member');
  });

  it('lets only an owner add an owner', () => {
    given(roomDecider, aRoom)
      .when(addMember('carol', 'eve', 'owner'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(addMember('alice', 'eve', 'owner'))
      .then([joined('eve', 'owner', 'alice', T1)]);
  });

  it('lets someone who left be added again', () => {
    given(roomDecider, [...aRoom, left('bob', 'bob')])
      .when(addMember('alice', 'bob'))
      .then([joined('bob', 'member', 'alice', T1)]);
  });

  it('refuses a manager who has been removed', () => {
    given(roomDecider, [...aRoom, left('carol', 'alice')])
      .when(addMember('carol', 'eve'))
      .thenRejects('room_not_found');
  });
});

// ── remove_member ───────────────────────────────────────────────────────────

describe('remove_member', () => {
  it('lets a member leave on their own', () => {
    given(roomDecider, aRoom)
      .when(removeMember('bob', 'bob'))
      .then([left('bob', 'bob')]);
  });

  it('lets an admin leave on their own', () => {
    given(roomDecider, aRoom)
      .when(removeMember('carol', 'carol'))
      .then([left('carol', 'carol')]);
  });

  it('lets the owner remove a member', () => {
    given(roomDecider, aRoom)
      .when(removeMember('alice', 'bob'))
      .then([left('bob', 'alice')]);
  });

  it('lets the owner remove an admin', () => {
    given(roomDecider, aRoom)
      .when(removeMember('alice', 'carol'))
      .then([left('carol', 'alice')]);
  });

  it('lets an admin remove a member', () => {
    given(roomDecider, aRoom)
      .when(removeMember('carol', 'bob'))
      .then([left('bob', 'carol')]);
  });

  it('refuses a plain member removing someone else', () => {
    given(roomDecider, aRoom).when(removeMember('bob', 'dave')).thenRejects('forbidden');
  });

  it('refuses an admin removing an owner', () => {
    given(roomDecider, aRoom).when(removeMember('carol', 'alice')).thenRejects('forbidden');
  });

  it('lets an owner remove another owner', () => {
    given(roomDecider, [...aRoom, joined('eve', 'owner', 'alice')])
      .when(removeMember('eve', 'alice'))
      .then([left('alice', 'eve')]);
  });

  it('keeps the last owner from leaving while others remain', () => {
    given(roomDecider, aRoom).when(removeMember('alice', 'alice')).thenRejects('last_owner');
  });

  it('lets one of two owners leave', () => {
    given(roomDecider, [...aRoom, joined('eve', 'owner', 'alice')])
      .when(removeMember('alice', 'alice'))
      .then([left('alice', 'alice')]);
  });

  it('lets the owner leave once they are alone', () => {
    given(roomDecider, [...aRoom, left('bob', 'bob'), left('carol', 'alice'), left('dave', 'alice')])
      .when(removeMember('alice', 'alice'))
      .then([left('alice', 'alice')]);
  });

  it('says not_a_member for a target who is not in the room', () => {
    given(roomDecider, aRoom).when(removeMember('alice', 'eve')).thenRejects('not_a_member');
    given(roomDecider, [...aRoom, left('bob', 'bob')])
      .when(removeMember('alice', 'bob'))
      .thenRejects('not_a_member');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, aRoom).when(removeMember('eve', 'bob')).thenRejects('room_not_found');
    given(roomDecider, aRoom).when(removeMember('eve', 'eve')).thenRejects('room_not_found');
  });

  it('says room_not_found for a room that does not exist', () => {
    given(roomDecider, []).when(removeMember('alice', 'alice')).thenRejects('room_not_found');
  });

  it('refuses a member of a direct room leaving it: a direct room keeps its two members', () => {
    given(roomDecider, aDirectRoom).when(removeMember('bob', 'bob')).thenRejects('invalid_state');
  });

  it('refuses a member of a direct room removing the other', () => {
    given(roomDecider, aDirectRoom).when(removeMember('alice', 'bob')).thenRejects('invalid_state');
  });
});

// ── send_message ────────────────────────────────────────────────────────────

describe('send_message', () => {
  it('numbers the first message of a room 1', () => {
    given(roomDecider, aRoom)
      .when(send('bob', 'c1', { at: T1 }))
      .then([sent(1, 'bob', 'c1', { at: T1 })]);
  });

  it('numbers a message one after the last', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1'), sent(2, 'alice', 'c1')])
      .when(send('carol', 'c9'))
      .then([sent(3, 'carol', 'c9', { at: T1 })]);
  });

  it('answers a non-member exactly as if the room did not exist', () => {
    const toStranger = given(roomDecider, aRoom).when(send('eve', 'c1')).thenRejects('room_not_found');
    const toNowhere = given(roomDecider, []).when(send('eve', 'c1')).thenRejects('room_not_found');
    expect(toStranger.message).toBe(toNowhere.message);
  });

  it('yields no events for the same client_msg_id from the same sender', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1')])
      .when(send('bob', 'c1'))
      .then([]);
  });

  it('recognises a retry even with other content and after other messages', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1'), sent(2, 'alice', 'c2'), sent(3, 'bob', 'c3')])
      .when(send('bob', 'c1', { message_id: 'another-id', content: 'edited?' }))
      .then([]);
  });

  it('makes a new message for the same client_msg_id from another sender', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1')])
      .when(send('alice', 'c1'))
      .then([sent(2, 'alice', 'c1', { at: T1 })]);
  });

  it('accepts a reply to a message of this room', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1', { message_id: 'm1' })])
      .when(send('alice', 'c2', { reply_to: 'm1' }))
      .then([sent(2, 'alice', 'c2', { reply_to: 'm1', at: T1 })]);
  });

  it('refuses a reply to a message that is not in this room', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1', { message_id: 'm1' })])
      .when(send('alice', 'c2', { reply_to: 'm-elsewhere' }))
      .thenRejects('message_not_found');
  });

  it('refuses a reply in an empty room', () => {
    given(roomDecider, aRoom)
      .when(send('alice', 'c1', { reply_to: 'm1' }))
      .thenRejects('message_not_found');
  });

  it('stops a removed member from posting', () => {
    given(roomDecider, [...aRoom, left('bob', 'alice')])
      .when(send('bob', 'c1'))
      .thenRejects('room_not_found');
  });

  it('stops a member who left from posting, even a retry', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1'), left('bob', 'bob')])
      .when(send('bob', 'c1'))
      .thenRejects('room_not_found');
  });

  it('lets a member who was added back post again', () => {
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1'), left('bob', 'bob'), joined('bob', 'member', 'alice')])
      .when(send('bob', 'c2'))
      .then([sent(2, 'bob', 'c2', { at: T1 })]);
  });

  it('refuses a command without a user', () => {
    given(roomDecider, aRoom).when(send(null, 'c1')).thenRejects('forbidden');
  });

  it('carries the mentions it was given, and none when it was given none', () => {
    given(roomDecider, aRoom)
      .when(send('bob', 'c1', { mentions: ['alice', 'carol'] }))
      .then([sent(1, 'bob', 'c1', { mentions: ['alice', 'carol'], at: T1 })]);
    given(roomDecider, aRoom)
      .when(send('bob', 'c1'))
      .then([sent(1, 'bob', 'c1', { mentions: [], at: T1 })]);
  });

  it('lets both members of a direct room post', () => {
    given(roomDecider, aDirectRoom)
      .when(send('alice', 'c1'))
      .then([sent(1, 'alice', 'c1', { at: T1 })]);
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1')])
      .when(send('bob', 'c1'))
      .then([sent(2, 'bob', 'c1', { at: T1 })]);
  });

  it('refuses a new message in a closed room with blocked', () => {
    given(roomDecider, [...aDirectRoom, closed()])
      .when(send('alice', 'c1'))
      .thenRejects('blocked');
    given(roomDecider, [...aDirectRoom, closed()])
      .when(send('bob', 'c1'))
      .thenRejects('blocked');
  });

  it('still answers a retry of a message sent before the room closed with no events', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1'), closed()])
      .when(send('alice', 'c1'))
      .then([]);
  });

  it('takes messages again once the room is reopened, numbering on', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1'), closed(), reopened()])
      .when(send('bob', 'c2'))
      .then([sent(2, 'bob', 'c2', { at: T1 })]);
  });

  it('accepts a reply to a deleted message: its tombstone stays in the room', () => {
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(send('alice', 'c9', { reply_to: 'm1' }))
      .then([sent(4, 'alice', 'c9', { reply_to: 'm1', at: T1 })]);
  });

  it("moves the sender's own read position to their message", () => {
    const state = stateAfter([...aRoom, sent(1, 'bob', 'c1'), sent(2, 'alice', 'c2')]);
    expect(state.members.get('bob')!.last_read_seq).toBe(1);
    expect(state.members.get('alice')!.last_read_seq).toBe(2);
    expect(state.members.get('carol')!.last_read_seq).toBe(0);
    // So reading up to your own message is nothing new, while the others have it unread.
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1')])
      .when(markRead('bob', 1))
      .then([]);
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1')])
      .when(markRead('carol', 1))
      .then([read('carol', 1)]);
  });
});

// ── update_room ─────────────────────────────────────────────────────────────

describe('update_room', () => {
  it('lets the owner rename the room, keeping the topic', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('alice', { name: 'Random' }))
      .then([roomUpdated('Random', '', 'alice')]);
  });

  it('lets an admin set the topic, keeping the name', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('carol', { topic: 'Lunch plans' }))
      .then([roomUpdated('General', 'Lunch plans', 'carol')]);
  });

  it('changes name and topic at once', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('alice', { name: 'Random', topic: 'Anything goes' }))
      .then([roomUpdated('Random', 'Anything goes', 'alice')]);
  });

  it('keeps what an earlier update set', () => {
    given(roomDecider, [...aRoom, roomUpdated('Random', 'Anything goes', 'alice')])
      .when(updateRoom('carol', { name: 'Off-topic' }))
      .then([roomUpdated('Off-topic', 'Anything goes', 'carol')]);
  });

  it('lets the topic be cleared', () => {
    given(roomDecider, [...aRoom, roomUpdated('General', 'Anything goes', 'alice')])
      .when(updateRoom('alice', { topic: '' }))
      .then([roomUpdated('General', '', 'alice')]);
  });

  it('yields no events when nothing would change', () => {
    given(roomDecider, aRoom).when(updateRoom('alice', {})).then([]);
    given(roomDecider, aRoom)
      .when(updateRoom('alice', { name: 'General' }))
      .then([]);
    given(roomDecider, aRoom)
      .when(updateRoom('alice', { name: 'General', topic: '' }))
      .then([]);
    given(roomDecider, [...aRoom, roomUpdated('Random', 'Anything goes', 'alice')])
      .when(updateRoom('carol', { topic: 'Anything goes' }))
      .then([]);
  });

  it('refuses a plain member, even for a change that changes nothing', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('bob', { name: 'Mine' }))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(updateRoom('bob', { name: 'General' }))
      .thenRejects('forbidden');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('eve', { name: 'Mine' }))
      .thenRejects('room_not_found');
    given(roomDecider, [])
      .when(updateRoom('alice', { name: 'Mine' }))
      .thenRejects('room_not_found');
  });

  it('refuses to rename a direct room', () => {
    given(roomDecider, aDirectRoom)
      .when(updateRoom('alice', { name: 'Us' }))
      .thenRejects('invalid_state');
    given(roomDecider, aDirectRoom)
      .when(updateRoom('bob', { topic: 'Hi' }))
      .thenRejects('invalid_state');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, aRoom)
      .when(updateRoom(null, { name: 'Random' }))
      .thenRejects('forbidden');
  });
});

// ── change_role ─────────────────────────────────────────────────────────────

describe('change_role', () => {
  it('lets the owner promote a member to admin and demote an admin to member', () => {
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'bob', 'admin'))
      .then([roleChanged('bob', 'admin', 'alice')]);
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'carol', 'member'))
      .then([roleChanged('carol', 'member', 'alice')]);
  });

  it('lets the owner make a member or an admin owner', () => {
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'bob', 'owner'))
      .then([roleChanged('bob', 'owner', 'alice')]);
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'carol', 'owner'))
      .then([roleChanged('carol', 'owner', 'alice')]);
  });

  it('lets an owner demote another owner', () => {
    given(roomDecider, [...aRoom, roleChanged('bob', 'owner', 'alice')])
      .when(changeRole('bob', 'alice', 'admin'))
      .then([roleChanged('alice', 'admin', 'bob')]);
  });

  it('lets one of two owners step down', () => {
    given(roomDecider, [...aRoom, roleChanged('bob', 'owner', 'alice')])
      .when(changeRole('alice', 'alice', 'member'))
      .then([roleChanged('alice', 'member', 'alice')]);
  });

  it('keeps the last owner from being demoted, even by themselves and even when alone', () => {
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'alice', 'admin'))
      .thenRejects('last_owner');
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'alice', 'member'))
      .thenRejects('last_owner');
    given(roomDecider, [created('alice'), joined('alice', 'owner', 'alice')])
      .when(changeRole('alice', 'alice', 'member'))
      .thenRejects('last_owner');
  });

  it('lets an admin change plain members only: promote a member to admin', () => {
    given(roomDecider, aRoom)
      .when(changeRole('carol', 'bob', 'admin'))
      .then([roleChanged('bob', 'admin', 'carol')]);
  });

  it('refuses an admin changing an owner or another admin', () => {
    const twoAdmins = [...aRoom, roleChanged('dave', 'admin', 'alice')];
    given(roomDecider, twoAdmins)
      .when(changeRole('carol', 'alice', 'member'))
      .thenRejects('forbidden');
    given(roomDecider, twoAdmins)
      .when(changeRole('carol', 'alice', 'admin'))
      .thenRejects('forbidden');
    given(roomDecider, twoAdmins)
      .when(changeRole('carol', 'dave', 'member'))
      .thenRejects('forbidden');
  });

  it('refuses an admin changing their own role', () => {
    given(roomDecider, aRoom)
      .when(changeRole('carol', 'carol', 'member'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(changeRole('carol', 'carol', 'owner'))
      .thenRejects('forbidden');
  });

  it('lets only an owner make an owner', () => {
    given(roomDecider, aRoom)
      .when(changeRole('carol', 'bob', 'owner'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'bob', 'owner'))
      .then([roleChanged('bob', 'owner', 'alice')]);
  });

  it('refuses a plain member changing anyone, themselves included', () => {
    given(roomDecider, aRoom)
      .when(changeRole('bob', 'dave', 'admin'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(changeRole('bob', 'bob', 'admin'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(changeRole('bob', 'carol', 'member'))
      .thenRejects('forbidden');
  });

  it('yields no events when the role would not change', () => {
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'bob', 'member'))
      .then([]);
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'carol', 'admin'))
      .then([]);
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'alice', 'owner'))
      .then([]);
    given(roomDecider, aRoom)
      .when(changeRole('carol', 'bob', 'member'))
      .then([]);
  });

  it('says not_a_member for a target who is not in the room', () => {
    given(roomDecider, aRoom)
      .when(changeRole('alice', 'eve', 'admin'))
      .thenRejects('not_a_member');
    given(roomDecider, [...aRoom, left('bob', 'bob')])
      .when(changeRole('alice', 'bob', 'admin'))
      .thenRejects('not_a_member');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, aRoom)
      .when(changeRole('eve', 'bob', 'admin'))
      .thenRejects('room_not_found');
    given(roomDecider, [])
      .when(changeRole('alice', 'bob', 'admin'))
      .thenRejects('room_not_found');
  });

  it('refuses any role in a direct room', () => {
    given(roomDecider, aDirectRoom)
      .when(changeRole('alice', 'bob', 'admin'))
      .thenRejects('invalid_state');
    given(roomDecider, aDirectRoom)
      .when(changeRole('alice', 'alice', 'owner'))
      .thenRejects('invalid_state');
  });

  it('gives the new role its powers and takes the old one’s away', () => {
    given(roomDecider, [...aRoom, roleChanged('bob', 'admin', 'alice')])
      .when(addMember('bob', 'eve'))
      .then([joined('eve', 'member', 'bob', T1)]);
    given(roomDecider, [...aRoom, roleChanged('carol', 'member', 'alice')])
      .when(addMember('carol', 'eve'))
      .thenRejects('forbidden');
  });

  it('lets the former last owner leave once someone else is owner', () => {
    given(roomDecider, [...aRoom, roleChanged('carol', 'owner', 'alice')])
      .when(removeMember('alice', 'alice'))
      .then([left('alice', 'alice')]);
  });

  it('refuses a command without a user', () => {
    given(roomDecider, aRoom)
      .when(changeRole(null, 'bob', 'admin'))
      .thenRejects('forbidden');
  });
});

// ── edit_message ────────────────────────────────────────────────────────────

describe('edit_message', () => {
  it('lets the author edit their message, keeping its seq', () => {
    given(roomDecider, withMessages)
      .when(edit('bob', 'm1', 'hello, world'))
      .then([edited('m1', 1, 'bob', 'hello, world')]);
    given(roomDecider, withMessages)
      .when(edit('dave', 'm3'))
      .then([edited('m3', 3, 'dave')]);
  });

  it('carries the mentions of the new content, like a send', () => {
    given(roomDecider, withMessages)
      .when(edit('bob', 'm1', 'hi @alice', ['alice']))
      .then([edited('m1', 1, 'bob', 'hi @alice', ['alice'])]);
  });

  it('lets the author edit again', () => {
    given(roomDecider, [...withMessages, edited('m1', 1, 'bob', 'first edit')])
      .when(edit('bob', 'm1', 'second edit'))
      .then([edited('m1', 1, 'bob', 'second edit')]);
  });

  it('refuses anyone but the author, owners and admins included', () => {
    given(roomDecider, withMessages).when(edit('dave', 'm1')).thenRejects('forbidden');
    given(roomDecider, withMessages).when(edit('alice', 'm1')).thenRejects('forbidden');
    given(roomDecider, withMessages).when(edit('carol', 'm1')).thenRejects('forbidden');
    given(roomDecider, withMessages).when(edit('bob', 'm2')).thenRejects('forbidden');
  });

  it('refuses to edit a deleted message, even for its author', () => {
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(edit('bob', 'm1'))
      .thenRejects('invalid_state');
    given(roomDecider, [...withMessages, deleted('m1', 1, 'alice')])
      .when(edit('bob', 'm1'))
      .thenRejects('invalid_state');
  });

  it('refuses an edit in a closed room', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1', { message_id: 'm1' }), closed()])
      .when(edit('alice', 'm1'))
      .thenRejects('blocked');
  });

  it('accepts an edit again once the room is reopened', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1', { message_id: 'm1' }), closed(), reopened()])
      .when(edit('alice', 'm1'))
      .then([edited('m1', 1, 'alice')]);
  });

  it('says message_not_found for a message that is not in this room', () => {
    given(roomDecider, withMessages).when(edit('bob', 'm-elsewhere')).thenRejects('message_not_found');
  });

  it('hides the room from a non-member, the author who left included', () => {
    given(roomDecider, withMessages).when(edit('eve', 'm1')).thenRejects('room_not_found');
    given(roomDecider, [...withMessages, left('bob', 'bob')])
      .when(edit('bob', 'm1'))
      .thenRejects('room_not_found');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, withMessages).when(edit(null, 'm1')).thenRejects('forbidden');
  });
});

// ── delete_message ──────────────────────────────────────────────────────────

describe('delete_message', () => {
  it('lets the author delete their message', () => {
    given(roomDecider, withMessages)
      .when(del('bob', 'm1'))
      .then([deleted('m1', 1, 'bob')]);
  });

  it("lets the owner and an admin delete anyone's message", () => {
    given(roomDecider, withMessages)
      .when(del('alice', 'm1'))
      .then([deleted('m1', 1, 'alice')]);
    given(roomDecider, withMessages)
      .when(del('carol', 'm3'))
      .then([deleted('m3', 3, 'carol')]);
    given(roomDecider, withMessages)
      .when(del('carol', 'm2'))
      .then([deleted('m2', 2, 'carol')]);
  });

  it("refuses a plain member deleting someone else's message", () => {
    given(roomDecider, withMessages).when(del('dave', 'm1')).thenRejects('forbidden');
    given(roomDecider, withMessages).when(del('bob', 'm2')).thenRejects('forbidden');
  });

  it('yields no events for a message already deleted', () => {
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(del('bob', 'm1'))
      .then([]);
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(del('alice', 'm1'))
      .then([]);
  });

  it('leaves a tombstone: the message keeps its seq, loses its reactions, and the numbering goes on', () => {
    const events = [...withMessages, reactionAdded('m1', 1, '👍', 'alice'), deleted('m1', 1, 'bob')];
    const tombstone = stateAfter(events).messages.get('m1');
    expect(tombstone).toEqual({ seq: 1, sender_id: 'bob', deleted: true, reactions: null });
    given(roomDecider, events)
      .when(send('bob', 'c9'))
      .then([sent(4, 'bob', 'c9', { at: T1 })]);
  });

  it("refuses either member of a direct room deleting the other's message", () => {
    const history = [...aDirectRoom, sent(1, 'alice', 'c1', { message_id: 'm1' })];
    given(roomDecider, history).when(del('bob', 'm1')).thenRejects('forbidden');
    given(roomDecider, history)
      .when(del('alice', 'm1'))
      .then([deleted('m1', 1, 'alice')]);
  });

  it('says message_not_found for a message that is not in this room', () => {
    given(roomDecider, withMessages).when(del('alice', 'm-elsewhere')).thenRejects('message_not_found');
  });

  it('hides the room from a non-member, the author who left included', () => {
    given(roomDecider, withMessages).when(del('eve', 'm1')).thenRejects('room_not_found');
    given(roomDecider, [...withMessages, left('bob', 'bob')])
      .when(del('bob', 'm1'))
      .thenRejects('room_not_found');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, withMessages).when(del(null, 'm1')).thenRejects('forbidden');
  });
});

// ── react ───────────────────────────────────────────────────────────────────

describe('react', () => {
  it('adds a reaction, with the seq of the message', () => {
    given(roomDecider, withMessages)
      .when(react('dave', 'm2', '👍'))
      .then([reactionAdded('m2', 2, '👍', 'dave')]);
  });

  it('lets the author react to their own message', () => {
    given(roomDecider, withMessages)
      .when(react('bob', 'm1', '🎉'))
      .then([reactionAdded('m1', 1, '🎉', 'bob')]);
  });

  it('yields no events for a reaction the user already has', () => {
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'dave')])
      .when(react('dave', 'm1', '👍'))
      .then([]);
  });

  it('keeps reactions apart per user and per emoji', () => {
    const history = [...withMessages, reactionAdded('m1', 1, '👍', 'dave')];
    given(roomDecider, history)
      .when(react('alice', 'm1', '👍'))
      .then([reactionAdded('m1', 1, '👍', 'alice')]);
    given(roomDecider, history)
      .when(react('dave', 'm1', '❤️'))
      .then([reactionAdded('m1', 1, '❤️', 'dave')]);
    given(roomDecider, history)
      .when(react('dave', 'm2', '👍'))
      .then([reactionAdded('m2', 2, '👍', 'dave')]);
  });

  it('removes a reaction the user has', () => {
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'dave')])
      .when(react('dave', 'm1', '👍', false))
      .then([reactionRemoved('m1', 1, '👍', 'dave')]);
  });

  it('yields no events for removing a reaction the user does not have, even if others have it', () => {
    given(roomDecider, withMessages)
      .when(react('dave', 'm1', '👍', false))
      .then([]);
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'alice')])
      .when(react('dave', 'm1', '👍', false))
      .then([]);
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'dave'), reactionRemoved('m1', 1, '👍', 'dave')])
      .when(react('dave', 'm1', '👍', false))
      .then([]);
  });

  it('lets a removed reaction be added again', () => {
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'dave'), reactionRemoved('m1', 1, '👍', 'dave')])
      .when(react('dave', 'm1', '👍'))
      .then([reactionAdded('m1', 1, '👍', 'dave')]);
  });

  it("removing one user's reaction leaves the others'", () => {
    const state = stateAfter([
      ...withMessages,
      reactionAdded('m1', 1, '👍', 'dave'),
      reactionAdded('m1', 1, '👍', 'alice'),
      reactionAdded('m1', 1, '❤️', 'dave'),
      reactionRemoved('m1', 1, '👍', 'dave'),
    ]);
    expect(state.messages.get('m1')!.reactions).toEqual(
      new Map([
        ['👍', new Set(['alice'])],
        ['❤️', new Set(['dave'])],
      ]),
    );
  });

  it('refuses a reaction, added or removed, on a deleted message', () => {
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(react('dave', 'm1', '👍'))
      .thenRejects('invalid_state');
    given(roomDecider, [...withMessages, reactionAdded('m1', 1, '👍', 'dave'), deleted('m1', 1, 'bob')])
      .when(react('dave', 'm1', '👍', false))
      .thenRejects('invalid_state');
  });

  it('says message_not_found for a message that is not in this room', () => {
    given(roomDecider, withMessages)
      .when(react('dave', 'm-elsewhere', '👍'))
      .thenRejects('message_not_found');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, withMessages)
      .when(react('eve', 'm1', '👍'))
      .thenRejects('room_not_found');
    given(roomDecider, [...withMessages, left('dave', 'dave')])
      .when(react('dave', 'm1', '👍'))
      .thenRejects('room_not_found');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, withMessages)
      .when(react(null, 'm1', '👍'))
      .thenRejects('forbidden');
  });
});

// ── pin_message ─────────────────────────────────────────────────────────────

describe('pin_message', () => {
  it('pins a message for any member, with its seq', () => {
    given(roomDecider, withMessages)
      .when(pin('dave', 'm2'))
      .then([pinned('m2', 2, 'dave')]);
  });

  it('unpins a pinned message, whoever pinned it', () => {
    given(roomDecider, [...withMessages, pinned('m2', 2, 'alice')])
      .when(pin('bob', 'm2', false))
      .then([unpinned('m2', 2, 'bob')]);
  });

  it('yields no events for pinning a pinned message or unpinning one that is not', () => {
    given(roomDecider, [...withMessages, pinned('m1', 1, 'alice')])
      .when(pin('bob', 'm1'))
      .then([]);
    given(roomDecider, withMessages)
      .when(pin('bob', 'm1', false))
      .then([]);
  });

  it('refuses a pin past the room’s limit; an unpin makes room', () => {
    const full = [...withMessages, pinned('m1', 1, 'bob'), pinned('m2', 2, 'bob')];
    given(roomDecider, full)
      .when(pin('dave', 'm3', true, 2))
      .thenRejects('too_many_pins');
    given(roomDecider, [...full, unpinned('m1', 1, 'bob')])
      .when(pin('dave', 'm3', true, 2))
      .then([pinned('m3', 3, 'dave')]);
  });

  it('refuses a deleted message, an unknown one, and a non-member (to whom the room does not exist)', () => {
    given(roomDecider, [...withMessages, deleted('m1', 1, 'bob')])
      .when(pin('alice', 'm1'))
      .thenRejects('invalid_state');
    given(roomDecider, withMessages).when(pin('alice', 'nope')).thenRejects('message_not_found');
    given(roomDecider, withMessages).when(pin('erin', 'm1')).thenRejects('room_not_found');
  });

  it('refuses pins in a closed direct room', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'bob', 'c1', { message_id: 'm1' }), closed()])
      .when(pin('alice', 'm1'))
      .thenRejects('blocked');
  });

  it('a deleted or expired message loses its pin, and frees its place', () => {
    const state = stateAfter([...withMessages, pinned('m1', 1, 'bob'), pinned('m3', 3, 'bob'), deleted('m3', 3, 'dave')]);
    expect([...state.pins]).toEqual(['m1']);
    const expired = { type: 'messages_expired' as const, data: { room_id, up_to_seq: 2, expired_at: T1 } };
    expect([...stateAfter([...withMessages, pinned('m1', 1, 'bob'), pinned('m3', 3, 'bob'), expired]).pins]).toEqual(['m3']);
    given(roomDecider, [...withMessages, pinned('m1', 1, 'bob'), pinned('m3', 3, 'bob'), deleted('m3', 3, 'dave')])
      .when(pin('dave', 'm2', true, 2))
      .then([pinned('m2', 2, 'dave')]);
  });
});

// ── mark_delivered ──────────────────────────────────────────────────────────

describe('mark_delivered', () => {
  it('records how far a member’s devices have received the room, clamped to the last message', () => {
    given(roomDecider, withMessages)
      .when(markDelivered('carol', 2))
      .then([delivered('carol', 2)]);
    given(roomDecider, withMessages)
      .when(markDelivered('carol', 99))
      .then([delivered('carol', 3)]);
  });

  it('never goes backwards, and says nothing again', () => {
    const history = [...withMessages, delivered('carol', 2)];
    given(roomDecider, history).when(markDelivered('carol', 1)).then([]);
    given(roomDecider, history).when(markDelivered('carol', 2)).then([]);
    given(roomDecider, history)
      .when(markDelivered('carol', 3))
      .then([delivered('carol', 3)]);
    expect(
      stateAfter([...withMessages, delivered('carol', 3), delivered('carol', 1)]).members.get('carol')!.last_delivered_seq,
    ).toBe(3);
  });

  it('is implied by reading: up to the read mark (or one’s own message) there is nothing to deliver', () => {
    given(roomDecider, [...withMessages, read('carol', 3)])
      .when(markDelivered('carol', 3))
      .then([]);
    given(roomDecider, withMessages).when(markDelivered('dave', 3)).then([]); // dave posted m3
  });

  it('hides the room from a non-member and refuses a command without a user', () => {
    given(roomDecider, withMessages).when(markDelivered('eve', 1)).thenRejects('room_not_found');
    given(roomDecider, withMessages).when(markDelivered(null, 1)).thenRejects('forbidden');
  });
});

// ── threads: follow_thread, mark_thread_read ────────────────────────────────

describe('set_notifications', () => {
  it('records a member’s own setting; the same again says nothing', () => {
    given(roomDecider, withMessages)
      .when(setNotifications('carol', 'mentions'))
      .then([notificationsSet('carol', 'mentions')]);
    given(roomDecider, withMessages).when(setNotifications('carol', 'all')).then([]); // the default
    const history = [...withMessages, notificationsSet('carol', 'none', T1 + 60_000)];
    given(roomDecider, history)
      .when(setNotifications('carol', 'none', T1 + 60_000))
      .then([]);
    given(roomDecider, history)
      .when(setNotifications('carol', 'none'))
      .then([notificationsSet('carol', 'none')]);
  });

  it('a mute ends in the future; a member who leaves and comes back starts from the default', () => {
    given(roomDecider, withMessages)
      .when(setNotifications('carol', 'all', T1))
      .thenRejects('invalid_state');
    const back = [
      ...withMessages,
      notificationsSet('carol', 'none'),
      left('carol', 'carol'),
      joined('carol', 'member', 'alice', T1),
    ];
    given(roomDecider, back)
      .when(setNotifications('carol', 'none'))
      .then([notificationsSet('carol', 'none')]);
  });

  it('needs a member', () => {
    given(roomDecider, withMessages).when(setNotifications('eve', 'none')).thenRejects('room_not_found');
    given(roomDecider, withMessages).when(setNotifications(null, 'none')).thenRejects('forbidden');
  });
});

describe('follow_thread', () => {
  it('records the wish either way, each time (who follows what is the read model’s: replies and mentions follow there)', () => {
    given(roomDecider, withMessages)
      .when(followThread('carol', 'm1'))
      .then([{ type: 'thread_followed', data: { room_id, message_id: 'm1', user_id: 'carol', at: T1 } }]);
    given(roomDecider, withMessages)
      .when(followThread('carol', 'm1', false))
      .then([{ type: 'thread_unfollowed', data: { room_id, message_id: 'm1', user_id: 'carol', at: T1 } }]);
  });

  it('needs a member and a message of the room', () => {
    given(roomDecider, withMessages).when(followThread('eve', 'm1')).thenRejects('room_not_found');
    given(roomDecider, withMessages).when(followThread('carol', 'nope')).thenRejects('message_not_found');
    given(roomDecider, withMessages).when(followThread(null, 'm1')).thenRejects('forbidden');
  });
});

describe('mark_thread_read', () => {
  const withReplies: RoomEvent[] = [
    ...withMessages,
    sent(4, 'bob', 'c4', { message_id: 'r1', reply_to: 'm1' }),
    sent(5, 'dave', 'c5', { message_id: 'r2', reply_to: 'm1' }),
  ];

  it('records how far a member has read a thread, clamped to the last message', () => {
    given(roomDecider, withReplies)
      .when(markThreadRead('carol', 'm1', 4))
      .then([threadRead('carol', 'm1', 4)]);
    given(roomDecider, withReplies)
      .when(markThreadRead('carol', 'm1', 99))
      .then([threadRead('carol', 'm1', 5)]);
  });

  it('never goes backwards, per thread; one’s own reply reads the thread up to it', () => {
    const history = [...withReplies, threadRead('carol', 'm1', 5)];
    given(roomDecider, history)
      .when(markThreadRead('carol', 'm1', 4))
      .then([]);
    given(roomDecider, history)
      .when(markThreadRead('carol', 'm2', 4))
      .then([threadRead('carol', 'm2', 4)]);
    given(roomDecider, withReplies)
      .when(markThreadRead('dave', 'm1', 5))
      .then([]); // dave wrote r2
    given(roomDecider, withReplies)
      .when(markThreadRead('bob', 'm1', 5))
      .then([threadRead('bob', 'm1', 5)]); // bob wrote r1 only
  });

  it('needs a member and a message of the room', () => {
    given(roomDecider, withReplies)
      .when(markThreadRead('eve', 'm1', 4))
      .thenRejects('room_not_found');
    given(roomDecider, withReplies)
      .when(markThreadRead('carol', 'nope', 4))
      .thenRejects('message_not_found');
  });
});

// ── mark_read ───────────────────────────────────────────────────────────────

describe('mark_read', () => {
  it('records how far a member has read', () => {
    given(roomDecider, withMessages)
      .when(markRead('carol', 2))
      .then([read('carol', 2)]);
  });

  it('clamps a position beyond the last message to the last message', () => {
    given(roomDecider, withMessages)
      .when(markRead('carol', 99))
      .then([read('carol', 3)]);
  });

  it('yields no events in a room without messages, or for nothing read', () => {
    given(roomDecider, aRoom).when(markRead('carol', 5)).then([]);
    given(roomDecider, withMessages).when(markRead('carol', 0)).then([]);
    given(roomDecider, withMessages).when(markRead('carol', -1)).then([]);
  });

  it('never goes backwards', () => {
    const history = [...withMessages, read('carol', 2)];
    given(roomDecider, history).when(markRead('carol', 1)).then([]);
    given(roomDecider, history).when(markRead('carol', 2)).then([]);
    given(roomDecider, history)
      .when(markRead('carol', 3))
      .then([read('carol', 3)]);
  });

  it('keeps the furthest position when an older receipt is replayed after a newer one', () => {
    const state = stateAfter([...withMessages, read('carol', 3), read('carol', 1)]);
    expect(state.members.get('carol')!.last_read_seq).toBe(3);
  });

  it('keeps each member’s position apart', () => {
    given(roomDecider, [...withMessages, read('carol', 3)])
      .when(markRead('dave', 2))
      .then([]); // dave posted m3
    given(roomDecider, [...withMessages, read('carol', 3)])
      .when(markRead('alice', 3))
      .then([read('alice', 3)]);
  });

  it('works in a closed room: reading is not posting', () => {
    given(roomDecider, [...aDirectRoom, sent(1, 'alice', 'c1'), closed()])
      .when(markRead('bob', 1))
      .then([read('bob', 1)]);
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, withMessages).when(markRead('eve', 1)).thenRejects('room_not_found');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, withMessages).when(markRead(null, 1)).thenRejects('forbidden');
  });
});

// ── close_room / reopen_room ────────────────────────────────────────────────

describe('close_room and reopen_room', () => {
  it('lets the system close a direct room', () => {
    given(roomDecider, aDirectRoom).when(closeRoom()).then([closed()]);
  });

  it('yields no events for closing a closed room', () => {
    given(roomDecider, [...aDirectRoom, closed()])
      .when(closeRoom())
      .then([]);
  });

  it('lets the system reopen a closed room', () => {
    given(roomDecider, [...aDirectRoom, closed()])
      .when(reopenRoom())
      .then([reopened()]);
  });

  it('yields no events for reopening an open room', () => {
    given(roomDecider, aDirectRoom).when(reopenRoom()).then([]);
    given(roomDecider, [...aDirectRoom, closed(), reopened()])
      .when(reopenRoom())
      .then([]);
  });

  it('refuses users, members of the room included', () => {
    given(roomDecider, aDirectRoom).when(closeRoom('alice')).thenRejects('forbidden');
    given(roomDecider, [...aDirectRoom, closed()])
      .when(reopenRoom('bob'))
      .thenRejects('forbidden');
    given(roomDecider, aRoom).when(closeRoom('alice')).thenRejects('forbidden');
  });

  it('lets the system close a room that does not exist yet (a block raced its creation)', () => {
    given(roomDecider, []).when(closeRoom()).then([closed()]);
    given(roomDecider, [closed(T0)])
      .when(reopenRoom())
      .then([reopened()]);
  });

  it('keeps a room created after it was closed closed to new messages', () => {
    const history = [closed(T0), ...aDirectRoom, closed(T0)];
    given(roomDecider, history).when(send('alice', 'c1')).thenRejects('blocked');
    given(roomDecider, history).when(reopenRoom()).then([reopened()]);
  });
});

// ── retention ───────────────────────────────────────────────────────────────

describe('retention', () => {
  const retention = (days: number | null, by = 'alice'): RoomUpdated => ({
    type: 'room_updated',
    data: { room_id, name: 'General', topic: '', retention_days: days, updated_by: by, updated_at: T1 },
  });
  const expire = (up_to_seq: number, by: string | null = null): ExpireMessages => ({
    type: 'expire_messages',
    data: { room_id, up_to_seq },
    metadata: meta(by, T1),
  });

  it('lets only an owner set how long messages are kept, and lift it again', () => {
    given(roomDecider, aRoom)
      .when(updateRoom('alice', { retention_days: 30 }))
      .then([retention(30)]);
    given(roomDecider, aRoom)
      .when(updateRoom('carol', { retention_days: 30 }))
      .thenRejects('forbidden');
    given(roomDecider, [...aRoom, retention(30)])
      .when(updateRoom('alice', { retention_days: null }))
      .then([retention(null)]);
    // An admin may still rename: the room's retention goes along unchanged.
    given(roomDecider, [...aRoom, retention(30)])
      .when(updateRoom('carol', { name: 'Random' }))
      .then([{ ...retention(30, 'carol'), data: { ...retention(30, 'carol').data, name: 'Random' } }]);
  });

  it('expires messages up to a seq, once, and only by the system', () => {
    const expired = { type: 'messages_expired' as const, data: { room_id, up_to_seq: 2, expired_at: T1 } };
    given(roomDecider, withMessages).when(expire(2)).then([expired]);
    given(roomDecider, [...withMessages, expired])
      .when(expire(2))
      .then([]);
    given(roomDecider, [...withMessages, expired])
      .when(expire(1))
      .then([]);
    given(roomDecider, withMessages).when(expire(2, 'alice')).thenRejects('forbidden');
  });

  it('never expires past the last message, and an expired message takes no edit or reaction', () => {
    given(roomDecider, withMessages)
      .when(expire(99))
      .then([{ type: 'messages_expired', data: { room_id, up_to_seq: 3, expired_at: T1 } }]);
    const afterExpiry = [...withMessages, { type: 'messages_expired' as const, data: { room_id, up_to_seq: 2, expired_at: T1 } }];
    given(roomDecider, afterExpiry).when(edit('alice', 'm2')).thenRejects('invalid_state');
    given(roomDecider, afterExpiry)
      .when(react('bob', 'm1', '👍'))
      .thenRejects('invalid_state');
    given(roomDecider, afterExpiry)
      .when(react('bob', 'm3', '👍'))
      .then([{ type: 'reaction_added', data: { room_id, message_id: 'm3', seq: 3, emoji: '👍', user_id: 'bob', at: T1 } }]);
  });
});
