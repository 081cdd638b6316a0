// The room aggregate: who belongs to a room and with which role, the room's
// messages (numbered 1, 2, 3 … with no gaps, since one writer decides them),
// their edits, deletions, reactions and pins, and how far each member has read.
// Group rooms are managed by owners and admins; a direct room belongs to its
// two members, is opened for friends and closed by a block (the process
// manager in commands/direct-rooms.ts sends those system commands).
//
// Nobody is put into a group room without consent: the intake
// (commands/chat-service.ts) adds friends directly and invites everyone else;
// an invitee becomes a member only by accepting. (The decider cannot see
// friendships or blocks, which live in other aggregates: the intake checks
// them against the read model before it sends the command.)

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type RoomType = 'group' | 'direct';
export type Role = 'owner' | 'admin' | 'member';
/** What of a room notifies a member: everything, only mentions of them, nothing. */
export type NotificationLevel = 'all' | 'mentions' | 'none';

export interface Attachment {
  url: string;
  mime_type: string;
  bytes: number;
  name: string | null;
}

// ── commands ────────────────────────────────────────────────────────────────

type RoomCommandOf<T extends string, D = object> = Command<T, { room_id: string } & D>;

/** `member_ids` join at once; `invitee_ids` are invited (absent in commands older than invitations). */
export type CreateRoom = RoomCommandOf<
  'create_room',
  { type: RoomType; name: string; member_ids: string[]; invitee_ids?: string[] }
>;
/** `retention_days`: messages older than this are erased (owners only; null: kept as long as the server keeps them). */
export type UpdateRoom = RoomCommandOf<'update_room', { name?: string; topic?: string; retention_days?: number | null }>;
export type AddMember = RoomCommandOf<'add_member', { user_id: string; role: Role }>;
/** Removes a member, or withdraws a pending invitation of that user. */
export type RemoveMember = RoomCommandOf<'remove_member', { user_id: string }>;
export type InviteMember = RoomCommandOf<'invite_member', { user_id: string; role: Role }>;
/** Given by the invitee. */
export type AcceptInvitation = RoomCommandOf<'accept_invitation'>;
export type DeclineInvitation = RoomCommandOf<'decline_invitation'>;
export type ChangeRole = RoomCommandOf<'change_role', { user_id: string; role: Role }>;
export type SendMessage = RoomCommandOf<
  'send_message',
  {
    message_id: string;
    client_msg_id: string;
    content: string;
    mime_type: string;
    reply_to: string | null;
    attachments: Attachment[];
    mentions?: string[];
  }
>;
export type EditMessage = RoomCommandOf<'edit_message', { message_id: string; content: string; mentions?: string[] }>;
export type DeleteMessage = RoomCommandOf<'delete_message', { message_id: string }>;
export type React = RoomCommandOf<'react', { message_id: string; emoji: string; add: boolean }>;
/** Pins or unpins a message; `max_pins`: the room's limit (PARLEY_MAX_PINS, set at intake). */
export type PinMessage = RoomCommandOf<'pin_message', { message_id: string; pinned: boolean; max_pins: number }>;
export type MarkRead = RoomCommandOf<'mark_read', { seq: number }>;
/** The member's device has received the room up to seq (a delivery receipt). */
export type MarkDelivered = RoomCommandOf<'mark_delivered', { seq: number }>;
/** How a room notifies the member: `level`, and silence until `muted_until` (epoch ms; null: not muted). */
export type SetNotifications = RoomCommandOf<'set_notifications', { level: NotificationLevel; muted_until: number | null }>;
/** Follows a thread (the replies to `message_id`) or stops following it. */
export type FollowThread = RoomCommandOf<'follow_thread', { message_id: string; following: boolean }>;
/** The member has read the thread of `message_id` up to seq. */
export type MarkThreadRead = RoomCommandOf<'mark_thread_read', { message_id: string; seq: number }>;
/** Bans (removes, and keeps out until unbanned) or unbans a user; managers of a group room. */
export type BanMember = RoomCommandOf<'ban_member', { user_id: string; banned: boolean }>;
/** Mutes a member until `until` (epoch ms: they read, they cannot post, edit or react), or unmutes (null). */
export type MuteMember = RoomCommandOf<'mute_member', { user_id: string; until: number | null }>;
/** At least `interval_s` between two messages of a plain member (0: off); owners and admins are exempt. */
export type SetSlowMode = RoomCommandOf<'set_slow_mode', { interval_s: number }>;
/** System commands (no user): a block closes a direct room, a new friendship reopens it. */
export type CloseRoom = RoomCommandOf<'close_room'>;
export type ReopenRoom = RoomCommandOf<'reopen_room'>;
/** System command (no user): retention erases the room's messages up to `up_to_seq` (privacy/retention.ts). */
export type ExpireMessages = RoomCommandOf<'expire_messages', { up_to_seq: number }>;

export type RoomCommand =
  | CreateRoom
  | UpdateRoom
  | AddMember
  | RemoveMember
  | InviteMember
  | AcceptInvitation
  | DeclineInvitation
  | ChangeRole
  | SendMessage
  | EditMessage
  | DeleteMessage
  | React
  | PinMessage
  | MarkRead
  | MarkDelivered
  | FollowThread
  | MarkThreadRead
  | SetNotifications
  | BanMember
  | MuteMember
  | SetSlowMode
  | CloseRoom
  | ReopenRoom
  | ExpireMessages;

// ── events (names kept from the Go service where it had them) ─────────────────

type RoomEventOf<T extends string, D> = DomainEvent<T, { room_id: string } & D>;

export type RoomCreated = RoomEventOf<'room_created', { type: RoomType; name: string; created_by: string; created_at: number }>;
export type RoomUpdated = RoomEventOf<
  'room_updated',
  { name: string; topic: string; retention_days: number | null; updated_by: string; updated_at: number }
>;
export type UserJoinedRoom = RoomEventOf<
  'user_joined_room',
  { user_id: string; role: Role; added_by: string; joined_at: number }
>;
/** Someone was invited: they join only by accepting (user_joined_room, added_by the inviter). */
export type UserInvitedToRoom = RoomEventOf<
  'user_invited_to_room',
  { user_id: string; role: Role; invited_by: string; invited_at: number }
>;
/** A pending invitation ended without a join: the invitee declined it, or a manager withdrew it. */
export type RoomInvitationEnded = RoomEventOf<
  'room_invitation_ended',
  { user_id: string; reason: InvitationEndReason; ended_by: string; ended_at: number }
>;
export type InvitationEndReason = 'declined' | 'withdrawn';
export type UserLeftRoom = RoomEventOf<'user_left_room', { user_id: string; removed_by: string; left_at: number }>;
export type MemberRoleChanged = RoomEventOf<
  'member_role_changed',
  { user_id: string; role: Role; changed_by: string; changed_at: number }
>;
export type MessageSent = RoomEventOf<
  'message_sent',
  {
    message_id: string;
    seq: number;
    sender_id: string;
    client_msg_id: string;
    content: string;
    mime_type: string;
    reply_to: string | null;
    attachments: Attachment[];
    mentions: string[];
    created_at: number;
  }
>;
export type MessageEdited = RoomEventOf<
  'message_edited',
  { message_id: string; seq: number; content: string; mentions: string[]; edited_by: string; edited_at: number }
>;
export type MessageDeleted = RoomEventOf<
  'message_deleted',
  { message_id: string; seq: number; deleted_by: string; deleted_at: number }
>;
export type ReactionAdded = RoomEventOf<
  'reaction_added',
  { message_id: string; seq: number; emoji: string; user_id: string; at: number }
>;
export type ReactionRemoved = RoomEventOf<
  'reaction_removed',
  { message_id: string; seq: number; emoji: string; user_id: string; at: number }
>;
/** A message pinned to the room, or unpinned (a deleted or expired message loses its pin without an event). */
export type MessagePinned = RoomEventOf<
  'message_pinned',
  { message_id: string; seq: number; pinned_by: string; pinned_at: number }
>;
export type MessageUnpinned = RoomEventOf<
  'message_unpinned',
  { message_id: string; seq: number; unpinned_by: string; unpinned_at: number }
>;
export type MessagesRead = RoomEventOf<'messages_read', { user_id: string; seq: number; at: number }>;
export type MessagesDelivered = RoomEventOf<'messages_delivered', { user_id: string; seq: number; at: number }>;
export type NotificationsSet = RoomEventOf<
  'notifications_set',
  { user_id: string; level: NotificationLevel; muted_until: number | null; at: number }
>;
/** A member follows a thread, or stops (replying in it or being mentioned in it follows it again). */
export type ThreadFollowed = RoomEventOf<'thread_followed', { message_id: string; user_id: string; at: number }>;
export type ThreadUnfollowed = RoomEventOf<'thread_unfollowed', { message_id: string; user_id: string; at: number }>;
export type ThreadRead = RoomEventOf<'thread_read', { message_id: string; user_id: string; seq: number; at: number }>;
export type MemberBanned = RoomEventOf<'member_banned', { user_id: string; banned_by: string; banned_at: number }>;
export type MemberUnbanned = RoomEventOf<'member_unbanned', { user_id: string; unbanned_by: string; unbanned_at: number }>;
export type MemberMuted = RoomEventOf<'member_muted', { user_id: string; until: number; muted_by: string; muted_at: number }>;
export type MemberUnmuted = RoomEventOf<'member_unmuted', { user_id: string; unmuted_by: string; unmuted_at: number }>;
export type SlowModeSet = RoomEventOf<'slow_mode_set', { interval_s: number; set_by: string; set_at: number }>;
export type RoomClosed = RoomEventOf<'room_closed', { at: number }>;
export type RoomReopened = RoomEventOf<'room_reopened', { at: number }>;
/** Retention erased every message up to `up_to_seq`: they stay as tombstones, their keys destroyed. */
export type MessagesExpired = RoomEventOf<'messages_expired', { up_to_seq: number; expired_at: number }>;

export type RoomEvent =
  | RoomCreated
  | RoomUpdated
  | UserJoinedRoom
  | UserInvitedToRoom
  | RoomInvitationEnded
  | UserLeftRoom
  | MemberRoleChanged
  | MessageSent
  | MessageEdited
  | MessageDeleted
  | ReactionAdded
  | ReactionRemoved
  | MessagePinned
  | MessageUnpinned
  | MessagesRead
  | MessagesDelivered
  | ThreadFollowed
  | ThreadUnfollowed
  | ThreadRead
  | NotificationsSet
  | MemberBanned
  | MemberUnbanned
  | MemberMuted
  | MemberUnmuted
  | SlowModeSet
  | RoomClosed
  | RoomReopened
  | MessagesExpired;

// ── state ───────────────────────────────────────────────────────────────────

export interface Member {
  role: Role;
  joined_at: number;
  /** How the room notifies them (their own setting; 'all' and not muted until they change it). */
  notifications: { level: NotificationLevel; muted_until: number | null };
  last_read_seq: number;
  /** What a device of the member has received; reading implies it (the larger of the two counts). */
  last_delivered_seq: number;
}

export interface Invitation {
  role: Role;
  invited_by: string;
}

export interface MessageMeta {
  seq: number;
  sender_id: string;
  deleted: boolean;
  /** emoji → users who reacted with it (only for messages with reactions). */
  reactions: Map<string, Set<string>> | null;
}

export interface RoomState {
  exists: boolean;
  type: RoomType;
  name: string;
  topic: string;
  /** A closed direct room keeps its history but takes no new messages. */
  closed: boolean;
  retention_days: number | null;
  /** Retention erased every message up to this seq. */
  expired_up_to: number;
  members: Map<string, Member>;
  /** Pending invitations: invitee → what they would join as, and who invited them. */
  invitations: Map<string, Invitation>;
  last_seq: number;
  /** `clientMsgKey(sender_id, client_msg_id)` → seq of the message it produced. */
  client_msg_ids: Map<string, number>;
  /** message_id → what the rules about that message need. */
  messages: Map<string, MessageMeta>;
  /** Ids of the pinned messages. */
  pins: Set<string>;
  /** `${user_id}\n${message_id}` → how far the user has read that message's thread (their own replies count). */
  thread_marks: Map<string, number>;
  /** Users kept out of the room until unbanned. */
  banned: Set<string>;
  /** user → until when they are muted (kept when they leave: leaving does not end a mute). */
  muted: Map<string, number>;
  /** Seconds a plain member waits between two messages; 0: no slow mode. */
  slow_mode_s: number;
  /** user → when they last posted (for slow mode). */
  last_posted_at: Map<string, number>;
}

export const initialRoomState = (): RoomState => ({
  exists: false,
  type: 'group',
  name: '',
  topic: '',
  closed: false,
  retention_days: null,
  expired_up_to: 0,
  members: new Map(),
  invitations: new Map(),
  last_seq: 0,
  client_msg_ids: new Map(),
  messages: new Map(),
  pins: new Set(),
  thread_marks: new Map(),
  banned: new Set(),
  muted: new Map(),
  slow_mode_s: 0,
  last_posted_at: new Map(),
});

export const roomAggregateId = (roomId: string): string => `room:${roomId}`;
/** A sender's client_msg_id as `client_msg_ids` keys it. */
export const clientMsgKey = (senderId: string, clientMsgId: string): string => `${senderId}:${clientMsgId}`;

// ── decide ──────────────────────────────────────────────────────────────────

export function decideRoom(command: RoomCommand, state: RoomState): RoomEvent[] {
  const actor = command.metadata.user_id;
  const at = command.metadata.at;
  const room_id = command.data.room_id;

  // System commands first: they are the only ones without a user.
  if (command.type === 'expire_messages') {
    if (actor !== null) throw new Rejection('forbidden', 'only the system expires messages');
    const upTo = Math.min(command.data.up_to_seq, state.last_seq);
    if (upTo <= state.expired_up_to) return [];
    return [{ type: 'messages_expired', data: { room_id, up_to_seq: upTo, expired_at: at } }];
  }
  if (command.type === 'close_room' || command.type === 'reopen_room') {
    if (actor !== null) throw new Rejection('forbidden', 'only the system opens and closes direct rooms');
    if (command.type === 'close_room') return state.closed ? [] : [{ type: 'room_closed', data: { room_id, at } }];
    return state.closed ? [{ type: 'room_reopened', data: { room_id, at } }] : [];
  }
  if (command.type === 'create_room') return decideCreate(command, state, actor, at);
  if (actor === null) throw new Rejection('forbidden', 'room commands need a user');
  if (command.type === 'accept_invitation' || command.type === 'decline_invitation') {
    return decideInvitationAnswer(command, state, actor, at);
  }
  requireMember(state, actor);

  switch (command.type) {
    case 'update_room': {
      requireGroup(state);
      requireManager(state, actor);
      const name = command.data.name ?? state.name;
      const topic = command.data.topic ?? state.topic;
      const retention = command.data.retention_days === undefined ? state.retention_days : command.data.retention_days;
      if (retention !== state.retention_days && roleOf(state, actor) !== 'owner') {
        throw new Rejection('forbidden', 'only an owner decides how long messages are kept');
      }
      if (name === state.name && topic === state.topic && retention === state.retention_days) return [];
      return [
        {
          type: 'room_updated',
          data: { room_id, name, topic, retention_days: retention, updated_by: actor, updated_at: at },
        },
      ];
    }

    case 'add_member': {
      const { user_id, role } = command.data;
      requireMayBringIn(state, actor, user_id, role, 'add');
      return [joined(room_id, user_id, role, actor, at)];
    }

    case 'invite_member': {
      const { user_id, role } = command.data;
      requireMayBringIn(state, actor, user_id, role, 'invite');
      // Inviting again changes nothing: the first invitation stands.
      if (state.invitations.has(user_id)) return [];
      return [invited(room_id, user_id, role, actor, at)];
    }

    case 'remove_member': {
      requireGroup(state);
      const { user_id } = command.data;
      const target = state.members.get(user_id);
      if (target === undefined && state.invitations.has(user_id)) {
        requireManager(state, actor);
        return [invitationEnded(room_id, user_id, 'withdrawn', actor, at)];
      }
      if (target === undefined) throw new Rejection('not_a_member', 'that user is not a member');
      if (user_id !== actor) requireOutranks(state, actor, target.role, 'remove');
      if (target.role === 'owner' && countOwners(state) === 1 && state.members.size > 1) {
        throw new Rejection('last_owner', 'the last owner must hand over ownership before leaving');
      }
      return [{ type: 'user_left_room', data: { room_id, user_id, removed_by: actor, left_at: at } }];
    }

    case 'change_role': {
      requireGroup(state);
      const { user_id, role } = command.data;
      const target = state.members.get(user_id);
      if (target === undefined) throw new Rejection('not_a_member', 'that user is not a member');
      if (target.role === role) return [];
      if (user_id !== actor || target.role !== 'owner') requireOutranks(state, actor, target.role, 'change');
      if (role === 'owner' && roleOf(state, actor) !== 'owner') {
        throw new Rejection('forbidden', 'only an owner can make an owner');
      }
      if (target.role === 'owner' && countOwners(state) === 1) {
        throw new Rejection('last_owner', 'a room needs an owner: make someone else owner first');
      }
      return [{ type: 'member_role_changed', data: { room_id, user_id, role, changed_by: actor, changed_at: at } }];
    }

    case 'send_message': {
      const d = command.data;
      const previous = state.client_msg_ids.get(clientMsgKey(actor, d.client_msg_id));
      if (previous !== undefined) return []; // a retry: the first message stands
      if (state.closed) throw new Rejection('blocked', 'this conversation is closed');
      requireNotMuted(state, actor, at);
      requireSlowModeWait(state, actor, at);
      if (d.reply_to !== null && !state.messages.has(d.reply_to)) {
        throw new Rejection('message_not_found', 'reply_to is not a message of this room');
      }
      return [
        {
          type: 'message_sent',
          data: {
            room_id,
            message_id: d.message_id,
            seq: state.last_seq + 1,
            sender_id: actor,
            client_msg_id: d.client_msg_id,
            content: d.content,
            mime_type: d.mime_type,
            reply_to: d.reply_to,
            attachments: d.attachments,
            mentions: d.mentions ?? [],
            created_at: at,
          },
        },
      ];
    }

    case 'edit_message': {
      const message = requireMessage(state, command.data.message_id);
      if (message.sender_id !== actor) throw new Rejection('forbidden', 'only the author can edit a message');
      if (message.deleted) throw new Rejection('invalid_state', 'a deleted message cannot be edited');
      if (state.closed) throw new Rejection('blocked', 'this conversation is closed');
      requireNotMuted(state, actor, at);
      return [
        {
          type: 'message_edited',
          data: {
            room_id,
            message_id: command.data.message_id,
            seq: message.seq,
            content: command.data.content,
            mentions: command.data.mentions ?? [],
            edited_by: actor,
            edited_at: at,
          },
        },
      ];
    }

    case 'delete_message': {
      const message = requireMessage(state, command.data.message_id);
      if (message.sender_id !== actor && !isManager(state, actor)) {
        throw new Rejection('forbidden', 'only the author or an owner/admin can delete a message');
      }
      if (message.deleted) return [];
      return [
        {
          type: 'message_deleted',
          data: { room_id, message_id: command.data.message_id, seq: message.seq, deleted_by: actor, deleted_at: at },
        },
      ];
    }

    case 'react': {
      const { message_id, emoji, add } = command.data;
      const message = requireMessage(state, message_id);
      if (message.deleted) throw new Rejection('invalid_state', 'a deleted message takes no reactions');
      const reacted = message.reactions?.get(emoji)?.has(actor) ?? false;
      if (reacted === add) return [];
      requireNotMuted(state, actor, at);
      const type = add ? 'reaction_added' : 'reaction_removed';
      return [{ type, data: { room_id, message_id, seq: message.seq, emoji, user_id: actor, at } }];
    }

    case 'pin_message': {
      const { message_id, pinned, max_pins } = command.data;
      const message = requireMessage(state, message_id);
      if (state.closed) throw new Rejection('blocked', 'this conversation is closed');
      if (state.pins.has(message_id) === pinned) return [];
      if (!pinned) {
        return [
          { type: 'message_unpinned', data: { room_id, message_id, seq: message.seq, unpinned_by: actor, unpinned_at: at } },
        ];
      }
      if (message.deleted) throw new Rejection('invalid_state', 'a deleted message cannot be pinned');
      if (state.pins.size >= max_pins) {
        throw new Rejection('too_many_pins', `a room holds at most ${max_pins} pins; unpin one first`, { max_pins });
      }
      return [{ type: 'message_pinned', data: { room_id, message_id, seq: message.seq, pinned_by: actor, pinned_at: at } }];
    }

    case 'mark_read': {
      const seq = Math.min(command.data.seq, state.last_seq);
      if (seq <= (state.members.get(actor)?.last_read_seq ?? 0)) return [];
      return [{ type: 'messages_read', data: { room_id, user_id: actor, seq, at } }];
    }

    case 'ban_member':
      return decideBan(command, state, actor, at);

    case 'mute_member': {
      requireGroup(state);
      const { user_id, until } = command.data;
      const target = state.members.get(user_id);
      if (target === undefined) throw new Rejection('not_a_member', 'that user is not a member');
      if (user_id === actor) throw new Rejection('forbidden', 'you cannot mute yourself');
      requireOutranks(state, actor, target.role, 'mute');
      if (until === null) {
        if (!isMuted(state, user_id, at)) return [];
        return [{ type: 'member_unmuted', data: { room_id, user_id, unmuted_by: actor, unmuted_at: at } }];
      }
      if (until <= at) throw new Rejection('invalid_state', 'a mute ends in the future');
      return [{ type: 'member_muted', data: { room_id, user_id, until, muted_by: actor, muted_at: at } }];
    }

    case 'set_slow_mode': {
      requireGroup(state);
      requireManager(state, actor);
      const { interval_s } = command.data;
      if (interval_s === state.slow_mode_s) return [];
      return [{ type: 'slow_mode_set', data: { room_id, interval_s, set_by: actor, set_at: at } }];
    }

    case 'set_notifications': {
      const { level, muted_until } = command.data;
      if (muted_until !== null && muted_until <= at) throw new Rejection('invalid_state', 'a mute ends in the future');
      const current = state.members.get(actor)!.notifications;
      if (current.level === level && current.muted_until === muted_until) return [];
      return [{ type: 'notifications_set', data: { room_id, user_id: actor, level, muted_until, at } }];
    }

    case 'follow_thread': {
      const { message_id, following } = command.data;
      requireMessage(state, message_id);
      // Who follows what is the read model's (replies and mentions follow
      // threads there): asking twice records the wish twice, harmlessly.
      const type = following ? 'thread_followed' : 'thread_unfollowed';
      return [{ type, data: { room_id, message_id, user_id: actor, at } }];
    }

    case 'mark_thread_read': {
      const { message_id } = command.data;
      requireMessage(state, message_id);
      const seq = Math.min(command.data.seq, state.last_seq);
      if (seq <= (state.thread_marks.get(threadMarkKey(actor, message_id)) ?? 0)) return [];
      return [{ type: 'thread_read', data: { room_id, message_id, user_id: actor, seq, at } }];
    }

    case 'mark_delivered': {
      const seq = Math.min(command.data.seq, state.last_seq);
      const member = state.members.get(actor);
      // What the member has read is delivered already: no receipt says it again.
      if (seq <= Math.max(member?.last_delivered_seq ?? 0, member?.last_read_seq ?? 0)) return [];
      return [{ type: 'messages_delivered', data: { room_id, user_id: actor, seq, at } }];
    }

    default:
      return assertNever(command);
  }
}

function decideCreate(command: CreateRoom, state: RoomState, actor: string | null, at: number): RoomEvent[] {
  const { room_id, type, name } = command.data;
  if (type === 'group') {
    if (actor === null) throw new Rejection('forbidden', 'room commands need a user');
    if (state.exists) throw new Rejection('already_exists', 'room already exists');
    const others = [...new Set(command.data.member_ids)].filter((id) => id !== actor);
    const invitees = [...new Set(command.data.invitee_ids ?? [])].filter((id) => id !== actor && !others.includes(id));
    return [
      { type: 'room_created', data: { room_id, type, name, created_by: actor, created_at: at } },
      joined(room_id, actor, 'owner', actor, at),
      ...others.map((id) => joined(room_id, id, 'member', actor, at)),
      ...invitees.map((id) => invited(room_id, id, 'member', actor, at)),
    ];
  }
  // A direct room has one id per pair, so asking for it again is no error.
  if (state.exists) return [];
  const pair = [...new Set([...(actor === null ? [] : [actor]), ...command.data.member_ids])].sort();
  if (pair.length !== 2) throw new Rejection('invalid_state', 'a direct room is between exactly two users');
  const creator = actor ?? pair[0]!;
  const events: RoomEvent[] = [
    { type: 'room_created', data: { room_id, type, name, created_by: creator, created_at: at } },
    ...pair.map((id) => joined(room_id, id, 'member', creator, at)),
  ];
  // Closed before it existed (a block raced the creation): it stays closed.
  if (state.closed) events.push({ type: 'room_closed', data: { room_id, at } });
  return events;
}

/**
 * A ban removes a member (or withdraws their invitation) and keeps them out
 * until unbanned; a user who is not in the room can be banned ahead. Owners ban
 * anyone, admins plain members and outsiders.
 */
function decideBan(command: BanMember, state: RoomState, actor: string, at: number): RoomEvent[] {
  requireGroup(state);
  const room_id = command.data.room_id;
  const { user_id, banned } = command.data;
  requireManager(state, actor);
  if (!banned) {
    if (!state.banned.has(user_id)) return [];
    return [{ type: 'member_unbanned', data: { room_id, user_id, unbanned_by: actor, unbanned_at: at } }];
  }
  if (user_id === actor) throw new Rejection('forbidden', 'you cannot ban yourself');
  if (state.banned.has(user_id)) return [];
  const target = state.members.get(user_id);
  const events: RoomEvent[] = [];
  if (target !== undefined) {
    requireOutranks(state, actor, target.role, 'ban');
    events.push({ type: 'user_left_room', data: { room_id, user_id, removed_by: actor, left_at: at } });
  } else if (state.invitations.has(user_id)) {
    events.push(invitationEnded(room_id, user_id, 'withdrawn', actor, at));
  }
  events.push({ type: 'member_banned', data: { room_id, user_id, banned_by: actor, banned_at: at } });
  return events;
}

const isMuted = (state: RoomState, userId: string, at: number): boolean => (state.muted.get(userId) ?? 0) > at;

function requireNotMuted(state: RoomState, userId: string, at: number): void {
  if (!isMuted(state, userId, at)) return;
  const until = state.muted.get(userId)!;
  throw new Rejection('muted', 'you are muted in this room', { muted_until: until });
}

/** Slow mode: a plain member waits `slow_mode_s` after their last message; owners and admins do not. */
function requireSlowModeWait(state: RoomState, userId: string, at: number): void {
  if (state.slow_mode_s === 0 || isManager(state, userId)) return;
  const last = state.last_posted_at.get(userId);
  if (last === undefined) return;
  const waitMs = last + state.slow_mode_s * 1000 - at;
  if (waitMs <= 0) return;
  throw new Rejection('slow_mode', `slow mode: one message every ${state.slow_mode_s} s`, {
    retry_after_s: Math.ceil(waitMs / 1000),
  });
}

/** The invitee answers: accepting joins with the invited role, added by the inviter. */
function decideInvitationAnswer(
  command: AcceptInvitation | DeclineInvitation,
  state: RoomState,
  actor: string,
  at: number,
): RoomEvent[] {
  const room_id = command.data.room_id;
  const invitation = state.invitations.get(actor);
  if (invitation === undefined) {
    // Answering twice is no error; an invitation that never was looks like no room.
    if (state.exists && state.members.has(actor) && command.type === 'accept_invitation') return [];
    throw new Rejection('invitation_not_found', 'no pending invitation to this room');
  }
  if (command.type === 'decline_invitation') return [invitationEnded(room_id, actor, 'declined', actor, at)];
  return [joined(room_id, actor, invitation.role, invitation.invited_by, at)];
}

function joined(room_id: string, user_id: string, role: Role, added_by: string, at: number): UserJoinedRoom {
  return { type: 'user_joined_room', data: { room_id, user_id, role, added_by, joined_at: at } };
}

function invited(room_id: string, user_id: string, role: Role, invited_by: string, at: number): UserInvitedToRoom {
  return { type: 'user_invited_to_room', data: { room_id, user_id, role, invited_by, invited_at: at } };
}

function invitationEnded(
  room_id: string,
  user_id: string,
  reason: InvitationEndReason,
  ended_by: string,
  at: number,
): RoomInvitationEnded {
  return { type: 'room_invitation_ended', data: { room_id, user_id, reason, ended_by, ended_at: at } };
}

const roleOf = (state: RoomState, userId: string): Role | undefined => state.members.get(userId)?.role;
const isManager = (state: RoomState, userId: string): boolean => {
  const role = roleOf(state, userId);
  return role === 'owner' || role === 'admin';
};
const rank: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

function requireMember(state: RoomState, userId: string): void {
  // A missing room and a room you are not in look the same to the caller:
  // existence of other people's rooms is not revealed.
  if (!state.exists || !state.members.has(userId)) {
    throw new Rejection('room_not_found', 'room not found');
  }
}

function requireGroup(state: RoomState): void {
  if (state.type !== 'group') throw new Rejection('invalid_state', 'a direct room keeps its two members');
}

function requireManager(state: RoomState, userId: string): void {
  if (!isManager(state, userId)) throw new Rejection('forbidden', 'only an owner or admin can do that');
}

/** Adding and inviting alike: managers of a group room, for someone not in it, and owners only make owners. */
function requireMayBringIn(state: RoomState, actor: string, userId: string, role: Role, verb: string): void {
  requireGroup(state);
  requireManager(state, actor);
  if (state.members.has(userId)) throw new Rejection('already_member', 'already a member');
  if (state.banned.has(userId)) throw new Rejection('banned', 'that user is banned from this room; unban them first');
  if (role === 'owner' && roleOf(state, actor) !== 'owner') {
    throw new Rejection('forbidden', `only an owner can ${verb} an owner`);
  }
}

/** Owners act on anyone; admins only on plain members. */
function requireOutranks(state: RoomState, actor: string, targetRole: Role, verb: string): void {
  requireManager(state, actor);
  const actorRole = roleOf(state, actor)!;
  if (actorRole !== 'owner' && rank[targetRole] >= rank[actorRole]) {
    throw new Rejection('forbidden', `only an owner can ${verb} an ${targetRole}`);
  }
}

const threadMarkKey = (userId: string, messageId: string) => `${userId}\n${messageId}`;

function raiseThreadMark(state: RoomState, userId: string, messageId: string, seq: number): void {
  const key = threadMarkKey(userId, messageId);
  state.thread_marks.set(key, Math.max(state.thread_marks.get(key) ?? 0, seq));
}

function requireMessage(state: RoomState, messageId: string): MessageMeta {
  const message = state.messages.get(messageId);
  if (message === undefined) throw new Rejection('message_not_found', 'message not found');
  return message;
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
    case 'room_updated':
      return { ...state, name: event.data.name, topic: event.data.topic, retention_days: event.data.retention_days };
    case 'user_joined_room':
      state.members.set(event.data.user_id, {
        role: event.data.role,
        joined_at: event.data.joined_at,
        notifications: { level: 'all', muted_until: null },
        last_read_seq: 0,
        last_delivered_seq: 0,
      });
      state.invitations.delete(event.data.user_id);
      return { ...state };
    case 'user_invited_to_room':
      state.invitations.set(event.data.user_id, { role: event.data.role, invited_by: event.data.invited_by });
      return { ...state };
    case 'room_invitation_ended':
      state.invitations.delete(event.data.user_id);
      return { ...state };
    case 'user_left_room':
      state.members.delete(event.data.user_id);
      return { ...state };
    case 'member_role_changed': {
      const member = state.members.get(event.data.user_id);
      if (member !== undefined) state.members.set(event.data.user_id, { ...member, role: event.data.role });
      return { ...state };
    }
    case 'message_sent': {
      const { sender_id, client_msg_id, message_id, seq } = event.data;
      state.client_msg_ids.set(clientMsgKey(sender_id, client_msg_id), seq);
      state.messages.set(message_id, { seq, sender_id, deleted: false, reactions: null });
      const sender = state.members.get(sender_id);
      if (sender !== undefined) sender.last_read_seq = seq;
      state.last_posted_at.set(sender_id, event.data.created_at);
      // Replying reads the thread up to one's own reply.
      if (event.data.reply_to !== null) raiseThreadMark(state, sender_id, event.data.reply_to, seq);
      return { ...state, last_seq: seq };
    }
    case 'message_edited':
      return state;
    case 'message_deleted': {
      const message = state.messages.get(event.data.message_id);
      if (message !== undefined) {
        message.deleted = true;
        message.reactions = null;
      }
      state.pins.delete(event.data.message_id);
      return { ...state };
    }
    case 'message_pinned':
      state.pins.add(event.data.message_id);
      return { ...state };
    case 'message_unpinned':
      state.pins.delete(event.data.message_id);
      return { ...state };
    case 'reaction_added':
    case 'reaction_removed': {
      const message = state.messages.get(event.data.message_id);
      if (message === undefined) return state;
      const reactions = (message.reactions ??= new Map<string, Set<string>>());
      let users = reactions.get(event.data.emoji);
      if (users === undefined) reactions.set(event.data.emoji, (users = new Set<string>()));
      if (event.type === 'reaction_added') users.add(event.data.user_id);
      else users.delete(event.data.user_id);
      if (users.size === 0) reactions.delete(event.data.emoji);
      if (reactions.size === 0) message.reactions = null;
      return { ...state };
    }
    case 'messages_read': {
      const member = state.members.get(event.data.user_id);
      if (member !== undefined) member.last_read_seq = Math.max(member.last_read_seq, event.data.seq);
      return { ...state };
    }
    case 'member_banned':
      state.banned.add(event.data.user_id);
      return { ...state };
    case 'member_unbanned':
      state.banned.delete(event.data.user_id);
      return { ...state };
    case 'member_muted':
      state.muted.set(event.data.user_id, event.data.until);
      return { ...state };
    case 'member_unmuted':
      state.muted.delete(event.data.user_id);
      return { ...state };
    case 'slow_mode_set':
      return { ...state, slow_mode_s: event.data.interval_s };
    case 'thread_followed':
    case 'thread_unfollowed':
      return state;
    case 'notifications_set': {
      const member = state.members.get(event.data.user_id);
      if (member !== undefined) member.notifications = { level: event.data.level, muted_until: event.data.muted_until };
      return { ...state };
    }
    case 'thread_read':
      raiseThreadMark(state, event.data.user_id, event.data.message_id, event.data.seq);
      return { ...state };
    case 'messages_delivered': {
      const member = state.members.get(event.data.user_id);
      if (member !== undefined) member.last_delivered_seq = Math.max(member.last_delivered_seq, event.data.seq);
      return { ...state };
    }
    case 'room_closed':
      return { ...state, closed: true };
    case 'room_reopened':
      return { ...state, closed: false };
    case 'messages_expired':
      for (const [id, message] of state.messages) {
        if (message.seq <= event.data.up_to_seq) {
          message.deleted = true;
          message.reactions = null;
          state.pins.delete(id);
        }
      }
      return { ...state, expired_up_to: event.data.up_to_seq };
    default:
      return assertNever(event);
  }
}

export const roomDecider = {
  initialState: initialRoomState,
  decide: decideRoom,
  evolve: evolveRoom,
};

// ── cold entries ────────────────────────────────────────────────────────────
//
// A room's `messages` and `client_msg_ids` grow with its history. The
// processor keeps only some of them in memory and the rest in its snapshots
// (commands/snapshots.ts), so a room with a million messages restores as fast
// as a new one. These functions tell it which entries a command or an event
// needs: it loads those first, so the rules above always see every entry they
// ask about.

/** The messages a command's rules look up. */
export function messagesReadBy(command: RoomCommand): string[] {
  switch (command.type) {
    case 'send_message':
      return command.data.reply_to === null ? [] : [command.data.reply_to];
    case 'edit_message':
    case 'delete_message':
    case 'react':
    case 'pin_message':
    case 'follow_thread':
    case 'mark_thread_read':
      return [command.data.message_id];
    default:
      return [];
  }
}

/**
 * The messages an event reads or changes in `messages` (a new message counts:
 * it must be written at the next snapshot). Retention's `messages_expired`
 * lists none: a message loaded later is marked expired by `messageLoaded`.
 * A pin makes its message one kept in memory (`messagesKeptHot`): retention
 * unpins what it erases by finding it there, so a pin replayed after a
 * snapshot must load it as the pin command did.
 */
export function messagesChangedBy(event: RoomEvent): string[] {
  switch (event.type) {
    case 'message_sent':
    case 'message_deleted':
    case 'reaction_added':
    case 'reaction_removed':
    case 'message_pinned':
      return [event.data.message_id];
    default:
      return [];
  }
}

/** The client_msg_id a command's rules look up (is it a retry?). */
export function clientMsgIdsReadBy(command: RoomCommand): string[] {
  const sender = command.metadata.user_id;
  return command.type === 'send_message' && sender !== null ? [clientMsgKey(sender, command.data.client_msg_id)] : [];
}

/** The client_msg_id an event records. */
export function clientMsgIdsChangedBy(event: RoomEvent): string[] {
  return event.type === 'message_sent' ? [clientMsgKey(event.data.sender_id, event.data.client_msg_id)] : [];
}

/** A message loaded from a snapshot, as the room holds it now (retention may have erased it since). */
export function messageLoaded(state: RoomState, message: MessageMeta): MessageMeta {
  if (message.seq > state.expired_up_to || message.deleted) return message;
  return { ...message, deleted: true, reactions: null };
}

/** The messages that stay in memory whatever the processor evicts: the pinned ones (retention unpins them). */
export const messagesKeptHot = (state: RoomState): ReadonlySet<string> => state.pins;
