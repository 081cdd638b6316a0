// Signals: ephemeral facts on the signals log that need no invariant and no
// history — typing, online/offline, who is viewing a room. Like events they
// are Avro records (schemas/<type>/), with the type in the `event_type` header,
// and keep the Go service's names (typing_started, user_online …).

import type { EventCodec } from './codec.ts';
import type { AppendRecord } from './port.ts';
import { headers } from './topics.ts';

type Signal<T extends string, D> = { type: T; data: D };

export type TypingStarted = Signal<'typing_started', { room_id: string; user_id: string; at: number }>;
export type TypingStopped = Signal<'typing_stopped', { room_id: string; user_id: string; at: number }>;
export type UserOnline = Signal<'user_online', { user_id: string; at: number }>;
export type UserOffline = Signal<'user_offline', { user_id: string; at: number }>;
/** One per socket, so a user with two tabs keeps viewing until both leave. */
export type RoomViewStarted = Signal<'room_view_started', { room_id: string; user_id: string; session_id: string; at: number }>;
export type RoomViewEnded = Signal<'room_view_ended', { room_id: string; user_id: string; session_id: string; at: number }>;

export type AnySignal = TypingStarted | TypingStopped | UserOnline | UserOffline | RoomViewStarted | RoomViewEnded;
export type SignalType = AnySignal['type'];

/** Every signal type (a Record, so the compiler finds one missing). */
const signalTypeSet: Record<SignalType, true> = {
  typing_started: true,
  typing_stopped: true,
  user_online: true,
  user_offline: true,
  room_view_started: true,
  room_view_ended: true,
};
export const signalTypes = Object.keys(signalTypeSet) as readonly SignalType[];

/** Signals about a room are keyed by it; presence by the user. */
export function signalRecord(codec: EventCodec, signal: AnySignal): AppendRecord {
  const key = 'room_id' in signal.data ? `room:${signal.data.room_id}` : `user:${signal.data.user_id}`;
  return { key, value: codec.encode(signal.type, signal.data), headers: { [headers.eventType]: signal.type } };
}
