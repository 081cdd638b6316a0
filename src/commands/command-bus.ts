// The intake's side of the command path: append a command to the commands log,
// keyed by the aggregate it addresses, and wait for the processor's outcome on
// the outcomes log. Routes (REST and WS) call `send` and get the outcome, so a
// response is given only once the events are durably appended or refused.

import { randomUUID } from 'node:crypto';
import { aggregateIdOf, type AnyCommand } from '../domain/aggregates.ts';
import type { CommandMetadata } from '../domain/decider.ts';
import type { Consumer, Log } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { decodeOutcome, encodeCommand, type Outcome } from './envelope.ts';

export interface CommandBus {
  /** Sends a command and resolves with its outcome (rejections resolve too). */
  send(command: AnyCommand, correlationId?: string): Promise<Outcome>;
  stop(): Promise<void>;
}

/** Raised when no outcome arrives in time: the command may still take effect. */
export class CommandTimeout extends Error {
  readonly commandId: string;
  constructor(commandId: string, options?: ErrorOptions) {
    super(`no outcome for command ${commandId} in time`, options);
    this.commandId = commandId;
    this.name = 'CommandTimeout';
  }
}

interface Pending {
  resolve: (outcome: Outcome) => void;
  timer: NodeJS.Timeout;
}

export async function createCommandBus(options: { log: Log; instanceId: string; timeoutMs: number }): Promise<CommandBus> {
  const { log, instanceId, timeoutMs } = options;
  const pending = new Map<string, Pending>();

  // Every instance reads the outcomes addressed to it; started before the first
  // send so no outcome can slip past ('latest' is taken at subscribe time).
  // They are keyed by its id, so all land in one partition: only that one is
  // read (and other instances' outcomes that share it are skipped by key).
  const consumer: Consumer = await log.consume({
    topic: topics.outcomes,
    group: null,
    from: 'latest',
    partitions: [log.partitionForKey(topics.outcomes, instanceId)],
    eachBatch: ({ records }) => {
      for (const record of records) {
        if (record.key !== instanceId) continue;
        const outcome = decodeOutcome(record.value);
        const waiting = pending.get(outcome.command_id);
        if (waiting === undefined) continue;
        clearTimeout(waiting.timer);
        pending.delete(outcome.command_id);
        waiting.resolve(outcome);
      }
    },
  });

  return {
    async send(command, correlationId) {
      const commandId = command.metadata.command_id;
      const aggregateId = aggregateIdOf(command);
      const outcome = new Promise<Outcome>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(commandId);
          reject(new CommandTimeout(commandId));
        }, timeoutMs);
        pending.set(commandId, { resolve, timer });
      });
      const appended = log.append(topics.commands, [
        {
          key: aggregateId,
          value: encodeCommand(command),
          headers: {
            [headers.commandType]: command.type,
            [headers.commandId]: commandId,
            [headers.replyTo]: instanceId,
            [headers.correlationId]: correlationId ?? commandId,
          },
        },
      ]);
      try {
        // The timeout covers the append too: while the log is unreachable an
        // append may retry for much longer (Kafka: up to its retry budget), and
        // the client hears "unavailable, retry" instead of waiting for it.
        // Racing also keeps a timeout that fires during the append from being
        // an unhandled rejection (which ends the process).
        await Promise.race([appended, outcome]);
      } catch (error) {
        clearTimeout(pending.get(commandId)?.timer);
        pending.delete(commandId);
        throw error;
      }
      return outcome;
    },
    async stop() {
      await consumer.stop();
      for (const [commandId, waiting] of pending) {
        clearTimeout(waiting.timer);
        waiting.resolve({ command_id: commandId, status: 'rejected', code: 'internal', message: 'shutting down' });
      }
      pending.clear();
    },
  };
}

/** Stamps a command's metadata: a fresh id, the acting user and the time. */
export function commandMetadata(userId: string | null, now = Date.now()): CommandMetadata {
  return { command_id: randomUUID(), user_id: userId, at: now };
}
