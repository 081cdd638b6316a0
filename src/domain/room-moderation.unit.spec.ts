// Room moderation in the room aggregate: bans keep a user out until unbanned,
// mutes stop a member posting, editing and reacting until they run out, slow
// mode spaces a plain member's messages. Owners act on anyone, admins on plain
// members and outsiders; direct rooms have no moderators.

import { describe, expect, it } from 'vitest';
import { replay, type CommandMetadata } from './decider.ts';
import { given } from './testing/given-when-then.ts';
import { roomDecider, type BanMember, type MuteMember, type RoomCommand, type RoomEvent, type SetSlowMode } from './room.ts';

const room_id = 'room-1';
const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;
const meta = (user_id: string | null, at = T1): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

const ban = (by: string, user_id: string, banned = true): BanMember => ({
  type: 'ban_member',
  data: { room_id, user_id, banned },
  metadata: meta(by),
});
const mute = (by: string, user_id: string, until: number | null, at = T1): MuteMember => ({
  type: 'mute_member',
  data: { room_id, user_id, until },
  metadata: meta(by, at),
});
const slowMode = (by: string, interval_s: number): SetSlowMode => ({
  type: 'set_slow_mode',
  data: { room_id, interval_s },
  metadata: meta(by),
});
const send = (by: string, client_msg_id: string, at = T1): RoomCommand => ({
  type: 'send_message',
  data: {
    room_id,
    message_id: `m-${client_msg_id}`,
    client_msg_id,
    content: 'hi',
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
  },
  metadata: meta(by, at),
});
const react = (by: string, at = T1): RoomCommand => ({
  type: 'react',
  data: { room_id, message_id: 'm1', emoji: '👍', add: true },
  metadata: meta(by, at),
});
const add = (by: string, user_id: string): RoomCommand => ({
  type: 'add_member',
  data: { room_id, user_id, role: 'member' },
  metadata: meta(by),
});
const invite = (by: string, user_id: string): RoomCommand => ({
  type: 'invite_member',
  data: { room_id, user_id, role: 'member' },
  metadata: meta(by),
});

const joined = (user_id: string, role: 'owner' | 'admin' | 'member'): RoomEvent => ({
  type: 'user_joined_room',
  data: { room_id, user_id, role, added_by: 'alice', joined_at: T0 },
});
const sent = (seq: number, by: string, at = T0): RoomEvent => ({
  type: 'message_sent',
  data: {
    room_id,
    message_id: `m${seq}`,
    seq,
    sender_id: by,
    client_msg_id: `c${seq}`,
    content: 'hi',
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
    mentions: [],
    created_at: at,
  },
});
const banned = (user_id: string, by = 'alice'): RoomEvent => ({
  type: 'member_banned',
  data: { room_id, user_id, banned_by: by, banned_at: T1 },
});
const left = (user_id: string, by = 'alice'): RoomEvent => ({
  type: 'user_left_room',
  data: { room_id, user_id, removed_by: by, left_at: T1 },
});
const muted = (user_id: string, until: number, by = 'alice'): RoomEvent => ({
  type: 'member_muted',
  data: { room_id, user_id, until, muted_by: by, muted_at: T1 },
});

/** The details of the rejection `command` meets after `events` (fails the test if it is accepted). */
function rejectionDetails(command: RoomCommand, events: RoomEvent[]): unknown {
  try {
    roomDecider.decide(command, replay(roomDecider, events));
  } catch (error) {
    return (error as { details: unknown }).details;
  }
  throw new Error('the command was accepted');
}

/** alice owns it, carol is an admin, bob and dave are members; bob posted m1. */
const aRoom: RoomEvent[] = [
  { type: 'room_created', data: { room_id, type: 'group', name: 'General', created_by: 'alice', created_at: T0 } },
  joined('alice', 'owner'),
  joined('bob', 'member'),
  joined('carol', 'admin'),
  joined('dave', 'member'),
  sent(1, 'bob'),
];

describe('ban_member', () => {
  it('removes a member and keeps them out: adding or inviting them again is refused until unbanned', () => {
    given(roomDecider, aRoom)
      .when(ban('carol', 'bob'))
      .then([left('bob', 'carol'), banned('bob', 'carol')]);
    const after = [...aRoom, left('bob', 'carol'), banned('bob', 'carol')];
    given(roomDecider, after).when(add('alice', 'bob')).thenRejects('banned');
    given(roomDecider, after).when(invite('alice', 'bob')).thenRejects('banned');
    given(roomDecider, after)
      .when(ban('alice', 'bob', false))
      .then([{ type: 'member_unbanned', data: { room_id, user_id: 'bob', unbanned_by: 'alice', unbanned_at: T1 } }]);
    const unbanned = [
      ...after,
      { type: 'member_unbanned', data: { room_id, user_id: 'bob', unbanned_by: 'alice', unbanned_at: T1 } } as RoomEvent,
    ];
    given(roomDecider, unbanned)
      .when(add('alice', 'bob'))
      .then([{ type: 'user_joined_room', data: { room_id, user_id: 'bob', role: 'member', added_by: 'alice', joined_at: T1 } }]);
  });

  it('bans an outsider ahead, withdraws a pending invitation, and says nothing twice', () => {
    given(roomDecider, aRoom)
      .when(ban('alice', 'eve'))
      .then([banned('eve')]);
    const invited: RoomEvent = {
      type: 'user_invited_to_room',
      data: { room_id, user_id: 'eve', role: 'member', invited_by: 'alice', invited_at: T0 },
    };
    given(roomDecider, [...aRoom, invited])
      .when(ban('alice', 'eve'))
      .then([
        {
          type: 'room_invitation_ended',
          data: { room_id, user_id: 'eve', reason: 'withdrawn', ended_by: 'alice', ended_at: T1 },
        },
        banned('eve'),
      ]);
    given(roomDecider, [...aRoom, banned('eve')])
      .when(ban('alice', 'eve'))
      .then([]);
    given(roomDecider, aRoom)
      .when(ban('alice', 'eve', false))
      .then([]);
  });

  it('is for owners and admins, admins over plain members only, never oneself, never in a direct room', () => {
    given(roomDecider, aRoom).when(ban('bob', 'dave')).thenRejects('forbidden');
    given(roomDecider, aRoom).when(ban('carol', 'alice')).thenRejects('forbidden');
    given(roomDecider, aRoom).when(ban('alice', 'alice')).thenRejects('forbidden');
    given(roomDecider, aRoom).when(ban('eve', 'bob')).thenRejects('room_not_found');
    const direct: RoomEvent[] = [
      { type: 'room_created', data: { room_id, type: 'direct', name: '', created_by: 'alice', created_at: T0 } },
      joined('alice', 'member'),
      joined('bob', 'member'),
    ];
    given(roomDecider, direct).when(ban('alice', 'bob')).thenRejects('invalid_state');
  });
});

describe('mute_member', () => {
  const until = T1 + 60_000;
  it('stops a member posting and reacting until the mute runs out; they still read', () => {
    given(roomDecider, aRoom)
      .when(mute('carol', 'dave', until))
      .then([muted('dave', until, 'carol')]);
    const after = [...aRoom, muted('dave', until, 'carol')];
    given(roomDecider, after).when(send('dave', 'x')).thenRejects('muted');
    given(roomDecider, after).when(react('dave')).thenRejects('muted');
    given(roomDecider, after)
      .when({ type: 'mark_read', data: { room_id, seq: 1 }, metadata: meta('dave') })
      .then([{ type: 'messages_read', data: { room_id, user_id: 'dave', seq: 1, at: T1 } }]);
    // Past `until` the mute is over by itself.
    expect(roomDecider.decide(send('dave', 'later', until), replay(roomDecider, after))[0]?.type).toBe('message_sent');
  });

  it('says when it ends, survives leaving and rejoining, and is lifted early with null', () => {
    const after = [...aRoom, muted('dave', until), left('dave', 'dave'), joined('dave', 'member')];
    given(roomDecider, after).when(send('dave', 'x')).thenRejects('muted');
    expect(rejectionDetails(send('dave', 'x'), after)).toEqual({ muted_until: until });
    given(roomDecider, after)
      .when(mute('alice', 'dave', null))
      .then([{ type: 'member_unmuted', data: { room_id, user_id: 'dave', unmuted_by: 'alice', unmuted_at: T1 } }]);
    given(roomDecider, aRoom)
      .when(mute('alice', 'dave', null))
      .then([]);
  });

  it('is for owners and admins over those they outrank, in the future, on members', () => {
    given(roomDecider, aRoom)
      .when(mute('bob', 'dave', until))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(mute('carol', 'alice', until))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(mute('alice', 'alice', until))
      .thenRejects('forbidden');
    given(roomDecider, aRoom)
      .when(mute('alice', 'eve', until))
      .thenRejects('not_a_member');
    given(roomDecider, aRoom)
      .when(mute('alice', 'dave', T1))
      .thenRejects('invalid_state');
  });
});

describe('set_slow_mode', () => {
  const slow: RoomEvent = { type: 'slow_mode_set', data: { room_id, interval_s: 30, set_by: 'alice', set_at: T1 } };
  it('makes a plain member wait the interval after their last message, with how long left', () => {
    given(roomDecider, aRoom).when(slowMode('alice', 30)).then([slow]);
    const after = [...aRoom, slow, sent(2, 'dave', T1)];
    given(roomDecider, after)
      .when(send('dave', 'again', T1 + 10_000))
      .thenRejects('slow_mode');
    expect(rejectionDetails(send('dave', 'again', T1 + 10_000), after)).toEqual({ retry_after_s: 20 });
    expect(roomDecider.decide(send('dave', 'later', T1 + 30_000), replay(roomDecider, after))[0]?.type).toBe('message_sent');
    // The wait counts from each member's own last message; a retry of it, and the managers, pass.
    expect(roomDecider.decide(send('bob', 'next', T0 + 30_000), replay(roomDecider, after))[0]?.type).toBe('message_sent');
    expect(roomDecider.decide({ ...send('dave', 'c2', T1 + 1) }, replay(roomDecider, after))).toEqual([]);
    const managers = [...after, sent(3, 'carol', T1)];
    expect(roomDecider.decide(send('carol', 'again', T1 + 1), replay(roomDecider, managers))[0]?.type).toBe('message_sent');
  });

  it('is for owners and admins; the same interval again changes nothing', () => {
    given(roomDecider, aRoom).when(slowMode('bob', 30)).thenRejects('forbidden');
    given(roomDecider, [...aRoom, slow])
      .when(slowMode('carol', 30))
      .then([]);
    given(roomDecider, [...aRoom, slow])
      .when(slowMode('carol', 0))
      .then([{ type: 'slow_mode_set', data: { room_id, interval_s: 0, set_by: 'carol', set_at: T1 } }]);
  });
});
