// Which aggregate a command addresses, and which decider rules it. The
// processor uses this table and nothing else to route commands and to restore
// state from events: adding an aggregate means adding a row here.

import type { Command, DomainEvent } from './decider.ts';
import { friendshipAggregateId, friendshipDecider, type FriendshipCommand, type FriendshipEvent } from './friendship.ts';
import { reportAggregateId, reportDecider, type ReportCommand, type ReportEvent } from './report.ts';
import { reservationAggregateId, reservationDecider, type ReservationCommand, type ReservationEvent } from './reservation.ts';
import {
  clientMsgIdsChangedBy,
  clientMsgIdsReadBy,
  messageLoaded,
  messagesChangedBy,
  messagesKeptHot,
  messagesReadBy,
  roomAggregateId,
  roomDecider,
  type MessageMeta,
  type RoomCommand,
  type RoomEvent,
  type RoomState,
} from './room.ts';
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

/**
 * A map of an aggregate's state that grows with its history (a room's
 * messages): the processor holds only part of it in memory, keeps all of it
 * in its snapshots, and loads an entry before a command or event needs it.
 * The decider never notices: whatever it looks up is there.
 */
export interface ColdMap {
  /** Tells its entries apart from other maps' in the snapshot store (no ':'). */
  name: string;
  entries(state: unknown): Map<string, unknown>;
  /** Ids a command's rules look up. */
  readBy(command: Command): string[];
  /** Ids an event reads or changes (written at the next snapshot). */
  changedBy(event: DomainEvent): string[];
  /** An entry from a snapshot as the state holds it now. */
  loaded(state: unknown, entry: unknown): unknown;
  /** Ids never evicted. */
  keptHot(state: unknown): ReadonlySet<string>;
  /**
   * Lookups are mostly of ids never stored (every new message names a
   * client_msg_id never seen): the processor keeps a filter of the stored ids
   * to answer those without a query.
   */
  mostlyNew: boolean;
}

/** The cold maps of an aggregate kind. */
export interface ColdParts {
  maps: ColdMap[];
  /** A shallow copy of the state with its cold maps empty but for the entries kept hot (what a snapshot stores of the aggregate itself). */
  withoutEntries(state: unknown): unknown;
}

const nothingHot: ReadonlySet<string> = new Set();
const roomColdParts: ColdParts = {
  maps: [
    {
      name: 'm',
      entries: (state) => (state as RoomState).messages,
      readBy: (command) => messagesReadBy(command as RoomCommand),
      changedBy: (event) => messagesChangedBy(event as RoomEvent),
      loaded: (state, entry) => messageLoaded(state as RoomState, entry as MessageMeta),
      keptHot: (state) => messagesKeptHot(state as RoomState),
      mostlyNew: false,
    },
    {
      name: 'c',
      entries: (state) => (state as RoomState).client_msg_ids,
      readBy: (command) => clientMsgIdsReadBy(command as RoomCommand),
      changedBy: (event) => clientMsgIdsChangedBy(event as RoomEvent),
      loaded: (_state, entry) => entry,
      keptHot: () => nothingHot,
      mostlyNew: true,
    },
  ],
  withoutEntries: (state) => {
    const room = state as RoomState;
    // Pinned messages stay with the room: retention unpins them without naming them.
    const pinned = [...room.pins].flatMap((id) => (room.messages.has(id) ? [[id, room.messages.get(id)!] as const] : []));
    return { ...room, messages: new Map(pinned), client_msg_ids: new Map() };
  },
};

/** The cold maps of an aggregate's state, if it has any. */
export function coldPartsFor(aggregateId: string): ColdParts | undefined {
  return aggregateId.startsWith('room:') ? roomColdParts : undefined;
}

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

/** Every kind of aggregate with its initial state (what a snapshot's format is checked against). */
export function initialStates(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(deciders).map(([kind, decider]) => [kind, decider.initialState()]));
}

/** The decider for an aggregate id, by its `kind:` prefix. */
export function deciderFor(aggregateId: string): AnyDecider {
  const kind = aggregateId.slice(0, aggregateId.indexOf(':'));
  const decider = deciders[kind];
  if (decider === undefined) throw new Error(`no decider for aggregate ${aggregateId}`);
  return decider;
}
