// How commands and their outcomes travel on the log. Commands are internal and
// short-lived, so they are JSON; events (the long-lived truth) are Avro.

import type { AnyCommand } from '../domain/aggregates.ts';
import type { RejectionCode } from '../domain/decider.ts';
import type { Position } from '../log/port.ts';

/** What the processor answers for a command. */
export type Outcome =
  | {
      command_id: string;
      status: 'accepted';
      /** Events this command appended (0 for a harmless retry). */
      events: number;
      /**
       * The events-log position a reader must have reached to see the command's
       * effect (its last event, or the partition head for a no-op retry).
       */
      position: Position | null;
    }
  | {
      command_id: string;
      status: 'rejected';
      code: RejectionCode | 'internal';
      message: string;
      details?: unknown;
    };

export const encodeCommand = (command: AnyCommand): Buffer => Buffer.from(JSON.stringify(command));
export const decodeCommand = (value: Buffer): AnyCommand => JSON.parse(value.toString('utf8')) as AnyCommand;

export const encodeOutcome = (outcome: Outcome): Buffer => Buffer.from(JSON.stringify(outcome));
export const decodeOutcome = (value: Buffer): Outcome => JSON.parse(value.toString('utf8')) as Outcome;
