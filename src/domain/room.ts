// The room aggregate: who belongs to a room, with which role, and the room's
// message sequence. Being decided by a single writer, `seq` is 1, 2, 3 … with
// no gaps, and a repeated `client_msg_id` from the same sender is recognised.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type RoomType = 'group' | 'direct';
export type Role = 'owner' | 'admin' | 'member';

export interface Attachment {
  url: string;
  mime_type: string;
  bytes: number;
  name: string | null;
}

// ── commands ────────────────────────────────────────────────────────────────

export type CreateRoom = Command<
  'create_room',
  { room_id: string; type: RoomType; name: string; member_ids: string[] }
>;
export type AddMember = Command<'add_member', { room_id: string; user_id: string; role: Role }>;
export type RemoveMember = Command<'remove_member', { room_id: string; user_id: string }>;
export type SendMessage = Command<
  'send_message',
  {
    room_id: string;
    message_id: string;
    client_msg_id: string;
    content: string;
    mime_type: string;
    reply_to: string | null;
    attachments: Attachment[];
  }
>;

export type RoomCommand = CreateRoom | AddMember | RemoveMember | SendMessage;

// ── events (names kept from the Go service where it had them) ─────────────────

export type RoomCreated = DomainEvent<
  'room_created',
  { room_id: string; type: RoomType; name: string; created_by: string; created_at: number }
>;
export type UserJoinedRoom = DomainEvent<
  'user_joined_room',
  { room_id: string; user_id: string; role: Role; added_by: string; joined_at: number }
>;
export type UserLeftRoom = DomainEvent<
  'user_left_room',
  { room_id: string; user_id: string; removed_by: string; left_at: number }
>;
export type MessageSent = DomainEvent<
  'message_sent',
  {
    room_id: string;
    message_id: string;
    seq: number;
    sender_id: string;
    client_msg_id: string;
    content: string;
    mime_type: string;
    reply_to: string | null;
    attachments: Attachment[];
    created_at: number;
  }
>;

export type RoomEvent = RoomCreated | UserJoinedRoom | UserLeftRoom | MessageSent;

// ── state ───────────────────────────────────────────────────────────────────

export interface Member {
  role: Role;
  joined_at: number;
}

export interface RoomState {
  exists: boolean;
  type: RoomType;
  name: string;
  members: Map<string, Member>;
  last_seq: number;
  /** `${sender_id}:${client_msg_id}` → seq of the message it produced. */
  client_msg_ids: Map<string, number>;
  /** message_id → seq, so a reply can be checked to point into this room. */
  message_ids: Map<string, number>;
}

export const initialRoomState = (): RoomState => ({
  exists: false,
  type: 'group',
  name: '',
  members: new Map(),
  last_seq: 0,
  client_msg_ids: new Map(),
  message_ids: new Map(),
});

export const roomAggregateId = (roomId: string): string => `room:${roomId}`;

// ── decide ──────────────────────────────────────────────────────────────────

export function decideRoom(command: RoomCommand, state: RoomState): RoomEvent[] {
  const actor = command.metadata.user_id;
  const at = command.metadata.at;
  if (actor === null) throw new Rejection('forbidden', 'room commands need a user');

  switch (command.type) {
    case 'create_room': {
      if (state.exists) throw new Rejection('already_exists', 'room already exists');
      const { room_id, type, name } = command.data;
      const others = [...new Set(command.data.member_ids)].filter((id) => id !== actor);
      return [
        { type: 'room_created', data: { room_id, type, name, created_by: actor, created_at: at } },
        joined(room_id, actor, type === 'group' ? 'owner' : 'member', actor, at),
        ...others.map((id) => joined(room_id, id, 'member', actor, at)),
      ];
    }

    case 'add_member': {
      requireMember(state, actor);
      requireManager(state, actor);
      const { room_id, user_id, role } = command.data;
      if (state.members.has(user_id)) throw new Rejection('already_member', 'already a member');
      if (role === 'owner' && state.members.get(actor)?.role !== 'owner') {
        throw new Rejection('forbidden', 'only an owner can add an owner');
      }
      return [joined(room_id, user_id, role, actor, at)];
    }

    case 'remove_member': {
      requireMember(state, actor);
      const { room_id, user_id } = command.data;
      const target = state.members.get(user_id);
      if (target === undefined) throw new Rejection('not_a_member', 'that user is not a member');
      if (user_id !== actor) {
        requireManager(state, actor);
        if (target.role === 'owner' && state.members.get(actor)?.role !== 'owner') {
          throw new Rejection('forbidden', 'only an owner can remove an owner');
        }
      }
      if (target.role === 'owner' && countOwners(state) === 1 && state.members.size > 1) {
        throw new Rejection('last_owner', 'the last owner must hand over ownership before leaving');
      }
      return [{ type: 'user_left_room', data: { room_id, user_id, removed_by: actor, left_at: at } }];
    }

    case 'send_message': {
      requireMember(state, actor);
      const d = command.data;
      const previous = state.client_msg_ids.get(`${actor}:${d.client_msg_id}`);
      if (previous !== undefined) return []; // a retry: the first message stands
      if (d.reply_to !== null && !state.message_ids.has(d.reply_to)) {
        throw new Rejection('message_not_found', 'reply_to is not a message of this room');
      }
      return [
        {
          type: 'message_sent',
          data: {
            room_id: d.room_id,
            message_id: d.message_id,
            seq: state.last_seq + 1,
            sender_id: actor,
            client_msg_id: d.client_msg_id,
            content: d.content,
            mime_type: d.mime_type,
            reply_to: d.reply_to,
            attachments: d.attachments,
            created_at: at,
          },
        },
      ];
    }

    default:
      return assertNever(command);
  }
}

function joined(room_id: string, user_id: string, role: Role, added_by: string, at: number): UserJoinedRoom {
  return { type: 'user_joined_room', data: { room_id, user_id, role, added_by, joined_at: at } };
}

function requireMember(state: RoomState, userId: string): void {
  // A missing room and a room you are not in look the same to the caller:
  // existence of other people's rooms is not revealed.
  if (!state.exists || !state.members.has(userId)) {
    throw new Rejection('room_not_found', 'room not found');
  }
}

function requireManager(state: RoomState, userId: string): void {
  const role = state.members.get(userId)?.role;
  if (role !== 'owner' && role !== 'admin') {
    throw new Rejection('forbidden', 'only an owner or admin can do that');
  }
}

function countOwners(state: RoomState): number {
  let owners = 0;
  for (const member of state.members.values()) if (member.role === 'owner') owners++;
  return owners;
}

// ── evolve ──────────────────────────────────────────────────────────────────

// `evolve` takes ownership of the state it is given: it updates the maps in
// place instead of copying them, because a room with a million messages would
// otherwise cost O(n²) to restore. Callers never look at a state again once
// they have passed it to `evolve` (the processor keeps only the latest).
export function evolveRoom(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case 'room_created':
      return { ...state, exists: true, type: event.data.type, name: event.data.name };
    case 'user_joined_room':
      state.members.set(event.data.user_id, {
        role: event.data.role,
        joined_at: event.data.joined_at,
      });
      return { ...state };
    case 'user_left_room':
      state.members.delete(event.data.user_id);
      return { ...state };
    case 'message_sent': {
      const { sender_id, client_msg_id, message_id, seq } = event.data;
      state.client_msg_ids.set(`${sender_id}:${client_msg_id}`, seq);
      state.message_ids.set(message_id, seq);
      return { ...state, last_seq: seq };
    }
    default:
      return assertNever(event);
  }
}

export const roomDecider = {
  initialState: initialRoomState,
  decide: decideRoom,
  evolve: evolveRoom,
};
