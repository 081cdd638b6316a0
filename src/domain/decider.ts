// The shape every aggregate follows: two pure functions and an initial state.
// `decide` turns a command into events (or throws a Rejection); `evolve` folds
// an event into the state. No I/O, clock or randomness: ids and times arrive on
// the command, so the same inputs always give the same outputs.

export interface CommandMetadata {
  /** Unique per command; a retried command carries the same id. */
  command_id: string;
  /** The authenticated user who sent it (null for system commands). */
  user_id: string | null;
  /** When the command was accepted by the intake, epoch ms. */
  at: number;
}

export interface Command<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
  metadata: CommandMetadata;
}

export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** A rule said no. `code` is stable and reaches the client as the error code. */
export class Rejection extends Error {
  readonly code: RejectionCode;
  readonly details: unknown;
  constructor(code: RejectionCode, message: string, details?: unknown) {
    super(message);
    this.name = 'Rejection';
    this.code = code;
    this.details = details;
  }
}

export type RejectionCode =
  | 'not_found'
  | 'room_not_found'
  | 'message_not_found'
  | 'user_not_found'
  | 'attachment_not_found'
  | 'upload_not_found'
  | 'request_not_found'
  | 'invitation_not_found'
  | 'not_a_member'
  | 'forbidden'
  | 'account_suspended'
  | 'already_exists'
  | 'username_taken'
  | 'email_taken'
  | 'already_member'
  | 'last_owner'
  | 'too_many_pins'
  | 'banned'
  | 'muted'
  | 'slow_mode'
  | 'invalid_state'
  | 'blocked'
  | 'not_friends'
  | 'already_friends'
  | 'request_pending'
  | 'self_request'
  | 'message_rejected';

export interface Decider<C extends Command, E extends DomainEvent, S> {
  initialState: () => S;
  decide: (command: C, state: S) => E[];
  evolve: (state: S, event: E) => S;
}

/** Folds events into a state: how the processor restores an aggregate. */
export function replay<E extends DomainEvent, S>(
  decider: { initialState: () => S; evolve: (state: S, event: E) => S },
  events: readonly E[],
): S {
  return events.reduce(decider.evolve, decider.initialState());
}

/** Makes a forgotten case in a `switch` a compile error. */
export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
