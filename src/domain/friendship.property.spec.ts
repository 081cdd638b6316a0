// Invariants of the friendship over any sequence of commands: two users send,
// accept, reject and cancel requests (ids from a small pool, so stale and
// reused ids happen), unfriend, block and unblock, from both sides and in any
// order. Rejected commands are skipped, as the processor would; the accepted
// events must never reach an illegal state.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rejection, replay } from './decider.ts';
import {
  friendshipDecider,
  initialFriendshipState,
  type FriendshipCommand,
  type FriendshipEvent,
  type FriendshipState,
} from './friendship.ts';

const USERS = ['ann', 'ben'] as const;
const REQUEST_IDS = ['r1', 'r2', 'r3'] as const;
type User = (typeof USERS)[number];
const otherOf = (u: User): User => (u === 'ann' ? 'ben' : 'ann');

type Kind = FriendshipCommand['type'];
interface Step {
  kind: Kind;
  actor: User;
  request_id: string;
  /** Now and then a command names the actor themselves instead of the other user. */
  toSelf: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Kind>(
    'send_friend_request',
    'send_friend_request',
    'send_friend_request',
    'accept_friend_request',
    'accept_friend_request',
    'accept_friend_request',
    'reject_friend_request',
    'cancel_friend_request',
    'unfriend',
    'block_user',
    'unblock_user',
    'unblock_user',
  ),
  actor: fc.constantFrom(...USERS),
  request_id: fc.constantFrom(...REQUEST_IDS),
  toSelf: fc.nat({ max: 19 }).map((n) => n === 0),
});

const scenario = fc.array(step, { minLength: 1, maxLength: 60, size: 'max' });

function toCommand(s: Step, index: number): FriendshipCommand {
  const metadata = { command_id: `cmd-${index}`, user_id: s.actor, at: 1_000 + index };
  const user_id = s.toSelf ? s.actor : otherOf(s.actor);
  switch (s.kind) {
    case 'send_friend_request':
    case 'accept_friend_request':
    case 'reject_friend_request':
    case 'cancel_friend_request':
      return { type: s.kind, data: { user_id, request_id: s.request_id }, metadata };
    case 'unfriend':
    case 'block_user':
    case 'unblock_user':
      return { type: s.kind, data: { user_id }, metadata };
  }
}

/** What the events alone say, kept apart from `evolve` so the two can be compared. */
interface Model {
  friends: boolean;
  pending: { request_id: string; from_user_id: string; to_user_id: string } | null;
  blockers: Set<string>;
}

interface Run {
  events: FriendshipEvent[];
  state: FriendshipState;
  rejections: Map<string, number>;
}

/**
 * Feeds the commands through decide/evolve like the processor, checking every
 * event against the model before applying it, and the invariants after every
 * accepted command.
 */
function run(commands: FriendshipCommand[]): Run {
  let state = initialFriendshipState();
  const model: Model = { friends: false, pending: null, blockers: new Set() };
  const events: FriendshipEvent[] = [];
  const rejections = new Map<string, number>();

  for (const command of commands) {
    const actor = command.metadata.user_id!;
    const before = structuredClone(state);
    let decided: FriendshipEvent[];
    try {
      decided = friendshipDecider.decide(command, state);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      rejections.set(error.code, (rejections.get(error.code) ?? 0) + 1);
      continue;
    } finally {
      expect(state, 'decide must not change the state').toEqual(before);
    }

    for (const event of decided) {
      switch (event.type) {
        case 'friend_request_sent':
          expect(model.pending, 'a second request while one is pending').toBeNull();
          expect(model.friends, 'a request between friends').toBe(false);
          expect(model.blockers.size, 'a request across a block').toBe(0);
          expect(event.data.from_user_id).toBe(actor);
          expect(event.data.to_user_id).toBe(otherOf(actor as User));
          model.pending = {
            request_id: event.data.request_id,
            from_user_id: event.data.from_user_id,
            to_user_id: event.data.to_user_id,
          };
          break;
        case 'friend_request_accepted':
        case 'friend_request_rejected':
        case 'friend_request_cancelled': {
          const { by_user_id, at: _, ...request } = event.data;
          expect(model.pending, `${event.type} of a request that is not pending`).toEqual(request);
          expect(by_user_id).toBe(actor);
          // Accepting and rejecting are the addressee's; cancelling is the sender's.
          const answerer = event.type === 'friend_request_cancelled' ? request.from_user_id : request.to_user_id;
          expect(by_user_id, `${event.type} by the wrong side`).toBe(answerer);
          if (event.type === 'friend_request_accepted') {
            expect(command.type).toBe('accept_friend_request');
            model.friends = true;
          }
          model.pending = null;
          break;
        }
        case 'friendship_ended':
          expect(model.friends, 'a friendship ended that did not exist').toBe(true);
          expect([event.data.user_a, event.data.user_b]).toEqual(['ann', 'ben']);
          expect(event.data.by_user_id).toBe(actor);
          model.friends = false;
          break;
        case 'user_blocked':
          expect(event.data.blocker_id).toBe(actor);
          expect(event.data.blocked_id).toBe(otherOf(actor as User));
          expect(model.blockers.has(actor), 'blocked twice').toBe(false);
          model.blockers.add(actor);
          break;
        case 'user_unblocked':
          expect(event.data.blocker_id).toBe(actor);
          expect(model.blockers.has(actor), 'unblocked without a block').toBe(true);
          model.blockers.delete(actor);
          break;
      }
      state = friendshipDecider.evolve(state, event);
      events.push(event);
    }

    // The illegal states, after every accepted command.
    expect(model.friends && model.blockers.size > 0, 'friends while a block exists').toBe(false);
    expect(model.pending !== null && model.friends, 'a pending request between friends').toBe(false);
    expect(model.pending !== null && model.blockers.size > 0, 'a pending request across a block').toBe(false);
    // And evolve agrees with the model.
    expect({ friends: state.friends, pending: state.pending, blockers: new Set(state.blockers) }).toEqual(model);
    expect(state.blockers.length, 'a blocker listed twice').toBe(new Set(state.blockers).size);
  }
  return { events, state, rejections };
}

describe('friendship invariants over any command sequence', () => {
  // Totals over all runs, to check that the generator reaches the interesting cases.
  const seen = {
    accepted: 0,
    friendshipsEndedByBlock: 0,
    requestsClosedByBlock: 0,
    mutualBlocks: 0,
    unblocks: 0,
    rejections: new Map<string, number>(),
  };

  it('never reaches an illegal state, and every accepted request was pending and accepted by its addressee', () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events, rejections } = run(steps.map(toCommand));
        seen.accepted += events.filter((e) => e.type === 'friend_request_accepted').length;
        seen.unblocks += events.filter((e) => e.type === 'user_unblocked').length;
        for (const [i, e] of events.entries()) {
          const next = events[i + 1];
          if (next?.type !== 'user_blocked') continue;
          if (e.type === 'friendship_ended') seen.friendshipsEndedByBlock++;
          if (e.type === 'friend_request_cancelled' || e.type === 'friend_request_rejected') seen.requestsClosedByBlock++;
        }
        const blockers = new Set<string>();
        for (const e of events) {
          if (e.type === 'user_blocked') blockers.add(e.data.blocker_id);
          if (e.type === 'user_unblocked') blockers.delete(e.data.blocker_id);
          if (blockers.size === 2) seen.mutualBlocks++;
        }
        for (const [code, n] of rejections) seen.rejections.set(code, (seen.rejections.get(code) ?? 0) + n);
      }),
      { numRuns: 500 },
    );
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.friendshipsEndedByBlock).toBeGreaterThan(0);
    expect(seen.requestsClosedByBlock).toBeGreaterThan(0);
    expect(seen.mutualBlocks).toBeGreaterThan(0);
    expect(seen.unblocks).toBeGreaterThan(0);
    for (const code of ['blocked', 'already_friends', 'request_pending', 'request_not_found', 'not_friends', 'self_request']) {
      expect(seen.rejections.get(code) ?? 0, `no command was rejected with ${code}`).toBeGreaterThan(0);
    }
  });

  it('restores the same state by replaying the events from scratch', () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events, state } = run(steps.map(toCommand));
        expect(replay(friendshipDecider, events)).toEqual(state);
      }),
      { numRuns: 300 },
    );
  });
});

describe('20 concurrent accepts of one request', () => {
  // The processor decides the commands of one aggregate one after another, so
  // "concurrent" accepts arrive as a sequence: only the first may succeed.
  it('yields exactly one friend_request_accepted, whatever else is mixed in', () => {
    const setup = fc.record({
      sender: fc.constantFrom(...USERS),
      request_id: fc.constantFrom(...REQUEST_IDS),
      // Before the accepts: maybe an earlier request that was answered.
      earlier: fc.boolean(),
      // Between the 20 accepts: the sender trying to accept their own request.
      senderAttempts: fc.array(fc.nat({ max: 20 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(setup, ({ sender, request_id, earlier, senderAttempts }) => {
        const addressee = otherOf(sender);
        const meta = (user_id: User, i: number) => ({ command_id: `cmd-${i}`, user_id, at: 1_000 + i });
        const commands: FriendshipCommand[] = [];
        if (earlier) {
          commands.push(
            { type: 'send_friend_request', data: { user_id: sender, request_id: 'old' }, metadata: meta(addressee, 0) },
            { type: 'reject_friend_request', data: { user_id: addressee, request_id: 'old' }, metadata: meta(sender, 1) },
          );
        }
        commands.push({ type: 'send_friend_request', data: { user_id: addressee, request_id }, metadata: meta(sender, 2) });
        const accepts: FriendshipCommand[] = Array.from({ length: 20 }, (_, i) => ({
          type: 'accept_friend_request',
          data: { user_id: sender, request_id },
          metadata: meta(addressee, 10 + i),
        }));
        for (const [k, position] of senderAttempts.entries()) {
          accepts.splice(position, 0, {
            type: 'accept_friend_request',
            data: { user_id: addressee, request_id },
            metadata: meta(sender, 100 + k),
          });
        }
        commands.push(...accepts);

        const { events, state, rejections } = run(commands);
        const acceptances = events.filter((e) => e.type === 'friend_request_accepted');
        expect(acceptances).toHaveLength(1);
        expect(acceptances[0]!.data).toMatchObject({
          request_id,
          from_user_id: sender,
          to_user_id: addressee,
          by_user_id: addressee,
        });
        expect(rejections.get('request_not_found')).toBe(19 + senderAttempts.length);
        expect(state).toEqual({ friends: true, pending: null, blockers: [] });
      }),
      { numRuns: 200 },
    );
  });
});
