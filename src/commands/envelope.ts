// How commands and their outcomes travel on the log. Commands are internal and
// short-lived, so they are JSON; events (the long-lived truth) are Avro.

import type { AnyCommand } from '../domain/aggregates.ts';
import type { RejectionCode } from '../domain/decider.ts';
import type { Position } from '../log/port.ts';
import { upcast } from '../log/upcasters.ts';

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
/** A command off the log, as the current code reads it (log/upcasters.ts: older commands may say more). */
export function decodeCommand(value: Buffer): AnyCommand {
  const command = JSON.parse(value.toString('utf8')) as AnyCommand;
  return { ...command, data: upcast(command.type, command.data) } as AnyCommand;
}

export const encodeOutcome = (outcome: Outcome): Buffer => Buffer.from(JSON.stringify(outcome));
export const decodeOutcome = (value: Buffer): Outcome => JSON.parse(value.toString('utf8')) as Outcome;
