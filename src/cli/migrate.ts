// `parley migrate`: brings the read-model database to the latest migration
// (`parley start` does it too, before it serves).

import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { migrateToLatest } from '../store/migrate.ts';
import { openStore } from '../store/store.ts';

export async function migrateCommand(config: Config, logger: Logger): Promise<void> {
  const store = openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.PARLEY_DATA_DIR });
  try {
    const applied = await migrateToLatest(store.db);
    logger.info({ applied }, applied.length === 0 ? 'read models already up to date' : 'migrations applied');
  } finally {
    await store.close();
  }
}
