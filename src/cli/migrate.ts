// `parley migrate [up|down|create <name>]`: the read-model database's
// migrations (migrations/, one file per step). `up` — the default, and what
// `parley start` does before it serves — applies every pending one; `down`
// reverts the newest applied one; `create` writes the next file from a template.

import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { migrateDown, migrateToLatest, migrationsDir, nextMigrationFile } from '../store/migrate.ts';
import { openStore } from '../store/store.ts';

export const migrateUsage = `usage: parley migrate [up|down|create <name>] [options]
  up                 apply every pending migration (the default; parley start does it too)
  down               revert the newest applied migration
  create <name>      write migrations/NNNN_<name>.ts from a template (name: a-z, 0-9, _)
  --dir <path>       the migrations folder (default: the repository's migrations/)`;

const template = (name: string) => `// ${name}: what this migration changes in the read models, and why.
// Runs on SQLite and MySQL alike (kysely's schema builder); \`down\` undoes \`up\`.

import type { AnyDatabase } from '../src/store/dialect.ts';

export async function up(db: AnyDatabase): Promise<void> {
  // e.g. await db.schema.alterTable('rooms').addColumn('color', 'varchar(16)').execute();
  void db;
}

export async function down(db: AnyDatabase): Promise<void> {
  // e.g. await db.schema.alterTable('rooms').dropColumn('color').execute();
  void db;
}
`;

export async function migrateCommand(args: string[], config: Config, logger: Logger): Promise<void> {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: { dir: { type: 'string' } } });
  const [action = 'up', name] = positionals;
  const dir = values.dir === undefined ? migrationsDir : path.resolve(values.dir);
  if (action === 'create') {
    if (name === undefined || !/^[a-z0-9_]{1,64}$/.test(name))
      throw new Error(`${migrateUsage}\n\na name is required: a-z, 0-9 and _`);
    const file = path.join(dir, await nextMigrationFile(name, dir));
    await fs.writeFile(file, template(name), { flag: 'wx' });
    process.stdout.write(`${file}\n`);
    return;
  }
  if (action !== 'up' && action !== 'down') throw new Error(`${migrateUsage}\n\nunknown migrate action: ${action}`);
  const store = openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.PARLEY_DATA_DIR });
  try {
    if (action === 'down') {
      const reverted = await migrateDown(store.db, dir);
      logger.info({ reverted }, reverted.length === 0 ? 'no migration to revert' : 'migration reverted');
    } else {
      const applied = await migrateToLatest(store.db, dir);
      logger.info({ applied }, applied.length === 0 ? 'read models already up to date' : 'migrations applied');
    }
  } finally {
    await store.close();
  }
}
