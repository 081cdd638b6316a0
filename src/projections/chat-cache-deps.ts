// Which cached answers of the chat model (queries/room-reads.ts: membership,
// a room's details, a user's rooms and room list) an event can change, as
// read-cache dependencies (infra/read-cache.ts). Those answers read the rows
// of rooms — rooms, room_members, room_mutes, room_invitations, messages,
// mentions — so an event of a room names that room; membership (a
// room_members row there or not) changes only by a join or a leave, which
// name the room's members and the user's rooms too, so that a busy room's
// messages and receipts leave its membership answers cached, and a user's
// list of rooms is voided by what happens in those rooms and by joining or
// leaving one. Of the events without a room, those known to write none of
// those tables name nothing; any other (an account's erasure withdraws its
// invitations in every room, and a new event type is unknown until listed
// here) voids every answer: wrong only in costing a reload.

import type { DomainEvent } from '../domain/decider.ts';
import { everyAnswer } from '../infra/read-cache.ts';

/** The dependency of every cached answer read from one room's rows. */
export const roomDependency = (roomId: string): string => `room:${roomId}`;
/** The dependency of who is in a room (the only events that add or remove a room_members row). */
export const membersDependency = (roomId: string): string => `members:${roomId}`;
/** The dependency of which rooms a user is in. */
export const roomsOfDependency = (userId: string): string => `rooms-of:${userId}`;
const changesMembership = new Set(['user_joined_room', 'user_left_room']);

const writesNoRoomRow = new Set([
  'user_registered',
  'user_online',
  'user_offline',
  'user_profile_updated',
  'bot_token_issued',
  'bot_token_revoked',
  'value_reserved',
  'value_released',
  'friend_request_sent',
  'friend_request_accepted',
  'friend_request_rejected',
  'friend_request_cancelled',
  'friendship_ended',
  'user_blocked',
  'user_unblocked',
  'push_subscription_added',
  'push_subscription_removed',
  'admin_granted',
  'admin_revoked',
  'report_filed',
  'report_resolved',
  'password_changed',
  'user_suspended',
  'user_suspension_lifted',
  'email_confirmed',
  'webhook_created',
  'webhook_paused',
  'webhook_resumed',
  'webhook_replay_requested',
  'webhook_deleted',
]);

export function chatReadCacheDeps(event: DomainEvent): readonly string[] {
  const roomId = (event.data as { room_id?: unknown }).room_id;
  if (typeof roomId === 'string') {
    if (!changesMembership.has(event.type)) return [roomDependency(roomId)];
    const userId = (event.data as { user_id: string }).user_id;
    return [roomDependency(roomId), membersDependency(roomId), roomsOfDependency(userId)];
  }
  return writesNoRoomRow.has(event.type) ? [] : [everyAnswer];
}
