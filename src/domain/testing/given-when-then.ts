// Given/when/then for deciders, so a spec reads like the rule it checks:
//
//   given(roomDecider, [created, aliceJoined]).when(aliceSends).then([sent(1)]);
//   given(roomDecider, []).when(aliceSends).thenRejects('room_not_found');
//
// The past events are folded with the decider's own `evolve` (as the processor
// restores an aggregate), and every `decide` is also checked to leave the state
// it was given untouched: deciding is pure, only `evolve` may change a state.

import { expect } from 'vitest';
import { Rejection, replay, type Command, type Decider, type DomainEvent, type RejectionCode } from '../decider.ts';

export interface When<E extends DomainEvent> {
  /** The command yields exactly these events, in this order. */
  then: (expected: readonly E[]) => void;
  /** The command is refused with this code; returns the Rejection for further checks. */
  thenRejects: (code: RejectionCode) => Rejection;
}

export interface Given<C extends Command, E extends DomainEvent> {
  when: (command: C) => When<E>;
}

export function given<C extends Command, E extends DomainEvent, S>(
  decider: Decider<C, E, S>,
  past: readonly E[] = [],
): Given<C, E> {
  return {
    when: (command) => {
      // Runs `decide` on a freshly restored state each time, so `then` and
      // `thenRejects` are independent of each other and of the call order.
      const run = (): { events: E[] } | { error: unknown } => {
        const state = replay(decider, past);
        const before = structuredClone(state);
        try {
          return { events: decider.decide(command, state) };
        } catch (error) {
          return { error };
        } finally {
          expect(state, 'decide must not change the state it is given').toEqual(before);
        }
      };
      return {
        then: (expected) => {
          const outcome = run();
          if ('error' in outcome) throw outcome.error;
          expect(outcome.events).toEqual(expected);
        },
        thenRejects: (code) => {
          const outcome = run();
          if ('events' in outcome) {
            expect.fail(`expected a rejection '${code}', got events ${JSON.stringify(outcome.events)}`);
          }
          if (!(outcome.error instanceof Rejection)) throw outcome.error;
          expect(outcome.error.code).toBe(code);
          return outcome.error;
        },
      };
    },
  };
}
