// `parley start`: runs the roles of PARLEY_ROLES until SIGTERM or SIGINT, then
// stops them in order (requests in flight finish, sockets are told to go).

import type { Logger } from 'pino';
import { start } from '../compose.ts';
import type { Config } from '../config.ts';

export async function startCommand(config: Config, logger: Logger): Promise<void> {
  const running = await start(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
