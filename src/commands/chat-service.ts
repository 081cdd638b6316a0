// The chat commands a client can give, as one service both the REST routes and
// the WebSocket frames call: build the command, execute it (outcome + read-
// your-writes), and answer with the read model's view of the result.

import type { Kysely } from 'kysely';
import { Rejection } from '../domain/decider.ts';
import type { Attachment, Role } from '../domain/room.ts';
import { newId } from '../ids.ts';
import { messageKeyId, userKeyId } from '../privacy/key-store.ts';
import { KeyErased, type PersonalDataVault } from '../privacy/vault.ts';
import { findMessage, findMessageByClientId } from '../queries/messages-queries.ts';
import { roomReads, type RoomReads } from '../queries/room-reads.ts';
import { findInvitation, findMyNotifications, type RoomDetail, type RoomNotifications } from '../queries/rooms-queries.ts';
import { areFriends, blockedAmong, blockedBetween, friendsAmong } from '../queries/social-queries.ts';
import { threadStateOf } from '../queries/threads-queries.ts';
import { findUserById } from '../queries/users-queries.ts';
import type { MessageView, UserView } from '../queries/wire.ts';
import type { Database } from '../store/schema.ts';
import { confirmedUpload } from '../uploads/uploads.ts';
import { commandMetadata } from './command-bus.ts';
import type { CommandRateLimits } from './command-rate-limits.ts';
import { directRoomId } from './direct-rooms.ts';
import type { Accepted, CommandExecutor } from './execute.ts';
import type { SendMessageInput } from './inputs.ts';
import { mentionedMembers } from './mentions.ts';
import { requireUsers } from './preconditions.ts';
import { noPreSendHook, type PreSendHook } from './presend-hook.ts';

export interface ChatService {
  /** Creates a group room: friends among `member_ids` join at once, everyone else is invited. */
  createRoom(userId: string, input: { name: string; member_ids: string[] }): Promise<RoomDetail>;
  /** Adds a friend at once; invites anyone else. */
  addMember(userId: string, roomId: string, input: { user_id: string; role: Role }): Promise<RoomDetail>;
  /** The invitee joins; answers with the room as a member sees it. */
  acceptInvitation(userId: string, roomId: string): Promise<RoomDetail>;
  declineInvitation(userId: string, roomId: string): Promise<void>;
  removeMember(userId: string, roomId: string, memberId: string): Promise<void>;
  /** Posts a message and answers with it as the read model holds it (read-your-writes). */
  sendMessage(userId: string, roomId: string, input: SendMessageInput): Promise<MessageView>;
  /** Posts a message; resolves once it is in the log (not yet readable). */
  postMessage(userId: string, roomId: string, input: SendMessageInput): Promise<Accepted>;
  /** The message `postMessage` accepted, read back once the read model has it. */
  postedMessage(userId: string, roomId: string, clientMsgId: string, accepted: Accepted): Promise<MessageView>;
  updateRoom(
    userId: string,
    roomId: string,
    input: { name?: string | undefined; topic?: string | undefined; retention_days?: number | null | undefined },
  ): Promise<RoomDetail>;
  changeRole(userId: string, roomId: string, memberId: string, role: Role): Promise<RoomDetail>;
  editMessage(userId: string, roomId: string, messageId: string, content: string): Promise<MessageView>;
  deleteMessage(userId: string, roomId: string, messageId: string): Promise<MessageView>;
  react(userId: string, roomId: string, messageId: string, emoji: string, add: boolean): Promise<MessageView>;
  /** Pins (or unpins) a message of the room; any member may. */
  pin(userId: string, roomId: string, messageId: string, pinned: boolean): Promise<void>;
  /** How the room notifies the user; resolves with the setting as it stands. */
  setNotifications(userId: string, roomId: string, settings: RoomNotifications): Promise<RoomNotifications>;
  /** Follows the thread of a message (the replies to it), or stops following it. */
  followThread(userId: string, roomId: string, messageId: string, following: boolean): Promise<void>;
  /** Moves the user's read mark of a thread forward; resolves with where it stands. */
  markThreadRead(userId: string, roomId: string, messageId: string, seq: number): Promise<number>;
  /** Moves the user's read marker forward; resolves with where it stands. */
  markRead(userId: string, roomId: string, seq: number): Promise<number>;
  /** Bans (removes and keeps out) or unbans a user; owners and admins. */
  ban(userId: string, roomId: string, targetId: string, banned: boolean): Promise<void>;
  /** Mutes a member for `durationS` seconds (null: unmutes); owners and admins. */
  mute(userId: string, roomId: string, targetId: string, durationS: number | null): Promise<RoomDetail>;
  /** Sets slow mode (0: off); owners and admins. */
  setSlowMode(userId: string, roomId: string, intervalS: number): Promise<RoomDetail>;
  /** Moves the user's delivery marker forward (a device received the room up to seq); resolves with where it stands. */
  markDelivered(userId: string, roomId: string, seq: number): Promise<number>;
  /** The one direct room of the pair; needs a friendship and no block. */
  openDirectRoom(userId: string, otherId: string): Promise<RoomDetail>;
  updateProfile(
    userId: string,
    input: { display_name?: string | undefined; bio?: string | undefined; avatar_url?: string | null | undefined },
  ): Promise<UserView>;
}

export function createChatService(options: {
  executor: CommandExecutor;
  db: Kysely<Database>;
  /** Room details, cached when the server has a read cache; without: from `db`. */
  rooms?: RoomReads;
  vault: PersonalDataVault;
  /** Every method first charges the user's budget for the command it gives, before any work. */
  rateLimits: CommandRateLimits;
  /** PARLEY_MAX_PINS: pins a room may hold. */
  maxPins: number;
  /** Who of these users is online (presence), for `@here`; without it `@here` is only a name. */
  online?: (userIds: string[]) => Promise<Set<string>>;
  /** Asked before a message is sent or edited (presend-hook.ts); none: every message goes as written. */
  preSendHook?: PreSendHook;
}): ChatService {
  const { executor, db, vault, rateLimits } = options;
  const rooms = options.rooms ?? roomReads(db);
  const hook = options.preSendHook ?? noPreSendHook;
  const mentioned = (roomId: string, content: string, senderId: string) =>
    mentionedMembers(db, roomId, content, senderId, options.online);

  /**
   * Attachments must be uploads the sender made for this room and that the
   * storage confirmed; their type and size come from that record, not from the
   * client. Anyone else's upload looks like no upload at all.
   */
  async function confirmedAttachments(userId: string, roomId: string, attachments: Attachment[]): Promise<Attachment[]> {
    const confirmed: Attachment[] = [];
    for (const attachment of attachments) {
      const upload = await confirmedUpload(db, userId, attachment.url);
      if (upload === undefined || upload.purpose !== 'attachment' || upload.room_id !== roomId) {
        throw new Rejection('attachment_not_found', 'attachment is not a confirmed upload of yours for this room', {
          url: attachment.url,
        });
      }
      confirmed.push({ url: upload.url, mime_type: upload.mime_type, bytes: upload.bytes, name: attachment.name });
    }
    return confirmed;
  }

  async function messageAsSeen(roomId: string, messageId: string): Promise<MessageView> {
    const message = await findMessage(db, roomId, messageId);
    if (message === undefined) throw new Rejection('message_not_found', 'message not found');
    return message;
  }

  async function roomAsSeenBy(userId: string, roomId: string): Promise<RoomDetail> {
    const room = await rooms.roomForMember(roomId, userId);
    if (room === undefined) throw new Rejection('room_not_found', 'room not found');
    return room;
  }

  /**
   * Who may be put into a room by `userId`, and how (API.md "Invitations"):
   * across a block, nobody — either way round; friends join at once; anyone
   * else is invited and joins only by accepting. (The room decider cannot see
   * friendships or blocks; they are read here, as openDirectRoom does.)
   */
  async function admission(userId: string, others: string[]): Promise<{ join: string[]; invite: string[] }> {
    const candidates = [...new Set(others)].filter((id) => id !== userId);
    await requireUsers(db, candidates);
    if ((await blockedAmong(db, userId, candidates)).size > 0) {
      throw new Rejection('blocked', 'you cannot add a user you blocked or who blocked you');
    }
    const friends = await friendsAmong(db, userId, candidates);
    return { join: candidates.filter((id) => friends.has(id)), invite: candidates.filter((id) => !friends.has(id)) };
  }

  const service: ChatService = {
    async createRoom(userId, input) {
      await rateLimits.charge(userId, 'create_room');
      const { join, invite } = await admission(userId, input.member_ids);
      const roomId = newId();
      await executor.executeFor(userId, {
        type: 'create_room',
        data: { room_id: roomId, type: 'group', name: input.name, member_ids: join, invitee_ids: invite },
      });
      return roomAsSeenBy(userId, roomId);
    },

    async addMember(userId, roomId, input) {
      await rateLimits.charge(userId, 'add_member');
      const { join } = await admission(userId, [input.user_id]);
      await executor.executeFor(userId, {
        type: join.length > 0 ? 'add_member' : 'invite_member',
        data: { room_id: roomId, user_id: input.user_id, role: input.role },
      });
      return roomAsSeenBy(userId, roomId);
    },

    async acceptInvitation(userId, roomId) {
      await rateLimits.charge(userId, 'accept_invitation');
      const invitation = await findInvitation(db, roomId, userId);
      // A block that came after the invitation ends it too: the invitee cannot join the blocker's room.
      if (invitation !== undefined && (await blockedBetween(db, userId, invitation.invited_by))) {
        throw new Rejection('blocked', 'you cannot join a room of a user you blocked or who blocked you');
      }
      await executor.executeFor(userId, { type: 'accept_invitation', data: { room_id: roomId } });
      return roomAsSeenBy(userId, roomId);
    },

    async declineInvitation(userId, roomId) {
      await rateLimits.charge(userId, 'decline_invitation');
      await executor.executeFor(userId, { type: 'decline_invitation', data: { room_id: roomId } });
    },

    async removeMember(userId, roomId, memberId) {
      await rateLimits.charge(userId, 'remove_member');
      await executor.executeFor(userId, { type: 'remove_member', data: { room_id: roomId, user_id: memberId } });
    },

    async postMessage(userId, roomId, input) {
      await rateLimits.charge(userId, 'send_message');
      const attachments = await confirmedAttachments(userId, roomId, input.attachments);
      const content = await hook.review({
        action: 'message.send',
        room_id: roomId,
        sender_id: userId,
        content: input.content,
        attachments: attachments.map(({ mime_type, bytes, name }) => ({ mime_type, bytes, name })),
      });
      const mentions = await mentioned(roomId, content, userId);
      // What the message says enters the log sealed under its own key, which
      // deleting it destroys (privacy/vault.ts).
      const { messageId, sealer } = await vault.newMessage();
      return executor.accept({
        type: 'send_message',
        data: {
          room_id: roomId,
          message_id: messageId,
          client_msg_id: input.client_msg_id,
          content: sealer.seal(content),
          mime_type: input.mime_type,
          reply_to: input.reply_to,
          attachments: attachments.map((a) => ({ ...a, url: sealer.seal(a.url), name: sealer.sealOptional(a.name) })),
          mentions,
        },
        metadata: commandMetadata(userId),
      });
    },

    async postedMessage(userId, roomId, clientMsgId, accepted) {
      await executor.readable(accepted);
      // A retried client_msg_id finds the first message, not a new one.
      const message = await findMessageByClientId(db, roomId, userId, clientMsgId);
      if (message === undefined) throw new Error('accepted message is missing from the read model');
      return message;
    },

    async sendMessage(userId, roomId, input) {
      const accepted = await service.postMessage(userId, roomId, input);
      return service.postedMessage(userId, roomId, input.client_msg_id, accepted);
    },

    async updateRoom(userId, roomId, input) {
      await rateLimits.charge(userId, 'update_room');
      await executor.executeFor(userId, { type: 'update_room', data: { room_id: roomId, ...input } });
      return roomAsSeenBy(userId, roomId);
    },

    async changeRole(userId, roomId, memberId, role) {
      await rateLimits.charge(userId, 'change_role');
      await executor.executeFor(userId, { type: 'change_role', data: { room_id: roomId, user_id: memberId, role } });
      return roomAsSeenBy(userId, roomId);
    },

    async editMessage(userId, roomId, messageId, written) {
      await rateLimits.charge(userId, 'edit_message');
      const content = await hook.review({
        action: 'message.edit',
        room_id: roomId,
        sender_id: userId,
        message_id: messageId,
        content: written,
        attachments: [],
      });
      const mentions = await mentioned(roomId, content, userId);
      // The new text goes under the message's own key, so deleting the
      // message erases every version of it.
      const message = await messageAsSeen(roomId, messageId);
      if (message.erased) throw new Rejection('invalid_state', 'a deleted message cannot be edited');
      const sealer = await vault.sealerFor(messageKeyId(messageId)).catch((error: unknown) => {
        if (error instanceof KeyErased) throw new Rejection('invalid_state', 'a deleted message cannot be edited');
        throw error;
      });
      await executor.executeFor(userId, {
        type: 'edit_message',
        data: { room_id: roomId, message_id: messageId, content: sealer.seal(content), mentions },
      });
      return messageAsSeen(roomId, messageId);
    },

    async deleteMessage(userId, roomId, messageId) {
      await rateLimits.charge(userId, 'delete_message');
      await executor.executeFor(userId, { type: 'delete_message', data: { room_id: roomId, message_id: messageId } });
      return messageAsSeen(roomId, messageId);
    },

    async react(userId, roomId, messageId, emoji, add) {
      await rateLimits.charge(userId, 'react');
      await executor.executeFor(userId, { type: 'react', data: { room_id: roomId, message_id: messageId, emoji, add } });
      return messageAsSeen(roomId, messageId);
    },

    async pin(userId, roomId, messageId, pinned) {
      await rateLimits.charge(userId, 'pin_message');
      await executor.executeFor(userId, {
        type: 'pin_message',
        data: { room_id: roomId, message_id: messageId, pinned, max_pins: options.maxPins },
      });
    },

    async setNotifications(userId, roomId, { level, muted_until }) {
      await rateLimits.charge(userId, 'set_notifications');
      await executor.executeFor(userId, { type: 'set_notifications', data: { room_id: roomId, level, muted_until } });
      const settings = await findMyNotifications(db, roomId, userId);
      if (settings === undefined) throw new Rejection('room_not_found', 'room not found');
      return settings;
    },

    async followThread(userId, roomId, messageId, following) {
      await rateLimits.charge(userId, 'follow_thread');
      await executor.executeFor(userId, { type: 'follow_thread', data: { room_id: roomId, message_id: messageId, following } });
    },

    async markThreadRead(userId, roomId, messageId, seq) {
      await rateLimits.charge(userId, 'mark_thread_read');
      await executor.executeFor(userId, { type: 'mark_thread_read', data: { room_id: roomId, message_id: messageId, seq } });
      return (await threadStateOf(db, userId, messageId)).last_read_seq;
    },

    async markRead(userId, roomId, seq) {
      await rateLimits.charge(userId, 'mark_read');
      await executor.executeFor(userId, { type: 'mark_read', data: { room_id: roomId, seq } });
      const room = await roomAsSeenBy(userId, roomId);
      return room.members.find((member) => member.user_id === userId)?.last_read_seq ?? 0;
    },

    async ban(userId, roomId, targetId, banned) {
      await rateLimits.charge(userId, 'ban_member');
      await executor.executeFor(userId, { type: 'ban_member', data: { room_id: roomId, user_id: targetId, banned } });
    },

    async mute(userId, roomId, targetId, durationS) {
      await rateLimits.charge(userId, 'mute_member');
      const until = durationS === null ? null : Date.now() + durationS * 1000;
      await executor.executeFor(userId, { type: 'mute_member', data: { room_id: roomId, user_id: targetId, until } });
      return roomAsSeenBy(userId, roomId);
    },

    async setSlowMode(userId, roomId, intervalS) {
      await rateLimits.charge(userId, 'set_slow_mode');
      await executor.executeFor(userId, { type: 'set_slow_mode', data: { room_id: roomId, interval_s: intervalS } });
      return roomAsSeenBy(userId, roomId);
    },

    async markDelivered(userId, roomId, seq) {
      await rateLimits.charge(userId, 'mark_delivered');
      await executor.executeFor(userId, { type: 'mark_delivered', data: { room_id: roomId, seq } });
      const room = await roomAsSeenBy(userId, roomId);
      return room.members.find((member) => member.user_id === userId)?.last_delivered_seq ?? 0;
    },

    async openDirectRoom(userId, otherId) {
      await rateLimits.charge(userId, 'create_room');
      if (otherId === userId) throw new Rejection('self_request', 'a direct room needs another user');
      await requireUsers(db, [otherId]);
      if (await blockedBetween(db, userId, otherId)) throw new Rejection('blocked', 'you cannot message this user');
      if (!(await areFriends(db, userId, otherId))) throw new Rejection('not_friends', 'direct rooms are for friends');
      const roomId = directRoomId(userId, otherId);
      await executor.executeFor(userId, {
        type: 'create_room',
        data: { room_id: roomId, type: 'direct', name: '', member_ids: [otherId] },
      });
      return roomAsSeenBy(userId, roomId);
    },

    async updateProfile(userId, input) {
      await rateLimits.charge(userId, 'update_profile');
      // An avatar is one of the user's own ready avatar uploads (or null): never
      // any URL, which every viewer's client would fetch (a tracking pixel).
      if (typeof input.avatar_url === 'string') {
        const upload = await confirmedUpload(db, userId, input.avatar_url);
        if (upload === undefined || upload.purpose !== 'avatar') {
          throw new Rejection('upload_not_found', 'avatar_url is not a ready avatar upload of yours', { url: input.avatar_url });
        }
      }
      const sealer = await vault.sealerFor(userKeyId(userId));
      await executor.executeFor(userId, {
        type: 'update_profile',
        data: {
          user_id: userId,
          display_name: sealer.sealOptional(input.display_name),
          bio: sealer.sealOptional(input.bio),
          avatar_url: sealer.sealOptional(input.avatar_url),
        },
      });
      const user = await findUserById(db, userId);
      if (user === undefined) throw new Rejection('user_not_found', 'user not found');
      return user;
    },
  };
  return service;
}
