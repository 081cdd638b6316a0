// A reservation aggregate, keyed by a value that must be unique (a username,
// an email). Whoever reserves it first owns it; reserving it again for the same
// owner is harmless, so a retried registration does not fail on itself.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

export type ReservationKind = 'username' | 'email';

export type Reserve = Command<'reserve', { kind: ReservationKind; value: string; owner_id: string }>;
export type Release = Command<'release', { kind: ReservationKind; value: string; owner_id: string }>;
export type ReservationCommand = Reserve | Release;

export type ValueReserved = DomainEvent<
  'value_reserved',
  { kind: ReservationKind; value: string; owner_id: string; reserved_at: number }
>;
export type ValueReleased = DomainEvent<
  'value_released',
  { kind: ReservationKind; value: string; owner_id: string; released_at: number }
>;
export type ReservationEvent = ValueReserved | ValueReleased;

export interface ReservationState {
  owner_id: string | null;
}

export const initialReservationState = (): ReservationState => ({ owner_id: null });

/** Values are compared case-insensitively: `Alice` and `alice` are one name. */
export const reservationAggregateId = (kind: ReservationKind, value: string): string => `${kind}:${value.toLowerCase()}`;

export function decideReservation(command: ReservationCommand, state: ReservationState): ReservationEvent[] {
  const { kind, value, owner_id } = command.data;
  const at = command.metadata.at;
  switch (command.type) {
    case 'reserve':
      if (state.owner_id === owner_id) return [];
      if (state.owner_id !== null) {
        throw new Rejection(kind === 'username' ? 'username_taken' : 'email_taken', `${kind} is already taken`);
      }
      return [{ type: 'value_reserved', data: { kind, value, owner_id, reserved_at: at } }];
    case 'release':
      if (state.owner_id !== owner_id) return [];
      return [{ type: 'value_released', data: { kind, value, owner_id, released_at: at } }];
    default:
      return assertNever(command);
  }
}

export function evolveReservation(state: ReservationState, event: ReservationEvent): ReservationState {
  switch (event.type) {
    case 'value_reserved':
      return { owner_id: event.data.owner_id };
    case 'value_released':
      return { owner_id: null };
    default:
      return assertNever(event);
  }
}

export const reservationDecider = {
  initialState: initialReservationState,
  decide: decideReservation,
  evolve: evolveReservation,
};
