// The projection runner's exactly-once promise, on SQLite and MariaDB: the
// same records delivered again (a redelivered batch, or a rebalance straggler
// that never learned the stored offset) leave the same rows; events of a
// fenced writer are never applied.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import type { EventCodec } from '../log/codec.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Consumer, Log } from '../log/port.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { chatModel } from './chat-schema.ts';
import { chatProjection } from './chat-projection.ts';
import { modelChecksum } from './model-checksum.ts';
import { createProjectionProgress } from './progress.ts';
import { saveOffset, storedOffset } from './offsets.ts';
import { inTransaction } from '../store/transaction.ts';
import { runProjection } from './runner.ts';
import { appendEvents, chatEvents } from './testing/chat-events.ts';
import { testVault } from '../privacy/testing/test-vault.ts';

const logger = pino({ level: 'silent' });
const avro = createAvroCodec({ schemasDir });
const codec: EventCodec = avro;
const partitions = 3;

/** A consumer that never learned the stored offsets: it starts every partition at 0. */
const forgetful = (log: Log): Log => ({
  ...log,
  consume: (options) => log.consume({ ...options, group: `${options.group}-straggler`, startAt: () => Promise.resolve(0) }),
});

async function runToEnd(log: Log, store: Store, readDelayMs?: number): Promise<void> {
  const progress = createProjectionProgress(store.db);
  const consumer: Consumer = await runProjection(chatProjection, {
    log,
    db: store.db,
    codec,
    vault: testVault(store.db),
    logger,
    progress,
    maxBatchSize: 97,
    ...(readDelayMs === undefined ? {} : { readDelayMs }),
  });
  try {
    for (let partition = 0; partition < partitions; partition++) {
      const end = await log.endOffset(topics.events, partition);
      if (end === 0) continue;
      const reached = await progress.waitFor('chat', { topic: topics.events, partition, offset: end - 1 }, 30_000);
      expect(reached, `partition ${partition} projected to its end`).toBe(true);
    }
  } finally {
    await consumer.stop();
  }
}

for (const engine of await testEngines('runner')) {
  describe.runIf(engine.available)(`projection runner on ${engine.name}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-runner-'));
    let log: SqliteLog | undefined;
    let store: Store | undefined;
    afterAll(async () => {
      await log?.close();
      await store?.close();
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test('the same records delivered again leave the same rows and offsets', async () => {
      store = await engine.open();
      log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), durability: 'normal' });
      await log.ensureTopics(topicSpecs({ partitions, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
      await appendEvents(log, codec, chatEvents({ seed: 7, users: 10, rooms: 4, events: 800, mix: 'churn' }));

      await runToEnd(log, store);
      const once = await modelChecksum(store.db, chatModel, 1);
      const offsets = await Promise.all(Array.from({ length: partitions }, (_, p) => storedOffset(store!.db, 'chat', p)));
      expect(once.tables.messages!.rows).toBeGreaterThan(100);

      // Every record again, from offset 0, through a consumer that does not know the offsets.
      await runToEnd(forgetful(log), store);
      expect(await modelChecksum(store.db, chatModel, 1)).toEqual(once);
      expect(await Promise.all(Array.from({ length: partitions }, (_, p) => storedOffset(store!.db, 'chat', p)))).toEqual(
        offsets,
      );
    });

    test('a projection told to read late (readDelayMs) asks the log for it and still projects every event', async () => {
      const asked: (number | undefined)[] = [];
      const recording: Log = {
        ...log!,
        consume: (options) => {
          asked.push(options.maxDelayMs);
          return log!.consume(options);
        },
      };
      const before = (await modelChecksum(store!.db, chatModel, 1)).tables.messages!.rows;
      await appendEvents(log!, codec, chatEvents({ seed: 8, users: 6, rooms: 3, events: 300, mix: 'churn' }));
      await runToEnd(recording, store!, 150);
      expect(asked).toEqual([150]);
      expect((await modelChecksum(store!.db, chatModel, 1)).tables.messages!.rows).toBeGreaterThan(before);
    });

    test('an event a fenced writer appended (landed off its expected offset) is never applied', async () => {
      const before = await modelChecksum(store!.db, chatModel, 1);
      const key = 'room:01900000-0000-7000-8000-0000000000ff';
      const partition = log!.partitionForKey(topics.events, key);
      const end = await log!.endOffset(topics.events, partition);
      await log!.append(topics.events, [
        {
          key,
          partition,
          value: codec.encode('room_created', {
            room_id: '01900000-0000-7000-8000-0000000000ff',
            type: 'group',
            name: 'zombie',
            created_by: 'z',
            created_at: 1,
          }),
          // The writer believed the partition ended earlier than it did.
          headers: { [headers.eventType]: 'room_created', [headers.expectedOffset]: String(end - 1) },
        },
      ]);
      await runToEnd(log!, store!);
      expect(await modelChecksum(store!.db, chatModel, 1)).toEqual(before);
      expect(await storedOffset(store!.db, 'chat', partition)).toBe(end + 1);
    });

    test('an offset someone else moved meanwhile wins over the one the runner remembers', async () => {
      const progress = createProjectionProgress(store!.db);
      const consumer = await runProjection(chatProjection, {
        log: log!,
        db: store!.db,
        codec,
        vault: testVault(store!.db),
        logger,
        progress,
        maxBatchSize: 97,
      });
      try {
        const partition = 1;
        const roomCreated = (i: number, name: string) => {
          const roomId = `01900000-0000-7000-8000-0000000001${String(i).padStart(2, '0')}`;
          return {
            key: `room:${roomId}`,
            partition,
            value: codec.encode('room_created', { room_id: roomId, type: 'group', name, created_by: 'z', created_at: 1 }),
            headers: { [headers.eventType]: 'room_created' },
          };
        };
        // The runner applies a batch, and remembers where it left the partition.
        await log!.append(topics.events, [roomCreated(0, 'applied-0')]);
        const end = await log!.endOffset(topics.events, partition);
        expect(await progress.waitFor('chat', { topic: topics.events, partition, offset: end - 1 }, 30_000)).toBe(true);
        // An operator moves the partition past the next two records (as `parley dlq skip` does).
        await inTransaction(store!.db, (trx) => saveOffset(trx, 'chat', topics.events, partition, end + 2));
        const names = ['skipped-1', 'skipped-2', 'applied-3'];
        await log!.append(
          topics.events,
          names.map((name, i) => roomCreated(i + 1, name)),
        );
        expect(await progress.waitFor('chat', { topic: topics.events, partition, offset: end + 2 }, 30_000)).toBe(true);
        const rooms = await store!.db
          .selectFrom('rooms')
          .select('name')
          .where('name', 'in', ['applied-0', ...names])
          .orderBy('name')
          .execute();
        expect(rooms.map((room) => room.name)).toEqual(['applied-0', 'applied-3']);
        expect(await storedOffset(store!.db, 'chat', partition)).toBe(end + 3);
      } finally {
        await consumer.stop();
      }
    });
  });
}
