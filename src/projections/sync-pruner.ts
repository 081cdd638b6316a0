// Keeps the sync feed (sync_changes) to PARLEY_SYNC_RETENTION_S of events.
// Each round deletes, per partition, the changes appended before the cut-off
// and moves that partition's horizon past them, in one transaction: a token
// below a horizon then answers "resync" rather than a feed with a hole in it.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { startPeriodicTask } from '../infra/periodic-task.ts';
import type { Database } from '../store/schema.ts';
import { inTransaction } from '../store/transaction.ts';

export interface SyncPruner {
  /** One round now; resolves with the partitions it pruned. */
  runOnce(): Promise<number[]>;
  stop(): Promise<void>;
}

export function startSyncPruner(options: {
  db: Kysely<Database>;
  retentionS: number;
  intervalMs: number;
  logger: Logger;
}): SyncPruner {
  const { db } = options;

  async function prune(): Promise<number[]> {
    const cutoff = Date.now() - options.retentionS * 1_000;
    const expired = await db
      .selectFrom('sync_changes')
      .select(['log_partition', (eb) => eb.fn.max<number | string>('log_offset').as('last')])
      .where('appended_at', '<', cutoff)
      .groupBy('log_partition')
      .execute();
    for (const { log_partition, last } of expired) {
      const firstKept = Number(last) + 1;
      await inTransaction(db, async (trx) => {
        const moved = await trx
          .updateTable('sync_horizons')
          .set({ first_offset: firstKept })
          .where('log_partition', '=', log_partition)
          .where('first_offset', '<', firstKept)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) === 0) {
          // No row yet (or one already further on, which the insert leaves alone).
          await trx.insertInto('sync_horizons').ignore().values({ log_partition, first_offset: firstKept }).execute();
        }
        await trx
          .deleteFrom('sync_changes')
          .where('log_partition', '=', log_partition)
          .where('log_offset', '<', firstKept)
          .execute();
      });
    }
    return expired.map((row) => row.log_partition);
  }

  return startPeriodicTask(prune, { intervalMs: options.intervalMs, logger: options.logger, what: 'sync feed pruning' });
}
