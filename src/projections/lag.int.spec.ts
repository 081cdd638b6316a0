// Projection lag, on SQLite and MariaDB over the embedded log: the records
// appended past the offsets a projection stored, per partition — a partition
// without a stored row counts from 0 — and 0 once its offsets reach the end.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { topics } from '../log/topics.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { projectionLag } from './lag.ts';

for (const engine of await testEngines('projection-lag')) {
  describe.runIf(engine.available)(`projection lag on ${engine.name}`, () => {
    let store: Store;
    let log: SqliteLog;
    let dir: string;
    beforeEach(async () => {
      store = await engine.open();
      dir = mkdtempSync(join(tmpdir(), 'parley-projection-lag-'));
      log = openSqliteLog({ path: join(dir, 'log.sqlite'), onError: () => undefined });
      await log.ensureTopics([{ name: topics.events, partitions: 3, retentionMs: null }]);
    });
    afterEach(async () => {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
      await store.db.destroy();
      await engine.dispose();
    });

    test('counts what each partition holds past the stored offset, under the model name', async () => {
      const append = (partition: number, n: number) =>
        log.append(
          topics.events,
          Array.from({ length: n }, (_, i) => ({ key: `room:${i}`, value: Buffer.from('e'), partition })),
        );
      await append(0, 5);
      await append(1, 2);
      await store.db
        .insertInto('projection_offsets')
        .values([
          { projection: 'chat@v2', topic: topics.events, partition: 0, next_offset: 3 },
          { projection: 'chat@v2', topic: topics.events, partition: 1, next_offset: 2 },
        ])
        .execute();
      const followed = [{ label: 'chat', offsetsName: 'chat@v2', topic: topics.events }];
      expect(await projectionLag(log, store.db, followed)).toEqual([
        { projection: 'chat', partition: 0, lag: 2 },
        { projection: 'chat', partition: 1, lag: 0 },
        { projection: 'chat', partition: 2, lag: 0 },
      ]);
      await append(2, 4); // partition 2 has no stored row yet: all of it is lag
      await store.db.updateTable('projection_offsets').set({ next_offset: 5 }).where('partition', '=', 0).execute();
      expect(await projectionLag(log, store.db, followed)).toEqual([
        { projection: 'chat', partition: 0, lag: 0 },
        { projection: 'chat', partition: 1, lag: 0 },
        { projection: 'chat', partition: 2, lag: 4 },
      ]);
    });
  });
}
