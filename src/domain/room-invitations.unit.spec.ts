// Invitations to group rooms, one given/when/then each: the intake invites
// whoever is not a friend (commands/chat-service.ts); the invitee joins only by
// accepting, with the role and the inviter of the invitation; a decline or a
// withdrawal ends it; and an invitee is no member until then.

import { describe, it } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import {
  roomDecider,
  type AcceptInvitation,
  type CreateRoom,
  type DeclineInvitation,
  type InviteMember,
  type RemoveMember,
  type Role,
  type RoomCreated,
  type RoomInvitationEnded,
  type SendMessage,
  type UserInvitedToRoom,
  type UserJoinedRoom,
} from './room.ts';
import { given } from './testing/given-when-then.ts';

const room_id = 'room-1';
const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;
const meta = (user_id: string | null): CommandMetadata => ({ command_id: `cmd-${user_id}`, user_id, at: T1 });

const created: RoomCreated = {
  type: 'room_created',
  data: { room_id, type: 'group', name: 'General', created_by: 'alice', created_at: T0 },
};
const joined = (user_id: string, role: Role, added_by: string, at = T0): UserJoinedRoom => ({
  type: 'user_joined_room',
  data: { room_id, user_id, role, added_by, joined_at: at },
});
const invited = (user_id: string, by: string, role: Role = 'member', at = T0): UserInvitedToRoom => ({
  type: 'user_invited_to_room',
  data: { room_id, user_id, role, invited_by: by, invited_at: at },
});
const ended = (user_id: string, reason: 'declined' | 'withdrawn', by: string): RoomInvitationEnded => ({
  type: 'room_invitation_ended',
  data: { room_id, user_id, reason, ended_by: by, ended_at: T1 },
});

const invite = (by: string, user_id: string, role: Role = 'member'): InviteMember => ({
  type: 'invite_member',
  data: { room_id, user_id, role },
  metadata: meta(by),
});
const accept = (by: string | null): AcceptInvitation => ({ type: 'accept_invitation', data: { room_id }, metadata: meta(by) });
const decline = (by: string): DeclineInvitation => ({ type: 'decline_invitation', data: { room_id }, metadata: meta(by) });
const remove = (by: string, user_id: string): RemoveMember => ({
  type: 'remove_member',
  data: { room_id, user_id },
  metadata: meta(by),
});
const send = (by: string): SendMessage => ({
  type: 'send_message',
  data: {
    room_id,
    message_id: 'm1',
    client_msg_id: 'c1',
    content: 'hi',
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
  },
  metadata: meta(by),
});

const aliceOwns = [created, joined('alice', 'owner', 'alice')];

describe('creating a room with invitees', () => {
  it('members join at once, invitees are invited, each once, the creator never', () => {
    const command: CreateRoom = {
      type: 'create_room',
      data: {
        room_id,
        type: 'group',
        name: 'General',
        member_ids: ['bob'],
        invitee_ids: ['carol', 'carol', 'alice', 'bob'],
      },
      metadata: meta('alice'),
    };
    given(roomDecider, [])
      .when(command)
      .then([
        { ...created, data: { ...created.data, created_at: T1 } },
        joined('alice', 'owner', 'alice', T1),
        joined('bob', 'member', 'alice', T1),
        invited('carol', 'alice', 'member', T1),
      ]);
  });
});

describe('invite_member', () => {
  it('an owner or admin invites with a role', () => {
    given(roomDecider, aliceOwns)
      .when(invite('alice', 'bob', 'admin'))
      .then([invited('bob', 'alice', 'admin', T1)]);
  });

  it('a plain member cannot invite', () => {
    given(roomDecider, [...aliceOwns, joined('bob', 'member', 'alice')])
      .when(invite('bob', 'carol'))
      .thenRejects('forbidden');
  });

  it('only an owner invites an owner', () => {
    given(roomDecider, [...aliceOwns, joined('bob', 'admin', 'alice')])
      .when(invite('bob', 'carol', 'owner'))
      .thenRejects('forbidden');
  });

  it('inviting a member is refused; inviting again changes nothing', () => {
    given(roomDecider, [...aliceOwns, joined('bob', 'member', 'alice')])
      .when(invite('alice', 'bob'))
      .thenRejects('already_member');
    given(roomDecider, [...aliceOwns, invited('bob', 'alice')])
      .when(invite('alice', 'bob'))
      .then([]);
  });
});

describe('answering an invitation', () => {
  it('accepting joins with the invited role, added by the inviter', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice', 'admin')])
      .when(accept('bob'))
      .then([joined('bob', 'admin', 'alice', T1)]);
  });

  it('an invitee is no member until they accept', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice')])
      .when(send('bob'))
      .thenRejects('room_not_found');
  });

  it('declining ends the invitation', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice')])
      .when(decline('bob'))
      .then([ended('bob', 'declined', 'bob')]);
  });

  it('without an invitation there is nothing to accept or decline', () => {
    given(roomDecider, aliceOwns).when(accept('mallory')).thenRejects('invitation_not_found');
    given(roomDecider, aliceOwns).when(decline('mallory')).thenRejects('invitation_not_found');
    given(roomDecider, [...aliceOwns, invited('bob', 'alice'), ended('bob', 'declined', 'bob')])
      .when(accept('bob'))
      .thenRejects('invitation_not_found');
  });

  it('accepting again once joined is no error', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice'), joined('bob', 'member', 'alice')])
      .when(accept('bob'))
      .then([]);
  });

  it('the system cannot accept for anyone', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice')])
      .when(accept(null))
      .thenRejects('forbidden');
  });
});

describe('withdrawing an invitation', () => {
  it('an owner or admin withdraws it by removing the invitee', () => {
    given(roomDecider, [...aliceOwns, invited('bob', 'alice')])
      .when(remove('alice', 'bob'))
      .then([ended('bob', 'withdrawn', 'alice')]);
  });

  it('a plain member cannot', () => {
    given(roomDecider, [...aliceOwns, joined('carol', 'member', 'alice'), invited('bob', 'alice')])
      .when(remove('carol', 'bob'))
      .thenRejects('forbidden');
  });
});
