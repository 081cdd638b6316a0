// A reservation aggregate, keyed by a value that must be unique (a username,
// an email). Whoever reserves it first owns it; reserving it again for the same
// owner is harmless, so a retried registration does not fail on itself.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type ReservationKind = 'username' | 'email';

export type Reserve = Command<'reserve', { kind: ReservationKind; value: string; owner_id: string }>;
/**
 * `available_at`: when the value may be claimed again (epoch ms; absent: at
 * once) — a deleted account's username cools off first, so nobody can pose as
 * its owner the day after.
 */
export type Release = Command<'release', { kind: ReservationKind; value: string; owner_id: string; available_at?: number }>;
export type ReservationCommand = Reserve | Release;

export type ValueReserved = DomainEvent<
  'value_reserved',
  { kind: ReservationKind; value: string; owner_id: string; reserved_at: number }
>;
export type ValueReleased = DomainEvent<
  'value_released',
  { kind: ReservationKind; value: string; owner_id: string; released_at: number; available_at: number }
>;
export type ReservationEvent = ValueReserved | ValueReleased;

export interface ReservationState {
  owner_id: string | null;
  /** A released value is free from this time on (epoch ms). */
  available_at: number;
}

export const initialReservationState = (): ReservationState => ({ owner_id: null, available_at: 0 });

/** Values are compared case-insensitively: `Alice` and `alice` are one name. */
export const reservationAggregateId = (kind: ReservationKind, value: string): string => `${kind}:${value.toLowerCase()}`;

export function decideReservation(command: ReservationCommand, state: ReservationState): ReservationEvent[] {
  const { kind, value, owner_id } = command.data;
  const at = command.metadata.at;
  switch (command.type) {
    case 'reserve':
      if (state.owner_id === owner_id) return [];
      if (state.owner_id !== null || at < state.available_at) {
        throw new Rejection(kind === 'username' ? 'username_taken' : 'email_taken', `${kind} is already taken`);
      }
      return [{ type: 'value_reserved', data: { kind, value, owner_id, reserved_at: at } }];
    case 'release':
      if (state.owner_id !== owner_id) return [];
      return [
        {
          type: 'value_released',
          data: { kind, value, owner_id, released_at: at, available_at: command.data.available_at ?? at },
        },
      ];
    default:
      return assertNever(command);
  }
}

export function evolveReservation(state: ReservationState, event: ReservationEvent): ReservationState {
  switch (event.type) {
    case 'value_reserved':
      return { owner_id: event.data.owner_id, available_at: 0 };
    case 'value_released':
      return { owner_id: null, available_at: event.data.available_at };
    default:
      return assertNever(event);
  }
}

export const reservationDecider = {
  initialState: initialReservationState,
  decide: decideReservation,
  evolve: evolveReservation,
};
