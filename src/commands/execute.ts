// One way to run a command for a client, shared by REST and WebSocket intake:
// send it, turn a rejection back into a Rejection (the HTTP/WS layers map it to
// an error), and wait, bounded, until the read model shows its effect, so the
// client's next query sees it (read-your-writes).

import type { AnyCommand } from '../domain/aggregates.ts';
import { Rejection } from '../domain/decider.ts';
import type { Position } from '../log/port.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import type { CommandBus } from './command-bus.ts';

export interface CommandExecutor {
  /** Runs the command; resolves with the position of its effect once it is readable. */
  execute(command: AnyCommand, correlationId?: string): Promise<Position | null>;
}

/** The read model did not catch up in time: the command took effect, reads may lag. */
export class ReadModelLagging extends Error {
  constructor() {
    super('the read model has not caught up yet');
    this.name = 'ReadModelLagging';
  }
}

export function createCommandExecutor(options: {
  bus: CommandBus;
  progress: ProjectionProgress;
  projection: string;
  readYourWritesTimeoutMs: number;
}): CommandExecutor {
  const { bus, progress, projection, readYourWritesTimeoutMs } = options;
  return {
    async execute(command, correlationId) {
      const outcome = await bus.send(command, correlationId);
      if (outcome.status === 'rejected') {
        if (outcome.code === 'internal') throw new Error(`command ${outcome.command_id} failed: ${outcome.message}`);
        throw new Rejection(outcome.code, outcome.message, outcome.details);
      }
      if (outcome.position !== null) {
        const caughtUp = await progress.waitFor(projection, outcome.position, readYourWritesTimeoutMs);
        if (!caughtUp) throw new ReadModelLagging();
      }
      return outcome.position;
    },
  };
}
