// The room's rules, one given/when/then each: who may create, join, leave and
// post, and how messages are numbered and de-duplicated.

import { describe, it, expect } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import {
  roomDecider,
  type AddMember,
  type CreateRoom,
  type MessageSent,
  type RemoveMember,
  type Role,
  type RoomCreated,
  type RoomEvent,
  type RoomType,
  type SendMessage,
  type UserJoinedRoom,
  type UserLeftRoom,
} from './room.ts';
import { given } from './testing/given-when-then.ts';

const room_id = 'room-1';
const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;

const meta = (user_id: string | null, at: number): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

// ── commands ────────────────────────────────────────────────────────────────

const createRoom = (
  by: string | null,
  member_ids: string[] = [],
  type: RoomType = 'group',
): CreateRoom => ({
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
  },
  metadata: meta(by, o.at ?? T1),
});

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
    created_at: o.at ?? T0,
  },
});

/** A group room: alice owns it, carol is an admin, bob and dave are members. */
const aRoom: RoomEvent[] = [
  created('alice'),
  joined('alice', 'owner', 'alice'),
  joined('bob', 'member', 'alice'),
  joined('carol', 'admin', 'alice'),
  joined('dave', 'member', 'alice'),
];

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
      .then([
        created('alice', T1, 'direct'),
        joined('alice', 'member', 'alice', T1),
        joined('bob', 'member', 'alice', T1),
      ]);
  });

  it('refuses to create a room that already exists, even for its owner', () => {
    given(roomDecider, aRoom).when(createRoom('alice', ['eve'])).thenRejects('already_exists');
  });

  it('refuses a command without a user', () => {
    given(roomDecider, []).when(createRoom(null, ['bob'])).thenRejects('forbidden');
  });
});

// ── add_member ──────────────────────────────────────────────────────────────

describe('add_member', () => {
  it('lets the owner add a member', () => {
    given(roomDecider, aRoom).when(addMember('alice', 'eve')).then([joined('eve', 'member', 'alice', T1)]);
  });

  it('lets an admin add a member', () => {
    given(roomDecider, aRoom).when(addMember('carol', 'eve')).then([joined('eve', 'member', 'carol', T1)]);
  });

  it('lets an admin add another admin', () => {
    given(roomDecider, aRoom).when(addMember('carol', 'eve', 'admin')).then([joined('eve', 'admin', 'carol', T1)]);
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
    given(roomDecider, aRoom).when(addMember('alice', 'bob', 'admin')).thenRejects('already_member');
    given(roomDecider, aRoom).when(addMember('alice', 'alice', 'owner')).thenRejects('already_member');
  });

  it('lets only an owner add an owner', () => {
    given(roomDecider, aRoom).when(addMember('carol', 'eve', 'owner')).thenRejects('forbidden');
    given(roomDecider, aRoom).when(addMember('alice', 'eve', 'owner')).then([joined('eve', 'owner', 'alice', T1)]);
  });

  it('lets someone who left be added again', () => {
    given(roomDecider, [...aRoom, left('bob', 'bob')])
      .when(addMember('alice', 'bob'))
      .then([joined('bob', 'member', 'alice', T1)]);
  });

  it('refuses a manager who has been removed', () => {
    given(roomDecider, [...aRoom, left('carol', 'alice')]).when(addMember('carol', 'eve')).thenRejects('room_not_found');
  });
});

// ── remove_member ───────────────────────────────────────────────────────────

describe('remove_member', () => {
  it('lets a member leave on their own', () => {
    given(roomDecider, aRoom).when(removeMember('bob', 'bob')).then([left('bob', 'bob')]);
  });

  it('lets an admin leave on their own', () => {
    given(roomDecider, aRoom).when(removeMember('carol', 'carol')).then([left('carol', 'carol')]);
  });

  it('lets the owner remove a member', () => {
    given(roomDecider, aRoom).when(removeMember('alice', 'bob')).then([left('bob', 'alice')]);
  });

  it('lets the owner remove an admin', () => {
    given(roomDecider, aRoom).when(removeMember('alice', 'carol')).then([left('carol', 'alice')]);
  });

  it('lets an admin remove a member', () => {
    given(roomDecider, aRoom).when(removeMember('carol', 'bob')).then([left('bob', 'carol')]);
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
    given(roomDecider, [
      ...aRoom,
      left('bob', 'bob'),
      left('carol', 'alice'),
      left('dave', 'alice'),
    ])
      .when(removeMember('alice', 'alice'))
      .then([left('alice', 'alice')]);
  });

  it('says not_a_member for a target who is not in the room', () => {
    given(roomDecider, aRoom).when(removeMember('alice', 'eve')).thenRejects('not_a_member');
    given(roomDecider, [...aRoom, left('bob', 'bob')]).when(removeMember('alice', 'bob')).thenRejects('not_a_member');
  });

  it('hides the room from a non-member', () => {
    given(roomDecider, aRoom).when(removeMember('eve', 'bob')).thenRejects('room_not_found');
    given(roomDecider, aRoom).when(removeMember('eve', 'eve')).thenRejects('room_not_found');
  });

  it('says room_not_found for a room that does not exist', () => {
    given(roomDecider, []).when(removeMember('alice', 'alice')).thenRejects('room_not_found');
  });

  it('lets a member of a direct room leave it', () => {
    given(roomDecider, [created('alice', T0, 'direct'), joined('alice', 'member', 'alice'), joined('bob', 'member', 'alice')])
      .when(removeMember('bob', 'bob'))
      .then([left('bob', 'bob')]);
  });

  it('refuses a member of a direct room removing the other', () => {
    given(roomDecider, [created('alice', T0, 'direct'), joined('alice', 'member', 'alice'), joined('bob', 'member', 'alice')])
      .when(removeMember('alice', 'bob'))
      .thenRejects('forbidden');
  });
});

// ── send_message ────────────────────────────────────────────────────────────

describe('send_message', () => {
  it('numbers the first message of a room 1', () => {
    given(roomDecider, aRoom).when(send('bob', 'c1', { at: T1 })).then([sent(1, 'bob', 'c1', { at: T1 })]);
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
    given(roomDecider, [...aRoom, sent(1, 'bob', 'c1')]).when(send('bob', 'c1')).then([]);
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
    given(roomDecider, aRoom).when(send('alice', 'c1', { reply_to: 'm1' })).thenRejects('message_not_found');
  });

  it('stops a removed member from posting', () => {
    given(roomDecider, [...aRoom, left('bob', 'alice')]).when(send('bob', 'c1')).thenRejects('room_not_found');
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
});
