// Read-your-writes waits, on SQLite and MariaDB: a projector in another
// process is seen through the offsets table (here: rows written directly, as
// that process would), a local one through its reports; and the offsets
// table is read once per poll for every waiting partition together.

import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { topics } from '../log/topics.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { createProjectionProgress } from './progress.ts';

const partitions = 12;
const at = (partition: number, offset: number) => ({ topic: topics.events, partition, offset });

/** Counts the queries that go through it. */
class QueryCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.count++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

for (const engine of await testEngines('progress')) {
  describe.runIf(engine.available)(`projection progress on ${engine.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await engine.open();
      const rows = Array.from({ length: partitions }, (_, partition) => ({
        projection: 'chat',
        topic: topics.events,
        partition,
        next_offset: 0,
      }));
      await store.db.insertInto('projection_offsets').values(rows).execute();
    });
    afterEach(async () => {
      await store.db.destroy();
      await engine.dispose();
    });

    const projectedElsewhere = (partition: number, nextOffset: number) =>
      store.db
        .updateTable('projection_offsets')
        .set({ next_offset: nextOffset })
        .where('projection', '=', 'chat')
        .where('partition', '=', partition)
        .execute();

    test("sees another process's projector reach the position, and gives up after the timeout when it does not", async () => {
      const progress = createProjectionProgress(store.db);
      const reached = progress.waitFor('chat', at(3, 41), 10_000);
      const never = progress.waitFor('chat', at(4, 0), 300);
      await projectedElsewhere(3, 42);
      expect(await reached).toBe(true);
      expect(await never).toBe(false);
    });

    test('waiters on every partition cost one read of the offsets table per poll, not one per partition or per waiter', async () => {
      const counter = new QueryCounter();
      // A long poll interval: every row is written before the first poll.
      const progress = createProjectionProgress(store.db.withPlugin(counter), 200);
      const waits = Array.from({ length: partitions * 3 }, (_, i) => progress.waitFor('chat', at(i % partitions, 9), 10_000));
      for (let partition = 0; partition < partitions; partition++) await projectedElsewhere(partition, 10);
      expect(await Promise.all(waits)).toEqual(waits.map(() => true));
      expect(counter.count).toBe(1);
    });

    test('an aborted wait answers false at once, and nobody polls for it any longer', async () => {
      const counter = new QueryCounter();
      const progress = createProjectionProgress(store.db.withPlugin(counter), 10);
      const done = new AbortController();
      const waiting = progress.waitFor('chat', at(2, 99), 60_000, done.signal);
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(counter.count).toBeGreaterThan(0); // it was polling
      done.abort();
      expect(await waiting).toBe(false);
      const afterAbort = counter.count;
      await new Promise((resolve) => setTimeout(resolve, 100)); // ten poll intervals
      expect(counter.count).toBeLessThanOrEqual(afterAbort + 1); // at most the poll already under way
      expect(await progress.waitFor('chat', at(2, 0), 60_000, done.signal)).toBe(false); // aborted before: no wait
    });

    test('a partition this process projects resolves from its reports, without reading the table', async () => {
      const counter = new QueryCounter();
      const progress = createProjectionProgress(store.db.withPlugin(counter), 20);
      progress.reached('chat', 5, 1); // the local runner owns partition 5
      const waiting = progress.waitFor('chat', at(5, 7), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 150)); // several poll intervals
      progress.reached('chat', 5, 8);
      expect(await waiting).toBe(true);
      expect(counter.count).toBe(0);
    });

    test('a thousand waiters on one partition: each resolves once its own offset is reported, not before', async () => {
      const progress = createProjectionProgress(store.db, 20);
      progress.reached('chat', 3, 1);
      const settled: (boolean | undefined)[] = Array.from({ length: 1_000 }, () => undefined);
      const waits = settled.map((_, offset) =>
        progress.waitFor('chat', at(3, offset), 10_000).then((reached) => (settled[offset] = reached)),
      );
      progress.reached('chat', 3, 500); // offsets 0–499 applied
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(settled.filter((reached) => reached === true)).toHaveLength(500);
      expect(settled.slice(500).every((reached) => reached === undefined)).toBe(true);
      progress.reached('chat', 3, 1_000);
      await Promise.all(waits);
      expect(settled.every((reached) => reached === true)).toBe(true);
    });
  });
}
