// Which aggregate a command addresses, and which decider rules it. The
// processor uses this table and nothing else to route commands and to restore
// state from events: adding an aggregate means adding a row here.

import type { Command, DomainEvent } from './decider.ts';
import { friendshipAggregateId, friendshipDecider, type FriendshipCommand, type FriendshipEvent } from './friendship.ts';
import { reportAggregateId, reportDecider, type ReportCommand, type ReportEvent } from './report.ts';
import { reservationAggregateId, reservationDecider, type ReservationCommand, type ReservationEvent } from './reservation.ts';
import { roomAggregateId, roomDecider, type RoomCommand, type RoomEvent } from './room.ts';
import { userAggregateId, userDecider, type UserCommand, type UserEvent } from './user.ts';
import { webhookAggregateId, webhookDecider, type WebhookCommand, type WebhookEvent } from './webhook.ts';

export type AnyCommand = UserCommand | ReservationCommand | RoomCommand | FriendshipCommand | ReportCommand | WebhookCommand;
export type AnyEvent = UserEvent | ReservationEvent | RoomEvent | FriendshipEvent | ReportEvent | WebhookEvent;
export type EventType = AnyEvent['type'];

/** A decider with its types erased, so the processor can hold any of them. */
export interface AnyDecider {
  initialState: () => unknown;
  decide: (command: Command, state: unknown) => DomainEvent[];
  evolve: (state: unknown, event: DomainEvent) => unknown;
}

const deciders = {
  user: userDecider,
  username: reservationDecider,
  email: reservationDecider,
  room: roomDecider,
  friendship: friendshipDecider,
  report: reportDecider,
  webhook: webhookDecider,
} as unknown as Record<string, AnyDecider>;

/** The aggregate id (`kind:id`) a command is addressed to. */
export function aggregateIdOf(command: AnyCommand): string {
  switch (command.type) {
    case 'register_user':
    case 'update_profile':
    case 'change_password':
    case 'confirm_email':
    case 'delete_user':
    case 'suspend_user':
    case 'lift_suspension':
    case 'add_push_subscription':
    case 'remove_push_subscription':
    case 'grant_admin':
    case 'revoke_admin':
    case 'issue_bot_token':
    case 'revoke_bot_token':
      return userAggregateId(command.data.user_id);
    case 'reserve':
    case 'release':
      return reservationAggregateId(command.data.kind, command.data.value);
    case 'create_room':
    case 'update_room':
    case 'add_member':
    case 'remove_member':
    case 'invite_member':
    case 'accept_invitation':
    case 'decline_invitation':
    case 'change_role':
    case 'send_message':
    case 'edit_message':
    case 'delete_message':
    case 'react':
    case 'pin_message':
    case 'mark_read':
    case 'mark_delivered':
    case 'follow_thread':
    case 'mark_thread_read':
    case 'set_notifications':
    case 'ban_member':
    case 'mute_member':
    case 'set_slow_mode':
    case 'close_room':
    case 'reopen_room':
    case 'expire_messages':
      return roomAggregateId(command.data.room_id);
    case 'send_friend_request':
    case 'accept_friend_request':
    case 'reject_friend_request':
    case 'cancel_friend_request':
    case 'unfriend':
    case 'block_user':
    case 'unblock_user':
      return friendshipAggregateId(command.metadata.user_id ?? '', command.data.user_id);
    case 'file_report':
    case 'resolve_report':
      return reportAggregateId(command.data.report_id);
    case 'create_webhook':
    case 'pause_webhook':
    case 'resume_webhook':
    case 'replay_webhook':
    case 'delete_webhook':
      return webhookAggregateId(command.data.webhook_id);
  }
}

/** The decider for an aggregate id, by its `kind:` prefix. */
export function deciderFor(aggregateId: string): AnyDecider {
  const kind = aggregateId.slice(0, aggregateId.indexOf(':'));
  const decider = deciders[kind];
  if (decider === undefined) throw new Error(`no decider for aggregate ${aggregateId}`);
  return decider;
}
