// `parley start`: runs the roles of PARLEY_ROLES until SIGTERM or SIGINT, then
// stops them in order (requests in flight finish, sockets are told to go).
// Besides the JSON log, one human line on stderr says where it listens, on
// which adapters and where its files are.

import path from 'node:path';
import type { Logger } from 'pino';
import { start } from '../compose.ts';
import { allRoles, type Config } from '../config.ts';

export async function startCommand(config: Config, logger: Logger): Promise<void> {
  const running = await start(config, logger);
  process.stderr.write(`${startLine(config, running.port)}\n`);
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

/** `listening on http://localhost:8080, embedded, data in ./data` — or which adapters and roles instead. */
export function startLine(config: Config, port: number, cwd = process.cwd()): string {
  const distributed = [
    config.KAFKA_BROKERS === undefined ? undefined : 'Kafka',
    config.DATABASE_URL === undefined ? undefined : 'MySQL',
    config.REDIS_URL === undefined ? undefined : 'Redis',
  ].filter((name) => name !== undefined);
  const adapters = distributed.length === 0 ? 'embedded' : `on ${distributed.join(' + ')}`;
  const serves = config.PARLEY_ROLES.includes('api') || config.PARLEY_ROLES.includes('gateway');
  const host = ['', '0.0.0.0', '::'].includes(config.HOST)
    ? 'localhost'
    : config.HOST.includes(':')
      ? `[${config.HOST}]`
      : config.HOST;
  const where = serves ? `listening on http://${host}:${port}` : `running ${config.PARLEY_ROLES.join(', ')} (no HTTP port)`;
  const relative = path.relative(cwd, config.PARLEY_DATA_DIR);
  const dataDir =
    relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? config.PARLEY_DATA_DIR : `./${relative}`;
  const roles = serves && config.PARLEY_ROLES.length < allRoles.length ? ` (roles ${config.PARLEY_ROLES.join(', ')})` : '';
  return `${where}${roles}, ${adapters}, data in ${dataDir}`;
}
