// The reservation's rules: the first owner of a unique value wins, the same
// owner may ask again, and only the owner gives it back.

import { describe, expect, it } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import {
  reservationAggregateId,
  reservationDecider,
  type Release,
  type ReservationKind,
  type Reserve,
  type ValueReleased,
  type ValueReserved,
} from './reservation.ts';
import { given } from './testing/given-when-then.ts';

const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;

const meta = (at: number): CommandMetadata => ({ command_id: `cmd-${at}`, user_id: null, at });

const reserve = (owner_id: string, kind: ReservationKind = 'username', value = 'alice'): Reserve => ({
  type: 'reserve',
  data: { kind, value, owner_id },
  metadata: meta(T1),
});

const release = (owner_id: string, kind: ReservationKind = 'username', value = 'alice'): Release => ({
  type: 'release',
  data: { kind, value, owner_id },
  metadata: meta(T1),
});

const reserved = (owner_id: string, kind: ReservationKind = 'username', value = 'alice', at = T0): ValueReserved => ({
  type: 'value_reserved',
  data: { kind, value, owner_id, reserved_at: at },
});

const released = (owner_id: string, kind: ReservationKind = 'username', value = 'alice', at = T0): ValueReleased => ({
  type: 'value_released',
  data: { kind, value, owner_id, released_at: at, available_at: at },
});

describe('reserve', () => {
  it('gives a free value to the first owner', () => {
    given(reservationDecider, [])
      .when(reserve('u1'))
      .then([reserved('u1', 'username', 'alice', T1)]);
  });

  it('refuses a taken username to anyone else', () => {
    given(reservationDecider, [reserved('u1')])
      .when(reserve('u2'))
      .thenRejects('username_taken');
  });

  it('refuses a taken email to anyone else', () => {
    given(reservationDecider, [reserved('u1', 'email', 'a@example.com')])
      .when(reserve('u2', 'email', 'a@example.com'))
      .thenRejects('email_taken');
  });

  it('is harmless when the owner reserves again', () => {
    given(reservationDecider, [reserved('u1')])
      .when(reserve('u1'))
      .then([]);
  });

  it('lets someone else take a value once it is released', () => {
    given(reservationDecider, [reserved('u1'), released('u1')])
      .when(reserve('u2'))
      .then([reserved('u2', 'username', 'alice', T1)]);
  });

  it('keeps a released value taken until its cooling-off ends (a deleted account’s username), then gives it away', () => {
    const coolingOff = {
      type: 'value_released' as const,
      data: { kind: 'username' as const, value: 'alice', owner_id: 'u1', released_at: T0, available_at: T1 + 1 },
    };
    given(reservationDecider, [reserved('u1'), coolingOff])
      .when(reserve('u2'))
      .thenRejects('username_taken');
    given(reservationDecider, [reserved('u1'), { ...coolingOff, data: { ...coolingOff.data, available_at: T1 } }])
      .when(reserve('u2'))
      .then([reserved('u2', 'username', 'alice', T1)]);
  });

  it('keys a value case-insensitively, so Alice and alice are one aggregate', () => {
    expect(reservationAggregateId('username', 'Alice')).toBe(reservationAggregateId('username', 'alice'));
    expect(reservationAggregateId('email', 'A@Example.com')).toBe('email:a@example.com');
    expect(reservationAggregateId('username', 'alice')).not.toBe(reservationAggregateId('email', 'alice'));
  });
});

describe('release', () => {
  it('gives the value back when its owner releases it', () => {
    given(reservationDecider, [reserved('u1')])
      .when(release('u1'))
      .then([released('u1', 'username', 'alice', T1)]);
  });

  // No events means the history is unchanged: the value stays the owner's.
  it('ignores a release by someone who does not own the value', () => {
    given(reservationDecider, [reserved('u1')])
      .when(release('u2'))
      .then([]);
  });

  it('ignores a release of a value that is free', () => {
    given(reservationDecider, []).when(release('u1')).then([]);
    given(reservationDecider, [reserved('u1'), released('u1')])
      .when(release('u1'))
      .then([]);
  });

  it('lets the former owner reserve a released value again', () => {
    given(reservationDecider, [reserved('u1'), released('u1')])
      .when(reserve('u1'))
      .then([reserved('u1', 'username', 'alice', T1)]);
  });
});
