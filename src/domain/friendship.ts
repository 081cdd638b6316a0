// The friendship aggregate: everything between two users — a pending request,
// the friendship, and blocks in either direction — keyed by the pair, so one
// writer decides all of it: 20 concurrent accepts give one friendship, and a
// block ends a friendship and stops requests in a single decision.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

/** The pair in a fixed order, so (a, b) and (b, a) are one aggregate. */
export function pairOf(x: string, y: string): [string, string] {
  return x < y ? [x, y] : [y, x];
}
export const friendshipAggregateId = (x: string, y: string): string => {
  const [a, b] = pairOf(x, y);
  return `friendship:${a}:${b}`;
};

// ── commands ────────────────────────────────────────────────────────────────

type PairCommand<T extends string, D = object> = Command<T, { user_id: string } & D>;
/** `user_id` is always the other user; the actor comes from the metadata. */
export type SendFriendRequest = PairCommand<'send_friend_request', { request_id: string }>;
export type AcceptFriendRequest = PairCommand<'accept_friend_request', { request_id: string }>;
export type RejectFriendRequest = PairCommand<'reject_friend_request', { request_id: string }>;
export type CancelFriendRequest = PairCommand<'cancel_friend_request', { request_id: string }>;
export type Unfriend = PairCommand<'unfriend'>;
export type BlockUser = PairCommand<'block_user'>;
export type UnblockUser = PairCommand<'unblock_user'>;

export type FriendshipCommand =
  SendFriendRequest | AcceptFriendRequest | RejectFriendRequest | CancelFriendRequest | Unfriend | BlockUser | UnblockUser;

// ── events ──────────────────────────────────────────────────────────────────

export type FriendRequestSent = DomainEvent<
  'friend_request_sent',
  { request_id: string; from_user_id: string; to_user_id: string; created_at: number }
>;
type RequestClosed<T extends string> = DomainEvent<
  T,
  { request_id: string; from_user_id: string; to_user_id: string; by_user_id: string; at: number }
>;
export type FriendRequestAccepted = RequestClosed<'friend_request_accepted'>;
export type FriendRequestRejected = RequestClosed<'friend_request_rejected'>;
export type FriendRequestCancelled = RequestClosed<'friend_request_cancelled'>;
export type FriendshipEnded = DomainEvent<'friendship_ended', { user_a: string; user_b: string; by_user_id: string; at: number }>;
export type UserBlocked = DomainEvent<'user_blocked', { blocker_id: string; blocked_id: string; at: number }>;
export type UserUnblocked = DomainEvent<'user_unblocked', { blocker_id: string; blocked_id: string; at: number }>;

export type FriendshipEvent =
  | FriendRequestSent
  | FriendRequestAccepted
  | FriendRequestRejected
  | FriendRequestCancelled
  | FriendshipEnded
  | UserBlocked
  | UserUnblocked;

// ── state ───────────────────────────────────────────────────────────────────

export interface FriendshipState {
  friends: boolean;
  pending: { request_id: string; from_user_id: string; to_user_id: string } | null;
  /** Users of the pair who block the other one. */
  blockers: string[];
}

export const initialFriendshipState = (): FriendshipState => ({ friends: false, pending: null, blockers: [] });

// ── decide ──────────────────────────────────────────────────────────────────

export function decideFriendship(command: FriendshipCommand, state: FriendshipState): FriendshipEvent[] {
  const actor = command.metadata.user_id;
  const at = command.metadata.at;
  if (actor === null) throw new Rejection('forbidden', 'friendship commands need a user');
  const other = command.data.user_id;
  if (other === actor) throw new Rejection('self_request', 'that is yourself');

  switch (command.type) {
    case 'send_friend_request': {
      if (state.blockers.length > 0) throw new Rejection('blocked', 'requests are not possible between these users');
      if (state.friends) throw new Rejection('already_friends', 'you are already friends');
      if (state.pending !== null) {
        // The other side already asked: the answer is to accept theirs.
        throw new Rejection('request_pending', 'a request between you is already pending', {
          request_id: state.pending.request_id,
        });
      }
      return [
        {
          type: 'friend_request_sent',
          data: { request_id: command.data.request_id, from_user_id: actor, to_user_id: other, created_at: at },
        },
      ];
    }

    case 'accept_friend_request':
    case 'reject_friend_request': {
      const pending = requirePending(state, command.data.request_id);
      if (pending.to_user_id !== actor) {
        // The sender learns nothing more than a stranger would.
        throw new Rejection('request_not_found', 'friend request not found');
      }
      const type = command.type === 'accept_friend_request' ? 'friend_request_accepted' : 'friend_request_rejected';
      return [{ type, data: { ...pending, by_user_id: actor, at } }];
    }

    case 'cancel_friend_request': {
      const pending = requirePending(state, command.data.request_id);
      if (pending.from_user_id !== actor) throw new Rejection('request_not_found', 'friend request not found');
      return [{ type: 'friend_request_cancelled', data: { ...pending, by_user_id: actor, at } }];
    }

    case 'unfriend': {
      if (!state.friends) throw new Rejection('not_friends', 'you are not friends');
      const [user_a, user_b] = pairOf(actor, other);
      return [{ type: 'friendship_ended', data: { user_a, user_b, by_user_id: actor, at } }];
    }

    case 'block_user': {
      if (state.blockers.includes(actor)) return [];
      const events: FriendshipEvent[] = [];
      // A block ends what stood between the two: the friendship and any request.
      if (state.pending !== null) {
        const type = state.pending.from_user_id === actor ? 'friend_request_cancelled' : 'friend_request_rejected';
        events.push({ type, data: { ...state.pending, by_user_id: actor, at } });
      }
      if (state.friends) {
        const [user_a, user_b] = pairOf(actor, other);
        events.push({ type: 'friendship_ended', data: { user_a, user_b, by_user_id: actor, at } });
      }
      events.push({ type: 'user_blocked', data: { blocker_id: actor, blocked_id: other, at } });
      return events;
    }

    case 'unblock_user':
      if (!state.blockers.includes(actor)) return [];
      return [{ type: 'user_unblocked', data: { blocker_id: actor, blocked_id: other, at } }];

    default:
      return assertNever(command);
  }
}

function requirePending(state: FriendshipState, requestId: string) {
  if (state.pending === null || state.pending.request_id !== requestId) {
    throw new Rejection('request_not_found', 'friend request not found');
  }
  return state.pending;
}

// ── evolve ──────────────────────────────────────────────────────────────────

export function evolveFriendship(state: FriendshipState, event: FriendshipEvent): FriendshipState {
  switch (event.type) {
    case 'friend_request_sent': {
      const { request_id, from_user_id, to_user_id } = event.data;
      return { ...state, pending: { request_id, from_user_id, to_user_id } };
    }
    case 'friend_request_accepted':
      return { ...state, pending: null, friends: true };
    case 'friend_request_rejected':
    case 'friend_request_cancelled':
      return { ...state, pending: null };
    case 'friendship_ended':
      return { ...state, friends: false };
    case 'user_blocked':
      return { ...state, blockers: [...state.blockers, event.data.blocker_id] };
    case 'user_unblocked':
      return { ...state, blockers: state.blockers.filter((id) => id !== event.data.blocker_id) };
    default:
      return assertNever(event);
  }
}

export const friendshipDecider = {
  initialState: initialFriendshipState,
  decide: decideFriendship,
  evolve: evolveFriendship,
};
