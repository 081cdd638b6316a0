// The chat projection's batched path (applyBatch: deferred multi-row writes)
// must leave exactly the rows that applying each event in turn leaves. Both
// are run over generated logs (the real deciders: edits, deletions and
// reactions of messages sent in the same batch or earlier, members joining,
// reading, leaving and coming back …) with batch sizes that cut the log in
// different places, and the models compared row by row.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import type { EventCodec } from '../log/codec.ts';
import type { LogRecord } from '../log/port.ts';
import type { AnyEvent } from '../domain/aggregates.ts';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { openSqliteLog } from '../log/sqlite-log.ts';
import { topicSpecs } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { chatModel } from './chat-schema.ts';
import { chatProjection } from './chat-projection.ts';
import { modelChecksum } from './model-checksum.ts';
import { rebuild } from './rebuild.ts';
import { appendEvents, chatEvents } from './testing/chat-events.ts';
import type { VersionedModel } from './versions.ts';
import { testVault } from '../privacy/testing/test-vault.ts';

const logger = pino({ level: 'silent' });
const avro = createAvroCodec({ schemasDir });
const codec: EventCodec = avro;
const oneByOne: VersionedModel = {
  ...chatModel,
  projection: { name: 'chat', apply: (trx, event, record) => chatProjection.apply(trx, event, record) },
};

for (const engine of await testEngines('chat_projection')) {
  describe.runIf(engine.available)(`chat projection on ${engine.name}`, () => {
    let store: Store | undefined;
    afterAll(async () => {
      await store?.close();
      await engine.dispose();
    });

    test.each([
      { seed: 101, users: 12, rooms: 4 },
      { seed: 102, users: 40, rooms: 15 },
      { seed: 104, users: 6, rooms: 2 },
    ])('batched = one event at a time, batches of 7, 64 and 2,000 (seed $seed)', async ({ seed, users, rooms }) => {
      store ??= await engine.open();
      // Each seed in its own database namespace: drop what the previous one built.
      for (const version of [2, 3, 4, 5]) await chatModel.drop(store.db, version);
      await store.db.deleteFrom('projection_versions').execute();
      await store.db.deleteFrom('projection_offsets').execute();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-batch-'));
      const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), durability: 'normal' });
      try {
        await log.ensureTopics(topicSpecs({ partitions: 3, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
        await appendEvents(log, codec, chatEvents({ seed, users, rooms, events: 1_500, mix: 'churn' }));
        const run = (model: VersionedModel, batchSize: number) =>
          rebuild({
            log,
            db: store!.db,
            codec,
            vault: testVault(store!.db),
            logger,
            model,
            batchSize,
            handoverMs: 0,
            checkEveryMs: 10,
          });
        const reference = await run(oneByOne, 50);
        const expected = await modelChecksum(store.db, chatModel, reference.version);
        expect(expected.tables.messages!.rows).toBeGreaterThan(500);
        // Some invitations stay pending (the rest were accepted, declined or withdrawn).
        expect(expected.tables.room_invitations!.rows).toBeGreaterThan(0);
        // Some pins stay (others were unpinned, or went with their message).
        expect(expected.tables.room_pins!.rows).toBeGreaterThan(0);
        // Edits left earlier versions (deletions erased some).
        expect(expected.tables.message_versions!.rows).toBeGreaterThan(0);
        // Mentions stay where messages and edits named someone.
        expect(expected.tables.mentions!.rows).toBeGreaterThan(0);
        // Replies, mentions and asking followed threads; reads moved their marks.
        expect(expected.tables.thread_follows!.rows).toBeGreaterThan(0);
        // Webhooks stay (some were deleted), and every admin act on them is in the audit.
        expect(expected.tables.webhooks!.rows).toBeGreaterThan(0);
        for (const batchSize of [7, 64, 2_000]) {
          const batched = await run(chatModel, batchSize);
          expect(await modelChecksum(store.db, chatModel, batched.version), `batches of ${batchSize}`).toEqual(expected);
        }
      } finally {
        await log.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('invited, joined, left and invited again in one batch: the second invitation stands, as one by one', async () => {
      store ??= await engine.open();
      const room = '0190a1b2-c3d4-7e5f-8a9b-0000000a0001';
      const user = '0190a1b2-c3d4-7e5f-8a9b-0000000a0002';
      const owner = '0190a1b2-c3d4-7e5f-8a9b-0000000a0003';
      // Records at offsets of their own (each run adds sync_changes rows).
      const recordAt = (offset: number): LogRecord => ({
        topic: 'events',
        partition: 0,
        offset,
        key: room,
        value: Buffer.alloc(0),
        headers: {},
        timestamp: offset,
      });
      const events = [
        {
          type: 'user_invited_to_room',
          data: { room_id: room, user_id: user, role: 'member', invited_by: owner, invited_at: 1 },
        },
        { type: 'user_joined_room', data: { room_id: room, user_id: user, role: 'member', added_by: owner, joined_at: 2 } },
        { type: 'user_left_room', data: { room_id: room, user_id: user, removed_by: user, left_at: 3 } },
        { type: 'user_invited_to_room', data: { room_id: room, user_id: user, role: 'admin', invited_by: owner, invited_at: 4 } },
      ] as AnyEvent[];
      const rowsAfter = async (write: (trx: Transaction<Database>) => Promise<void>) => {
        await store!.db.deleteFrom('room_invitations').where('room_id', '=', room).execute();
        await store!.db.deleteFrom('room_members').where('room_id', '=', room).execute();
        await store!.db.transaction().execute(write);
        return {
          invitations: await store!.db
            .selectFrom('room_invitations')
            .select(['user_id', 'role', 'invited_at'])
            .where('room_id', '=', room)
            .execute(),
          members: await store!.db.selectFrom('room_members').select('user_id').where('room_id', '=', room).execute(),
        };
      };
      const oneAtATime = await rowsAfter(async (trx) => {
        for (const [i, event] of events.entries()) await chatProjection.apply(trx, event, recordAt(1_000_000 + i));
      });
      expect(oneAtATime).toEqual({ invitations: [{ user_id: user, role: 'admin', invited_at: 4 }], members: [] });
      const batched = await rowsAfter((trx) =>
        chatProjection.applyBatch!(
          trx,
          events.map((event, i) => ({ event, record: recordAt(2_000_000 + i) })),
        ),
      );
      expect(batched).toEqual(oneAtATime);
    });

    test('accounts read back erased (a replay after deletions) get distinct placeholder emails, on both paths', async () => {
      store ??= await engine.open();
      const erasedUser = (id: string) => ({
        event: {
          type: 'user_registered',
          data: { user_id: id, username: `u${id.slice(-6)}`, email: '', display_name: '', created_at: 1 },
        },
        record: {} as LogRecord,
      });
      const ids = [
        '0190a1b2-c3d4-7e5f-8a9b-00000000e001',
        '0190a1b2-c3d4-7e5f-8a9b-00000000e002',
        '0190a1b2-c3d4-7e5f-8a9b-00000000e003',
      ];
      await store.db.transaction().execute(async (trx) => {
        await chatProjection.applyBatch!(trx, [erasedUser(ids[0]!), erasedUser(ids[1]!)]);
        await chatProjection.apply(trx, erasedUser(ids[2]!).event, erasedUser(ids[2]!).record);
      });
      const rows = await store.db.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).orderBy('id').execute();
      expect(rows).toEqual(ids.map((id) => ({ id, email: `~${id}` })));
    });
  });
}
