// A housekeeping task run every interval (retention sweeps, the erasure
// scrubber, the sync feed's pruning): one round at a time — a round still
// running when the next is due is not doubled — a failed round logged and
// tried again next time, and a stop that waits for the round in flight.

import type { Logger } from 'pino';

export interface PeriodicTask<T> {
  /** A round now, or the one already running. */
  runOnce(): Promise<T>;
  stop(): Promise<void>;
}

export function startPeriodicTask<T>(
  round: () => Promise<T>,
  options: { intervalMs: number; logger: Logger; /** Names the task in its failure's log line. */ what: string },
): PeriodicTask<T> {
  let running: Promise<T> | undefined;
  const runOnce = (): Promise<T> => {
    running ??= round().finally(() => (running = undefined));
    return running;
  };
  // Unref'd: housekeeping keeps no process alive.
  const timer = setInterval(() => {
    runOnce().catch((error: unknown) => options.logger.warn({ err: error }, `${options.what} failed; retrying next round`));
  }, options.intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
