// Friend requests, friendships and blocks as a client gives them, for REST
// (and any other intake). A request is addressed by its id; the caller must be
// one of its two users, or it does not exist for them.

import type { Kysely } from 'kysely';
import { Rejection } from '../domain/decider.ts';
import { newId } from '../ids.ts';
import { findRequest, type FriendRequestView } from '../queries/social-queries.ts';
import type { Database } from '../store/schema.ts';
import type { CommandRateLimits } from './command-rate-limits.ts';
import type { CommandExecutor } from './execute.ts';
import { requireUsers } from './preconditions.ts';

export interface SocialService {
  sendRequest(userId: string, toUserId: string): Promise<FriendRequestView>;
  answerRequest(userId: string, requestId: string, answer: 'accept' | 'reject' | 'cancel'): Promise<FriendRequestView>;
  unfriend(userId: string, friendId: string): Promise<void>;
  block(userId: string, otherId: string): Promise<void>;
  unblock(userId: string, otherId: string): Promise<void>;
}

export function createSocialService(options: {
  executor: CommandExecutor;
  db: Kysely<Database>;
  /** Every method first charges the user's budget for the command it gives, before any work. */
  rateLimits: CommandRateLimits;
}): SocialService {
  const { executor, db, rateLimits } = options;

  async function requestSeenBy(userId: string, requestId: string): Promise<FriendRequestView> {
    const request = await findRequest(db, requestId);
    // Someone else's request is indistinguishable from one that does not exist.
    if (request === undefined || (request.from_user_id !== userId && request.to_user_id !== userId)) {
      throw new Rejection('request_not_found', 'friend request not found');
    }
    return request;
  }

  const commandOf = {
    accept: 'accept_friend_request',
    reject: 'reject_friend_request',
    cancel: 'cancel_friend_request',
  } as const;

  return {
    async sendRequest(userId, toUserId) {
      await rateLimits.charge(userId, 'send_friend_request');
      if (toUserId === userId) throw new Rejection('self_request', 'you cannot befriend yourself');
      await requireUsers(db, [toUserId]);
      const requestId = newId();
      await executor.executeFor(userId, { type: 'send_friend_request', data: { user_id: toUserId, request_id: requestId } });
      return requestSeenBy(userId, requestId);
    },

    async answerRequest(userId, requestId, answer) {
      await rateLimits.charge(userId, commandOf[answer]);
      const request = await requestSeenBy(userId, requestId);
      const other = request.from_user_id === userId ? request.to_user_id : request.from_user_id;
      await executor.executeFor(userId, { type: commandOf[answer], data: { user_id: other, request_id: requestId } });
      return requestSeenBy(userId, requestId);
    },

    async unfriend(userId, friendId) {
      await rateLimits.charge(userId, 'unfriend');
      await executor.executeFor(userId, { type: 'unfriend', data: { user_id: friendId } });
    },

    async block(userId, otherId) {
      await rateLimits.charge(userId, 'block_user');
      if (otherId === userId) throw new Rejection('self_request', 'you cannot block yourself');
      await requireUsers(db, [otherId]);
      await executor.executeFor(userId, { type: 'block_user', data: { user_id: otherId } });
    },

    async unblock(userId, otherId) {
      await rateLimits.charge(userId, 'unblock_user');
      await executor.executeFor(userId, { type: 'unblock_user', data: { user_id: otherId } });
    },
  };
}
