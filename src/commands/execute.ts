// One way to run a command for a client, shared by REST and WebSocket intake:
// send it, turn a rejection back into a Rejection (the HTTP/WS layers map it to
// an error), and — for answers built from the read model — wait, bounded,
// until the read model shows its effect, so the client's next query sees it
// (read-your-writes).

import type { AnyCommand } from '../domain/aggregates.ts';
import { Rejection } from '../domain/decider.ts';
import { noMetrics, type AcceptOutcome, type CommandMetrics } from '../infra/metrics.ts';
import type { Position } from '../log/port.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { commandMetadata, CommandTimeout, type CommandBus } from './command-bus.ts';

export interface Accepted {
  commandId: string;
  /** Where the command's last event landed; null when it changed nothing. */
  position: Position | null;
  /** The command's type and when its intake began (performance.now()), for the latency metrics. */
  commandType: string;
  startedAt: number;
}

export interface CommandExecutor {
  /** Runs the command; resolves once the processor accepted it (its events are in the log). */
  accept(command: AnyCommand, correlationId?: string): Promise<Accepted>;
  /** Waits, bounded, until the read model shows what `accept` wrote (read-your-writes). */
  readable(accepted: Accepted): Promise<void>;
  /** accept, then readable: resolves with the position of its effect once it is readable. */
  execute(command: AnyCommand, correlationId?: string): Promise<Position | null>;
  /** execute for a client: `userId` gives the command, which gets its id and time here. */
  executeFor(userId: string, command: Omit<AnyCommand, 'metadata'>): Promise<Position | null>;
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
  metrics?: CommandMetrics;
}): CommandExecutor {
  const { bus, progress, projection, readYourWritesTimeoutMs, metrics = noMetrics.commands } = options;
  const secondsSince = (startedAt: number) => (performance.now() - startedAt) / 1000;
  const executor: CommandExecutor = {
    async accept(command, correlationId) {
      const startedAt = performance.now();
      let outcome: AcceptOutcome = 'error';
      try {
        const answer = await bus.send(command, correlationId);
        if (answer.status === 'rejected') {
          if (answer.code === 'internal') throw new Error(`command ${answer.command_id} failed: ${answer.message}`);
          outcome = 'rejected';
          throw new Rejection(answer.code, answer.message, answer.details);
        }
        outcome = 'accepted';
        return { commandId: answer.command_id, position: answer.position, commandType: command.type, startedAt };
      } catch (error) {
        if (error instanceof CommandTimeout) outcome = 'timeout';
        throw error;
      } finally {
        metrics.accepted(command.type, outcome, secondsSince(startedAt));
      }
    },
    async readable({ position, commandType, startedAt }) {
      if (position === null) return;
      const caughtUp = await progress.waitFor(projection, position, readYourWritesTimeoutMs);
      metrics.readable(commandType, caughtUp ? 'caught_up' : 'lagging', secondsSince(startedAt));
      if (!caughtUp) throw new ReadModelLagging();
    },
    async execute(command, correlationId) {
      const accepted = await executor.accept(command, correlationId);
      await executor.readable(accepted);
      return accepted.position;
    },
    executeFor(userId, command) {
      return executor.execute({ ...command, metadata: commandMetadata(userId) } as AnyCommand);
    },
  };
  return executor;
}
