// The chat commands a client can give, as one service both the REST routes and
// the WebSocket frames call: build the command, execute it (outcome + read-
// your-writes), and answer with the read model's view of the result.

import type { Kysely } from 'kysely';
import { Rejection } from '../domain/decider.ts';
import type { Role } from '../domain/room.ts';
import { newId } from '../ids.ts';
import { findMessageByClientId } from '../queries/messages-queries.ts';
import { findRoomForMember, type RoomDetail } from '../queries/rooms-queries.ts';
import { existingUserIds, findUserById } from '../queries/users-queries.ts';
import type { MessageView, UserView } from '../queries/wire.ts';
import type { Database } from '../store/schema.ts';
import { commandMetadata } from './command-bus.ts';
import type { CommandExecutor } from './execute.ts';
import type { SendMessageInput } from './inputs.ts';

export interface ChatService {
  createRoom(userId: string, input: { name: string; member_ids: string[] }): Promise<RoomDetail>;
  addMember(userId: string, roomId: string, input: { user_id: string; role: Role }): Promise<RoomDetail>;
  removeMember(userId: string, roomId: string, memberId: string): Promise<void>;
  sendMessage(userId: string, roomId: string, input: SendMessageInput): Promise<MessageView>;
  updateProfile(
    userId: string,
    input: { display_name?: string | undefined; bio?: string | undefined; avatar_url?: string | null | undefined },
  ): Promise<UserView>;
}

export function createChatService(options: { executor: CommandExecutor; db: Kysely<Database> }): ChatService {
  const { executor, db } = options;

  async function requireUsers(ids: string[]): Promise<void> {
    const known = await existingUserIds(db, ids);
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > 0) throw new Rejection('user_not_found', 'unknown user', { user_ids: unknown });
  }

  async function roomAsSeenBy(userId: string, roomId: string): Promise<RoomDetail> {
    const room = await findRoomForMember(db, roomId, userId);
    if (room === undefined) throw new Rejection('room_not_found', 'room not found');
    return room;
  }

  return {
    async createRoom(userId, input) {
      await requireUsers(input.member_ids);
      const roomId = newId();
      await executor.execute({
        type: 'create_room',
        data: { room_id: roomId, type: 'group', name: input.name, member_ids: input.member_ids },
        metadata: commandMetadata(userId),
      });
      return roomAsSeenBy(userId, roomId);
    },

    async addMember(userId, roomId, input) {
      await requireUsers([input.user_id]);
      await executor.execute({
        type: 'add_member',
        data: { room_id: roomId, user_id: input.user_id, role: input.role },
        metadata: commandMetadata(userId),
      });
      return roomAsSeenBy(userId, roomId);
    },

    async removeMember(userId, roomId, memberId) {
      await executor.execute({
        type: 'remove_member',
        data: { room_id: roomId, user_id: memberId },
        metadata: commandMetadata(userId),
      });
    },

    async sendMessage(userId, roomId, input) {
      await executor.execute({
        type: 'send_message',
        data: {
          room_id: roomId,
          message_id: newId(),
          client_msg_id: input.client_msg_id,
          content: input.content,
          mime_type: input.mime_type,
          reply_to: input.reply_to,
          attachments: input.attachments,
        },
        metadata: commandMetadata(userId),
      });
      // A retried client_msg_id finds the first message, not a new one.
      const message = await findMessageByClientId(db, roomId, userId, input.client_msg_id);
      if (message === undefined) throw new Error('accepted message is missing from the read model');
      return message;
    },

    async updateProfile(userId, input) {
      await executor.execute({
        type: 'update_profile',
        data: { user_id: userId, ...input },
        metadata: commandMetadata(userId),
      });
      const user = await findUserById(db, userId);
      if (user === undefined) throw new Rejection('user_not_found', 'user not found');
      return user;
    },
  };
}
