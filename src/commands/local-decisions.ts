// The shortcut of a process that runs the processor: a command whose
// partition is assigned here is decided here, skipping two trips through the
// log (the command onto the commands topic and back, its outcome onto the
// outcomes topic and back). Its events take the same path as ever — appended
// to the events log by the partition's single writer, fenced the same way —
// so readers, replays and every guarantee are unchanged. Embedded, the one
// process owns every partition and no command crosses the commands topic;
// distributed, the share of commands whose partition the receiving instance
// owns does.

import { CommandTimeout, type CommandBus } from './command-bus.ts';
import type { Outcome } from './envelope.ts';
import { PartitionMoved, type Processor } from './processor.ts';

export function preferLocalDecisions(
  bus: CommandBus,
  processor: Pick<Processor, 'decideHere'>,
  options: { timeoutMs: number },
): CommandBus {
  return {
    async send(command, correlationId) {
      const commandId = command.metadata.command_id;
      const decided = processor.decideHere(command, correlationId ?? commandId);
      if (decided === null) return bus.send(command, correlationId);
      try {
        return await withinTimeout(decided, options.timeoutMs, () => new CommandTimeout(commandId));
      } catch (error) {
        if (error instanceof PartitionMoved) return bus.send(command, correlationId);
        if (error instanceof CommandTimeout) throw error;
        // The events were not appended (or were fenced): nothing of the command
        // is visible, and a retry is safe — the client hears "retry", as after
        // a timeout on the topic path.
        throw new CommandTimeout(commandId, { cause: error });
      }
    },
    stop: () => bus.stop(),
  };
}

/** The outcome, or the timeout's error if it does not come in time (it may still come: the command may take effect). */
function withinTimeout(outcome: Promise<Outcome>, timeoutMs: number, timedOut: () => Error): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), timeoutMs);
  });
  return Promise.race([outcome, timeout]).finally(() => clearTimeout(timer));
}
