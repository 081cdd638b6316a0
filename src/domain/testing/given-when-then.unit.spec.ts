// The helper must fail loudly when a decider disagrees with the spec; otherwise
// every domain spec built on it could pass without checking anything.

import { describe, expect, it } from 'vitest';
import { Rejection, type Command, type Decider, type DomainEvent } from '../decider.ts';
import { given } from './given-when-then.ts';

type Bump = Command<'bump', { by: number }>;
type Bumped = DomainEvent<'bumped', { to: number }>;
interface Counter {
  value: number;
}

const counter: Decider<Bump, Bumped, Counter> = {
  initialState: () => ({ value: 0 }),
  decide: (command, state) => {
    if (command.data.by <= 0) throw new Rejection('invalid_state', 'bump by a positive number');
    return [{ type: 'bumped', data: { to: state.value + command.data.by } }];
  },
  evolve: (_state, event) => ({ value: event.data.to }),
};

const bump = (by: number): Bump => ({ type: 'bump', data: { by }, metadata: { command_id: 'c', user_id: null, at: 0 } });
const bumped = (to: number): Bumped => ({ type: 'bumped', data: { to } });

describe('given/when/then', () => {
  it('passes when the events match, with the past folded in', () => {
    given(counter, [bumped(2)])
      .when(bump(3))
      .then([bumped(5)]);
  });

  it('fails when the events differ', () => {
    expect(() =>
      given(counter, [bumped(2)])
        .when(bump(3))
        .then([bumped(3)]),
    ).toThrow();
  });

  it('fails when events were expected but the command was rejected', () => {
    expect(() => given(counter).when(bump(0)).then([])).toThrow(Rejection);
  });

  it('returns the rejection when the code matches', () => {
    expect(given(counter).when(bump(-1)).thenRejects('invalid_state').message).toBe('bump by a positive number');
  });

  it('fails when the rejection has another code', () => {
    expect(() => given(counter).when(bump(0)).thenRejects('forbidden')).toThrow();
  });

  it('fails when a rejection was expected but events came out', () => {
    expect(() => given(counter).when(bump(1)).thenRejects('invalid_state')).toThrow(/expected a rejection/);
  });

  it('fails when decide changes the state it was given', () => {
    const sloppy: Decider<Bump, Bumped, Counter> = {
      ...counter,
      decide: (command, state) => {
        state.value += command.data.by;
        return [bumped(state.value)];
      },
    };
    expect(() =>
      given(sloppy, [bumped(1)])
        .when(bump(1))
        .then([bumped(2)]),
    ).toThrow(/must not change the state/);
  });
});
