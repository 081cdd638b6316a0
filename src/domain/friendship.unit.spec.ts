// The friendship's rules, one given/when/then each: requests and who may
// answer them, friendship and unfriending, and blocks, which end everything
// between the pair and stop new requests until the blocker lifts them.

import { describe, expect, it } from 'vitest';
import { aggregateIdOf } from './aggregates.ts';
import type { CommandMetadata } from './decider.ts';
import {
  friendshipAggregateId,
  friendshipDecider,
  pairOf,
  type AcceptFriendRequest,
  type BlockUser,
  type CancelFriendRequest,
  type FriendRequestAccepted,
  type FriendRequestCancelled,
  type FriendRequestRejected,
  type FriendRequestSent,
  type FriendshipEnded,
  type FriendshipEvent,
  type RejectFriendRequest,
  type SendFriendRequest,
  type UnblockUser,
  type Unfriend,
  type UserBlocked,
  type UserUnblocked,
} from './friendship.ts';
import { given } from './testing/given-when-then.ts';

const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;

const meta = (user_id: string | null, at = T1): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

// ── commands (`user_id` is always the other user) ───────────────────────────

const request = (by: string | null, to: string, request_id = 'r1'): SendFriendRequest => ({
  type: 'send_friend_request',
  data: { user_id: to, request_id },
  metadata: meta(by),
});
const accept = (by: string | null, other: string, request_id = 'r1'): AcceptFriendRequest => ({
  type: 'accept_friend_request',
  data: { user_id: other, request_id },
  metadata: meta(by),
});
const reject = (by: string | null, other: string, request_id = 'r1'): RejectFriendRequest => ({
  type: 'reject_friend_request',
  data: { user_id: other, request_id },
  metadata: meta(by),
});
const cancel = (by: string | null, other: string, request_id = 'r1'): CancelFriendRequest => ({
  type: 'cancel_friend_request',
  data: { user_id: other, request_id },
  metadata: meta(by),
});
const unfriend = (by: string | null, other: string): Unfriend => ({
  type: 'unfriend',
  data: { user_id: other },
  metadata: meta(by),
});
const block = (by: string | null, other: string): BlockUser => ({
  type: 'block_user',
  data: { user_id: other },
  metadata: meta(by),
});
const unblock = (by: string | null, other: string): UnblockUser => ({
  type: 'unblock_user',
  data: { user_id: other },
  metadata: meta(by),
});

// ── events ──────────────────────────────────────────────────────────────────

const sent = (from: string, to: string, request_id = 'r1', at = T0): FriendRequestSent => ({
  type: 'friend_request_sent',
  data: { request_id, from_user_id: from, to_user_id: to, created_at: at },
});
const closedBy =
  <T extends 'friend_request_accepted' | 'friend_request_rejected' | 'friend_request_cancelled'>(type: T) =>
  (from: string, to: string, by: string, request_id = 'r1', at = T1) => ({
    type,
    data: { request_id, from_user_id: from, to_user_id: to, by_user_id: by, at },
  });
const accepted: (from: string, to: string, by: string, request_id?: string, at?: number) => FriendRequestAccepted =
  closedBy('friend_request_accepted');
const rejected: (from: string, to: string, by: string, request_id?: string, at?: number) => FriendRequestRejected =
  closedBy('friend_request_rejected');
const cancelled: (from: string, to: string, by: string, request_id?: string, at?: number) => FriendRequestCancelled =
  closedBy('friend_request_cancelled');
const ended = (by: string, at = T1): FriendshipEnded => ({
  type: 'friendship_ended',
  data: { user_a: 'alice', user_b: 'bob', by_user_id: by, at },
});
const blocked = (blocker: string, blockee: string, at = T1): UserBlocked => ({
  type: 'user_blocked',
  data: { blocker_id: blocker, blocked_id: blockee, at },
});
const unblocked = (blocker: string, blockee: string, at = T1): UserUnblocked => ({
  type: 'user_unblocked',
  data: { blocker_id: blocker, blocked_id: blockee, at },
});

/** alice asked bob (request r1), bob has not answered. */
const pending: FriendshipEvent[] = [sent('alice', 'bob')];
/** alice and bob are friends. */
const friends: FriendshipEvent[] = [sent('alice', 'bob', 'r1', T0), accepted('alice', 'bob', 'bob', 'r1', T0)];

// ── send_friend_request ─────────────────────────────────────────────────────

describe('send_friend_request', () => {
  it('sends a request from the actor to the other user', () => {
    given(friendshipDecider, [])
      .when(request('alice', 'bob'))
      .then([sent('alice', 'bob', 'r1', T1)]);
    given(friendshipDecider, [])
      .when(request('bob', 'alice', 'r7'))
      .then([sent('bob', 'alice', 'r7', T1)]);
  });

  it('refuses a request to yourself', () => {
    given(friendshipDecider, []).when(request('alice', 'alice')).thenRejects('self_request');
  });

  it('refuses a second request while one is pending, naming the pending one', () => {
    for (const again of [request('alice', 'bob', 'r2'), request('alice', 'bob', 'r1')]) {
      const rejection = given(friendshipDecider, pending).when(again).thenRejects('request_pending');
      expect(rejection.details).toEqual({ request_id: 'r1' });
    }
  });

  it('refuses a request back while the other one is pending, naming it so it can be accepted instead', () => {
    const rejection = given(friendshipDecider, pending)
      .when(request('bob', 'alice', 'r2'))
      .thenRejects('request_pending');
    expect(rejection.details).toEqual({ request_id: 'r1' });
  });

  it('refuses a request between friends, from either side', () => {
    given(friendshipDecider, friends)
      .when(request('alice', 'bob', 'r2'))
      .thenRejects('already_friends');
    given(friendshipDecider, friends)
      .when(request('bob', 'alice', 'r2'))
      .thenRejects('already_friends');
  });

  it('refuses a request across a block, whichever way the block goes', () => {
    given(friendshipDecider, [blocked('bob', 'alice')])
      .when(request('alice', 'bob'))
      .thenRejects('blocked');
    given(friendshipDecider, [blocked('bob', 'alice')])
      .when(request('bob', 'alice'))
      .thenRejects('blocked');
    given(friendshipDecider, [blocked('alice', 'bob'), blocked('bob', 'alice')])
      .when(request('alice', 'bob'))
      .thenRejects('blocked');
  });

  it('allows a new request, with a new or reused id, once the last one was rejected or cancelled', () => {
    given(friendshipDecider, [...pending, rejected('alice', 'bob', 'bob')])
      .when(request('alice', 'bob', 'r2'))
      .then([sent('alice', 'bob', 'r2', T1)]);
    given(friendshipDecider, [...pending, cancelled('alice', 'bob', 'alice')])
      .when(request('bob', 'alice', 'r1'))
      .then([sent('bob', 'alice', 'r1', T1)]);
  });

  it('allows a new request after an unfriend', () => {
    given(friendshipDecider, [...friends, ended('bob')])
      .when(request('bob', 'alice', 'r2'))
      .then([sent('bob', 'alice', 'r2', T1)]);
  });

  it('allows a new request once the block is lifted', () => {
    given(friendshipDecider, [blocked('bob', 'alice'), unblocked('bob', 'alice')])
      .when(request('alice', 'bob', 'r2'))
      .then([sent('alice', 'bob', 'r2', T1)]);
  });

  it('still refuses while the other side keeps its own block', () => {
    given(friendshipDecider, [blocked('bob', 'alice'), blocked('alice', 'bob'), unblocked('bob', 'alice')])
      .when(request('bob', 'alice'))
      .thenRejects('blocked');
  });

  it('refuses a command without a user', () => {
    given(friendshipDecider, []).when(request(null, 'bob')).thenRejects('forbidden');
  });
});

// ── accept / reject / cancel ────────────────────────────────────────────────

describe('accept_friend_request', () => {
  it('lets the addressee accept: they are friends', () => {
    given(friendshipDecider, pending)
      .when(accept('bob', 'alice'))
      .then([accepted('alice', 'bob', 'bob')]);
    given(friendshipDecider, [...pending, accepted('alice', 'bob', 'bob')])
      .when(request('alice', 'bob', 'r2'))
      .thenRejects('already_friends');
  });

  it('refuses the sender accepting their own request, as if there were none', () => {
    given(friendshipDecider, pending).when(accept('alice', 'bob')).thenRejects('request_not_found');
  });

  it('refuses a request id that is not the pending one', () => {
    given(friendshipDecider, pending)
      .when(accept('bob', 'alice', 'r2'))
      .thenRejects('request_not_found');
  });

  it('refuses when nothing is pending: never sent, already answered, or withdrawn', () => {
    given(friendshipDecider, []).when(accept('bob', 'alice')).thenRejects('request_not_found');
    given(friendshipDecider, friends).when(accept('bob', 'alice')).thenRejects('request_not_found');
    given(friendshipDecider, [...pending, rejected('alice', 'bob', 'bob')])
      .when(accept('bob', 'alice'))
      .thenRejects('request_not_found');
    given(friendshipDecider, [...pending, cancelled('alice', 'bob', 'alice')])
      .when(accept('bob', 'alice'))
      .thenRejects('request_not_found');
  });

  it('refuses a request a block closed', () => {
    given(friendshipDecider, [...pending, rejected('alice', 'bob', 'bob'), blocked('bob', 'alice')])
      .when(accept('bob', 'alice'))
      .thenRejects('request_not_found');
  });

  it('refuses a command without a user', () => {
    given(friendshipDecider, pending).when(accept(null, 'alice')).thenRejects('forbidden');
  });
});

describe('reject_friend_request', () => {
  it('lets the addressee reject', () => {
    given(friendshipDecider, pending)
      .when(reject('bob', 'alice'))
      .then([rejected('alice', 'bob', 'bob')]);
  });

  it('refuses the sender rejecting their own request', () => {
    given(friendshipDecider, pending).when(reject('alice', 'bob')).thenRejects('request_not_found');
  });

  it('refuses a wrong request id, and a request already answered', () => {
    given(friendshipDecider, pending)
      .when(reject('bob', 'alice', 'r2'))
      .thenRejects('request_not_found');
    given(friendshipDecider, [...pending, rejected('alice', 'bob', 'bob')])
      .when(reject('bob', 'alice'))
      .thenRejects('request_not_found');
  });

  it('leaves them not friends', () => {
    given(friendshipDecider, [...pending, rejected('alice', 'bob', 'bob')])
      .when(unfriend('alice', 'bob'))
      .thenRejects('not_friends');
  });
});

describe('cancel_friend_request', () => {
  it('lets the sender withdraw their request', () => {
    given(friendshipDecider, pending)
      .when(cancel('alice', 'bob'))
      .then([cancelled('alice', 'bob', 'alice')]);
  });

  it('refuses the addressee cancelling it', () => {
    given(friendshipDecider, pending).when(cancel('bob', 'alice')).thenRejects('request_not_found');
  });

  it('refuses a wrong request id, and a request already answered', () => {
    given(friendshipDecider, pending)
      .when(cancel('alice', 'bob', 'r2'))
      .thenRejects('request_not_found');
    given(friendshipDecider, friends).when(cancel('alice', 'bob')).thenRejects('request_not_found');
  });
});

// ── unfriend ────────────────────────────────────────────────────────────────

describe('unfriend', () => {
  it('ends a friendship, from either side, naming the pair in a fixed order', () => {
    given(friendshipDecider, friends)
      .when(unfriend('bob', 'alice'))
      .then([ended('bob')]);
    given(friendshipDecider, friends)
      .when(unfriend('alice', 'bob'))
      .then([ended('alice')]);
  });

  it('refuses when they are not friends', () => {
    given(friendshipDecider, []).when(unfriend('alice', 'bob')).thenRejects('not_friends');
    given(friendshipDecider, pending).when(unfriend('bob', 'alice')).thenRejects('not_friends');
    given(friendshipDecider, [...friends, ended('alice')])
      .when(unfriend('bob', 'alice'))
      .thenRejects('not_friends');
  });

  it('refuses yourself', () => {
    given(friendshipDecider, friends).when(unfriend('alice', 'alice')).thenRejects('self_request');
  });
});

// ── block_user / unblock_user ───────────────────────────────────────────────

describe('block_user', () => {
  it('blocks a stranger', () => {
    given(friendshipDecider, [])
      .when(block('alice', 'bob'))
      .then([blocked('alice', 'bob')]);
  });

  it('ends a friendship first', () => {
    given(friendshipDecider, friends)
      .when(block('bob', 'alice'))
      .then([ended('bob'), blocked('bob', 'alice')]);
    given(friendshipDecider, [...friends, ended('bob'), blocked('bob', 'alice')])
      .when(unfriend('alice', 'bob'))
      .thenRejects('not_friends');
  });

  it('cancels a pending request the blocker sent', () => {
    given(friendshipDecider, pending)
      .when(block('alice', 'bob'))
      .then([cancelled('alice', 'bob', 'alice'), blocked('alice', 'bob')]);
  });

  it('rejects a pending request the blocker received', () => {
    given(friendshipDecider, pending)
      .when(block('bob', 'alice'))
      .then([rejected('alice', 'bob', 'bob'), blocked('bob', 'alice')]);
  });

  it('yields no events for blocking again', () => {
    given(friendshipDecider, [blocked('alice', 'bob')])
      .when(block('alice', 'bob'))
      .then([]);
  });

  it('lets the blocked user block back', () => {
    given(friendshipDecider, [blocked('alice', 'bob')])
      .when(block('bob', 'alice'))
      .then([blocked('bob', 'alice')]);
  });

  it('refuses blocking yourself', () => {
    given(friendshipDecider, []).when(block('alice', 'alice')).thenRejects('self_request');
  });

  it('refuses a command without a user', () => {
    given(friendshipDecider, []).when(block(null, 'bob')).thenRejects('forbidden');
  });
});

describe('unblock_user', () => {
  it('lets the blocker lift the block', () => {
    given(friendshipDecider, [blocked('alice', 'bob')])
      .when(unblock('alice', 'bob'))
      .then([unblocked('alice', 'bob')]);
  });

  it('yields no events for the blocked user "unblocking", and the block stays', () => {
    given(friendshipDecider, [blocked('alice', 'bob')])
      .when(unblock('bob', 'alice'))
      .then([]);
    given(friendshipDecider, [blocked('alice', 'bob')])
      .when(request('bob', 'alice'))
      .thenRejects('blocked');
  });

  it('yields no events when there is no block, or it was already lifted', () => {
    given(friendshipDecider, []).when(unblock('alice', 'bob')).then([]);
    given(friendshipDecider, [blocked('alice', 'bob'), unblocked('alice', 'bob')])
      .when(unblock('alice', 'bob'))
      .then([]);
  });

  it('lifts only the unblocker’s own block', () => {
    given(friendshipDecider, [blocked('alice', 'bob'), blocked('bob', 'alice')])
      .when(unblock('alice', 'bob'))
      .then([unblocked('alice', 'bob')]);
    given(friendshipDecider, [blocked('alice', 'bob'), blocked('bob', 'alice'), unblocked('alice', 'bob')])
      .when(unblock('bob', 'alice'))
      .then([unblocked('bob', 'alice')]);
  });

  it('does not bring a friendship back', () => {
    given(friendshipDecider, [...friends, ended('alice'), blocked('alice', 'bob'), unblocked('alice', 'bob')])
      .when(unfriend('alice', 'bob'))
      .thenRejects('not_friends');
  });

  it('lets a block be set again after it was lifted', () => {
    given(friendshipDecider, [blocked('alice', 'bob'), unblocked('alice', 'bob')])
      .when(block('alice', 'bob'))
      .then([blocked('alice', 'bob')]);
  });
});

// ── the pair ────────────────────────────────────────────────────────────────

describe('the friendship aggregate id', () => {
  it('is the same for (a, b) and (b, a)', () => {
    expect(friendshipAggregateId('alice', 'bob')).toBe(friendshipAggregateId('bob', 'alice'));
    expect(friendshipAggregateId('bob', 'alice')).toBe('friendship:alice:bob');
    expect(pairOf('bob', 'alice')).toEqual(['alice', 'bob']);
    expect(pairOf('alice', 'bob')).toEqual(['alice', 'bob']);
  });

  it('differs between pairs', () => {
    expect(friendshipAggregateId('alice', 'bob')).not.toBe(friendshipAggregateId('alice', 'carol'));
    expect(friendshipAggregateId('alice', 'bob')).not.toBe(friendshipAggregateId('bob', 'carol'));
  });

  it('is where every friendship command of the pair goes, whoever sends it', () => {
    const commands = [
      request('alice', 'bob'),
      request('bob', 'alice'),
      accept('bob', 'alice'),
      reject('alice', 'bob'),
      cancel('bob', 'alice'),
      unfriend('alice', 'bob'),
      block('bob', 'alice'),
      unblock('alice', 'bob'),
    ];
    expect(new Set(commands.map(aggregateIdOf))).toEqual(new Set(['friendship:alice:bob']));
  });
});
