// How a running server's read-your-writes behaves across the moment its reads
// move to a rebuilt version, on SQLite and MySQL/MariaDB. The versions'
// progress is written by hand (offset rows, in-process reports), so the
// interleaving that lost a write under load in CI is played exactly.

import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Position } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { chatModel } from './chat-schema.ts';
import { followProjectionVersions, type VersionedStore } from './live-versions.ts';
import { ensureOffsetRows, saveOffset } from './offsets.ts';
import { createProjectionProgress, type ProjectionProgress } from './progress.ts';
import { ensureVersionRow, versionedProjectionName } from './versions.ts';

const logger = pino({ level: 'silent' });
const v1 = versionedProjectionName('chat', 1);
const v2 = versionedProjectionName('chat', 2);
/** The write a request waits to read: offset 10 of partition 0. */
const write: Position = { topic: topics.events, partition: 0, offset: 10 };

for (const engine of await testEngines('live-versions')) {
  describe.runIf(engine.available)(`read-your-writes across a version switch on ${engine.name}`, () => {
    let store: Store;
    let follower: VersionedStore;
    let progress: ProjectionProgress;

    const storeOffset = (projection: string, next: number) =>
      store.db.transaction().execute((trx) => saveOffset(trx, projection, topics.events, 0, next));
    const activate = (version: number) =>
      store.db.updateTable('projection_versions').set({ active_version: version }).where('projection', '=', 'chat').execute();
    const settled = <T>(promise: Promise<T>) => Promise.race([promise, delay(150).then(() => 'still waiting' as const)]);

    beforeEach(async () => {
      store = await engine.open();
      await ensureVersionRow(store.db, 'chat');
      for (const projection of [v1, v2]) {
        await ensureOffsetRows(store.db, projection, topics.events, 1);
        // Both versions have applied everything before the write.
        await storeOffset(projection, write.offset);
      }
      // The poll is driven by hand (refresh) so the switch lands where the test puts it.
      follower = await followProjectionVersions(store, { logger, models: [chatModel], pollMs: 60_000 });
      progress = follower.followProgress(createProjectionProgress(store.db));
    });
    afterEach(async () => {
      await follower.close();
      await engine.dispose();
    });

    test('a request waiting on the old version when reads move waits on the new one too', async () => {
      expect(follower.activeVersion('chat')).toBe(1);
      const readable = progress.waitFor('chat', write, 10_000);

      // The rebuild swaps; the new version holds all the old one does: reads move.
      await activate(2);
      await follower.refresh();
      expect(follower.activeVersion('chat')).toBe(2);

      // The old version applies the write first: the reads' version still lacks it.
      progress.reached(v1, 0, write.offset + 1);
      expect(await settled(readable)).toBe('still waiting');

      progress.reached(v2, 0, write.offset + 1);
      expect(await readable).toBe(true);
    });

    test('a request whose new version never gets there gives up (read_model_lagging)', async () => {
      const readable = progress.waitFor('chat', write, 400);
      await activate(2);
      await follower.refresh();
      progress.reached(v1, 0, write.offset + 1);
      // The new version never gets there within the request's one deadline.
      expect(await readable).toBe(false);
    });

    test('a write the new version has stored (another process projected it) is readable at once', async () => {
      await storeOffset(v2, write.offset + 1);
      progress.reached(v1, 0, write.offset + 1);
      await activate(2);
      await follower.refresh();
      expect(await progress.waitFor('chat', write, 10_000)).toBe(true);
    });
  });
}
