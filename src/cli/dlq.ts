// `parley dlq list|retry|skip`: the operator's side of poison events
// (projections/dead-letters.ts). It works on the read-model database the
// servers use (DATABASE_URL, or the data dir's SQLite file); a running
// projector notices a retry or a skip at its next back-off tick, so no
// signal to the servers is needed.

import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { openMigratedStore } from '../compose.ts';
import type { Config } from '../config.ts';
import {
  DeadLetterError,
  listDeadLetters,
  retryDeadLetter,
  skipDeadLetter,
  type DeadLetter,
} from '../projections/dead-letters.ts';
import type { Database } from '../store/schema.ts';
import { parseCount } from './args.ts';

export const dlqUsage = `usage: parley dlq <list|retry|skip> [options]
  Poison events: records a projector could not decode, or whose rows the
  read-model database refused. Each halts its partition (the others go on).
  list [--all] [--json]   the open dead letters (parked, retrying); --all: every one
  retry <id>              try the record again (after a fix); parked again if it still fails
  skip <id>               move the projection past the record, without applying it`;

/** The command as the CLI runs it; sets the exit code (0 done, 1 refused, 2 usage). */
export async function dlqCommand(argv: string[], config: Config, logger: Logger): Promise<void> {
  const store = await openMigratedStore(config, logger);
  try {
    process.exitCode = await runDlq(argv, store.db, process.stdout);
  } finally {
    await store.close();
  }
}

export async function runDlq(argv: string[], db: Kysely<Database>, out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { all: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  const [action, id] = positionals;
  try {
    switch (action) {
      case 'list': {
        const letters = await listDeadLetters(db, { all: values.all });
        out.write(values.json ? `${JSON.stringify(letters, null, 2)}\n` : table(letters));
        return 0;
      }
      case 'retry':
      case 'skip': {
        const n = parseCount(id, 'id', 1);
        if (n === undefined) throw new Error(`name the dead letter's id\n${dlqUsage}`);
        const letter = action === 'retry' ? await retryDeadLetter(db, n) : await skipDeadLetter(db, n, Date.now());
        out.write(
          action === 'retry'
            ? `dead letter ${n}: retrying — the projector tries ${where(letter)} again within seconds\n`
            : `dead letter ${n}: skipped — ${where(letter)} will not be applied; the partition goes on\n`,
        );
        return 0;
      }
      default:
        out.write(`${dlqUsage}\n`);
        return 2;
    }
  } catch (error) {
    if (error instanceof DeadLetterError) {
      out.write(`${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

const where = (l: DeadLetter) => `${l.projection} ${l.topic}[${l.partition}]@${l.offset} (${l.event_type ?? 'no type'})`;

function table(letters: readonly DeadLetter[]): string {
  if (letters.length === 0) return 'no dead letters\n';
  const rows = letters.map((l) => [
    String(l.id),
    l.status,
    l.projection,
    `${l.topic}[${l.partition}]@${l.offset}`,
    l.event_type ?? '-',
    String(l.attempts),
    new Date(l.last_failed_at).toISOString(),
    `${l.error_code}: ${l.error_message.replace(/\s+/g, ' ').slice(0, 120)}`,
  ]);
  const head = ['id', 'status', 'projection', 'position', 'type', 'attempts', 'last failed', 'error'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
