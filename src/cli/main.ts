// The `parley` command line: one file per command in this folder, dispatched
// here. `parley <command> --help` prints a command's usage.

import pino from 'pino';
import { loadConfig } from '../config.ts';
import { adminCommand, adminUsage } from './admin.ts';
import { dlqCommand, dlqUsage } from './dlq.ts';
import { migrateCommand, migrateUsage } from './migrate.ts';
import { openapiCommand, openapiUsage } from './openapi.ts';
import { rebuildCommand, rebuildUsage } from './rebuild.ts';
import { replayCommand, replayUsage } from './replay.ts';
import { seedCommand, seedUsage } from './seed.ts';
import { startCommand } from './start.ts';

export const usage = `usage: parley <command> [options]
  start      run the service (the roles of PARLEY_ROLES; the default command)
  migrate    apply, revert or create read-model migrations (parley migrate --help)
  replay     decode a range of a topic to JSON lines (parley replay --help)
  rebuild    rebuild a read model beside the running service (parley rebuild --help)
  openapi    write the OpenAPI document served at /openapi.json (parley openapi --help)
  seed       fill a deployment with users, rooms and messages to try it (parley seed --help)
  dlq        list, retry or skip poison events that halted a projection (parley dlq --help)
  admin      grant or revoke global admin (parley admin --help)`;

const startUsage = `usage: parley start
  runs the roles of PARLEY_ROLES until SIGTERM or SIGINT; configured by the
  environment (and a .env in the working directory): see the README's Configuration`;

export async function cli(argv: string[]): Promise<void> {
  const [command = 'start', ...args] = argv;
  if (command === '--help' || command === 'help') {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const commandUsage = {
    start: startUsage,
    migrate: migrateUsage,
    replay: replayUsage,
    rebuild: rebuildUsage,
    openapi: openapiUsage,
    seed: seedUsage,
    dlq: dlqUsage,
    admin: adminUsage,
  }[command];
  if (commandUsage !== undefined && (args.includes('--help') || args.includes('-h'))) {
    process.stdout.write(`${commandUsage}\n`);
    return;
  }
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL });
  switch (command) {
    case 'start':
      return startCommand(config, logger);
    case 'migrate':
      return migrateCommand(args, config, logger);
    case 'replay':
      return replayCommand(args, config, logger);
    case 'rebuild':
      return rebuildCommand(args, config, logger);
    case 'openapi':
      return openapiCommand(args, config);
    case 'seed':
      return seedCommand(args, config, logger);
    case 'dlq':
      return dlqCommand(args, config, logger);
    case 'admin':
      return adminCommand(args, config, logger);
    default:
      process.stderr.write(`unknown command: ${command}\n${usage}\n`);
      process.exitCode = 2;
  }
}
