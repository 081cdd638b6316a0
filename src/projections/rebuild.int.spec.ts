// `parley rebuild` end to end below the CLI, on SQLite and MySQL/MariaDB: a
// generated events log (the real deciders: users, rooms, members, message
// bursts, reads, reactions, edits, deletions, friends, blocks) is projected
// live, then rebuilt into fresh tables while queries keep answering.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EventCodec } from '../log/codec.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Consumer, Position } from '../log/port.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { readHistory } from '../queries/messages-queries.ts';
import { listMyRooms } from '../queries/rooms-queries.ts';
import { fullTextQuery, searchMessageIds, updateRows } from '../store/dialect.ts';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { chatModel } from './chat-schema.ts';
import { chatProjection } from './chat-projection.ts';
import { followProjectionVersions } from './live-versions.ts';
import { modelChecksum } from './model-checksum.ts';
import { createProjectionProgress } from './progress.ts';
import { rebuild, type RebuildOptions } from './rebuild.ts';
import type { Projection } from './runner.ts';
import { runTestProjector } from './testing/test-projector.ts';
import { appendEvents, chatEvents } from './testing/chat-events.ts';
import {
  existingVersions,
  readVersionState,
  versionedName,
  versionedProjectionName,
  VersionedTablesPlugin,
  type VersionedModel,
} from './versions.ts';
import { testVault } from '../privacy/testing/test-vault.ts';

const logger = pino({ level: 'silent' });
const avro = createAvroCodec({ schemasDir });
const codec: EventCodec = avro;
const partitions = 4;

function tempLog(prefix: string): { log: SqliteLog; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-${prefix}-`));
  return { log: openSqliteLog({ path: path.join(dir, 'log.sqlite'), durability: 'normal' }), dir };
}

async function eventsIn(log: SqliteLog): Promise<number> {
  let total = 0;
  for (let p = 0; p < partitions; p++) total += await log.endOffset(topics.events, p);
  return total;
}

/** Until `projection` has applied `total` events over all partitions. */
async function caughtUp(db: Kysely<Database>, projection: string, total: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await db
      .selectFrom('projection_offsets')
      .select((eb) => eb.fn.sum<number>('next_offset').as('done'))
      .where('projection', '=', projection)
      .executeTakeFirst();
    if ((row?.done ?? 0) >= total) return;
    if (Date.now() > deadline) throw new Error(`${projection} did not reach ${total} (at ${String(row?.done)})`);
    await delay(20);
  }
}

/** The same projection without its batched path: one event, one set of statements. */
const oneByOne: VersionedModel = {
  ...chatModel,
  projection: { name: 'chat', apply: (trx, event, record) => chatProjection.apply(trx, event, record) },
};

for (const engine of await testEngines('rebuild')) {
  describe.runIf(engine.available)(`rebuild on ${engine.name}`, () => {
    let store: Store | undefined;
    let log: SqliteLog | undefined;
    let dir: string;
    let live: Consumer | undefined;
    let total: number;
    let liveChecksum: string;
    const base = (): Omit<RebuildOptions, 'model'> => ({
      log: log!,
      db: store!.db,
      codec,
      vault: testVault(store!.db),
      logger,
      handoverMs: 0,
      checkEveryMs: 20,
    });

    beforeAll(async () => {
      store = await engine.open();
      ({ log, dir } = tempLog('rebuild'));
      await log.ensureTopics(topicSpecs({ partitions, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
      await appendEvents(log, codec, chatEvents({ seed: 11, users: 60, rooms: 25, events: 4_000 }));
      total = await eventsIn(log);
      // The live model, projected as a server does (small batches).
      live = await runTestProjector(chatProjection, { log, db: store.db, codec, logger });
      await caughtUp(store.db, 'chat', total);
      liveChecksum = (await modelChecksum(store.db, chatModel, 1)).total;
    });

    afterAll(async () => {
      await live?.stop();
      await log?.close();
      await store?.close();
      await engine.dispose();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('the rebuilt model equals the live one, row for row — batched or one event at a time', async () => {
      const live = await modelChecksum(store!.db, chatModel, 1);
      expect(live.tables.messages!.rows).toBeGreaterThan(2_000);
      expect(live.tables.room_members!.rows).toBeGreaterThan(100);
      expect(live.tables.friendships!.rows).toBeGreaterThan(0);

      const batched = await rebuild({ ...base(), model: chatModel, batchSize: 1_000 });
      expect(batched).toMatchObject({ version: 2, previous: 1, swapped: true, resumed: false, events: total, total });
      expect(await modelChecksum(store!.db, chatModel, 2)).toEqual(live);

      const single = await rebuild({ ...base(), model: oneByOne, batchSize: 300 });
      expect(single).toMatchObject({ version: 3, previous: 2, swapped: true });
      expect(await modelChecksum(store!.db, chatModel, 3)).toEqual(live);
      expect(await readVersionState(store!.db, 'chat')).toEqual({ active: 3, building: null });
    });

    test('queries keep answering, with the same answers, during the rebuild and after the swap', async () => {
      const follower = await followProjectionVersions(
        { db: store!.db, close: () => Promise.resolve() },
        { logger, models: [chatModel], pollMs: 25 },
      );
      try {
        const before = follower.activeVersion('chat');
        const member = await follower.db
          .selectFrom('room_members')
          .select(['room_id', 'user_id'])
          .orderBy('room_id')
          .executeTakeFirstOrThrow();
        const ask = async () => {
          const text = fullTextQuery(follower.db, 'hello');
          return {
            history: await readHistory(follower.db, member.room_id, { limit: 50 }),
            rooms: await listMyRooms(follower.db, member.user_id),
            search: await searchMessageIds(follower.db, text!, [member.room_id], 20),
          };
        };
        const expected = await ask();
        expect(expected.history.length).toBeGreaterThan(0);
        expect(expected.search.length).toBeGreaterThan(0);

        let answered = 0;
        const wrong: unknown[] = [];
        // Cleared below, while `asking` runs; `as boolean` keeps TypeScript
        // from narrowing it to `true` inside the loop.
        let rebuilding = true as boolean;
        const asking = (async () => {
          while (rebuilding) {
            try {
              const got = await ask();
              if (JSON.stringify(got) !== JSON.stringify(expected)) wrong.push(got);
              answered++;
            } catch (error) {
              wrong.push(error);
            }
            await delay(1);
          }
        })();
        const result = await rebuild({ ...base(), model: chatModel, batchSize: 200 });
        await follower.refresh();
        await delay(50);
        rebuilding = false;
        await asking;

        expect(result.version).toBe(before + 1);
        expect(follower.activeVersion('chat')).toBe(result.version);
        expect(follower.db.selectFrom('messages').selectAll().compile().sql).toContain(versionedName('messages', result.version));
        expect(wrong).toEqual([]);
        expect(answered).toBeGreaterThan(3);
        expect(await ask()).toEqual(expected);
      } finally {
        await follower.close();
      }
    });

    test('an interrupted rebuild resumes where it stopped and ends with the same model', async () => {
      const { active } = await readVersionState(store!.db, 'chat');
      const abort = new AbortController();
      const first = await rebuild({
        ...base(),
        model: chatModel,
        batchSize: 100,
        signal: abort.signal,
        onProgress: (done, all) => {
          if (done > all / 3) abort.abort();
        },
      });
      expect(first).toMatchObject({ swapped: false, previous: active, version: active + 1 });
      expect(first.events).toBeGreaterThan(0);
      expect(first.events).toBeLessThan(total);
      expect(await readVersionState(store!.db, 'chat')).toEqual({ active, building: active + 1 });

      const second = await rebuild({ ...base(), model: chatModel, batchSize: 700 });
      expect(second).toMatchObject({ swapped: true, resumed: true, version: active + 1 });
      // Nothing applied twice, nothing skipped.
      expect(first.events + second.events).toBe(total);
      expect((await modelChecksum(store!.db, chatModel, active + 1)).total).toBe(liveChecksum);
    });

    test('a running projector follows the swap: later events land in the new version and read-your-writes waits on it', async () => {
      const follower = await followProjectionVersions(
        { db: store!.db, close: () => Promise.resolve() },
        { logger, models: [chatModel], pollMs: 25, handoverMs: 100 },
      );
      const progress = follower.followProgress(createProjectionProgress(store!.db));
      const projector = await follower.runProjection(chatProjection, {
        log: log!,
        db: follower.db,
        codec,
        vault: testVault(follower.db),
        logger,
        progress,
        maxBatchSize: 100,
      });
      try {
        const result = await rebuild({ ...base(), model: chatModel, batchSize: 1_000 });
        await follower.refresh();
        // New events after the swap: the follower's projector writes them into the new version.
        const last: Position | null = await appendEvents(log!, codec, chatEvents({ seed: 12, users: 10, rooms: 5, events: 300 }));
        total = await eventsIn(log!);
        expect(await progress.waitFor('chat', last!, 20_000)).toBe(true);
        await caughtUp(store!.db, `chat@v${result.version}`, total);
        await caughtUp(store!.db, 'chat', total);
        liveChecksum = (await modelChecksum(store!.db, chatModel, 1)).total;
        expect((await modelChecksum(store!.db, chatModel, result.version)).total).toBe(liveChecksum);
      } finally {
        await projector.stop();
        await follower.close();
      }
    });

    test('reads stay on the old version until the new one has applied as much as it', async () => {
      // Reads only: the follower runs no projector; each version's is run here by hand.
      const follower = await followProjectionVersions(
        { db: store!.db, close: () => Promise.resolve() },
        { logger, models: [chatModel], pollMs: 60_000 },
      );
      const project = (version: number) =>
        runTestProjector(
          { ...chatProjection, name: versionedProjectionName('chat', version) },
          { log: log!, db: store!.db.withPlugin(VersionedTablesPlugin.at(chatModel, version)), codec, logger },
        );
      const messagesIn = async (db: Kysely<Database>, table: string) =>
        Number(
          (
            await db
              .selectFrom(table as 'messages')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const old = follower.activeVersion('chat');
      // Version 1 is the `live` projector's; earlier tests made a newer one active.
      expect(old).toBeGreaterThan(1);
      const projectors = [await project(old)];
      try {
        // handoverMs 0: the rebuild's own projector stops right after the swap.
        const result = await rebuild({ ...base(), model: chatModel, batchSize: 1_000 });
        await appendEvents(log!, codec, chatEvents({ seed: 13, users: 10, rooms: 5, events: 300 }));
        total = await eventsIn(log!);
        await caughtUp(store!.db, versionedProjectionName('chat', old), total);

        // The new version is active but behind: queries keep reading the old one, which has it all.
        await follower.refresh();
        expect(follower.activeVersion('chat')).toBe(old);
        const all = await messagesIn(store!.db, versionedName('messages', old));
        expect(await messagesIn(follower.db, 'messages')).toBe(all);
        expect(await messagesIn(store!.db, versionedName('messages', result.version))).toBeLessThan(all);

        // Once its projector has caught up, reads move.
        projectors.push(await project(result.version));
        await caughtUp(store!.db, versionedProjectionName('chat', result.version), total);
        await follower.refresh();
        expect(follower.activeVersion('chat')).toBe(result.version);
        expect(await messagesIn(follower.db, 'messages')).toBe(all);
        await caughtUp(store!.db, 'chat', total);
        liveChecksum = (await modelChecksum(store!.db, chatModel, 1)).total;
      } finally {
        for (const projector of projectors) await projector.stop();
        await follower.close();
      }
    });

    test('rebuilding again is harmless; --drop-old keeps only the active version', async () => {
      await live!.stop(); // version 1 is about to go
      live = undefined;
      const again = await rebuild({ ...base(), model: chatModel });
      expect((await modelChecksum(store!.db, chatModel, again.version)).total).toBe(liveChecksum);
      const last = await rebuild({ ...base(), model: chatModel, dropOld: true, dropGraceMs: 0 });
      expect(last.version).toBe(again.version + 1);
      expect(last.dropped).toEqual(Array.from({ length: last.version - 1 }, (_, i) => i + 1));
      expect(await existingVersions(store!.db, chatModel)).toEqual([last.version]);
      expect((await modelChecksum(store!.db, chatModel, last.version)).total).toBe(liveChecksum);
      const offsets = await store!.db.selectFrom('projection_offsets').select('projection').distinct().execute();
      expect(offsets.map((row) => row.projection)).toEqual([`chat@v${last.version}`]);
    });
  });

  describe.runIf(engine.available)(`schema change then rebuild on ${engine.name}`, () => {
    let store: Store | undefined;
    let log: SqliteLog | undefined;
    let dir: string;
    let schemas: string;
    afterAll(async () => {
      await log?.close();
      await store?.close();
      await engine.dispose();
      for (const d of [dir, schemas]) if (d) fs.rmSync(d, { recursive: true, force: true });
    });

    test('old events read with the new field’s default, new ones with their value, nothing lost', async () => {
      store = await engine.open();
      ({ log, dir } = tempLog('schema-change'));
      await log.ensureTopics(topicSpecs({ partitions, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));

      // Events written before the change…
      await appendEvents(log, codec, chatEvents({ seed: 21, users: 30, rooms: 10, events: 1_500 }));

      // …then message_sent v3 adds `language` (default "und") and new events carry it.
      schemas = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-schemas-'));
      fs.cpSync(schemasDir, schemas, { recursive: true });
      const v2 = JSON.parse(fs.readFileSync(path.join(schemas, 'message_sent', 'v2.avsc'), 'utf8')) as { fields: object[] };
      v2.fields.push({ name: 'language', type: 'string', default: 'und', doc: 'BCP 47 tag of the content.' });
      fs.writeFileSync(path.join(schemas, 'message_sent', 'v3.avsc'), JSON.stringify(v2, null, 2));
      const avro3 = createAvroCodec({ schemasDir: schemas });
      const codec3: EventCodec = avro3;
      const withLanguage = [...chatEvents({ seed: 22, users: 30, rooms: 10, events: 1_500 })].map((generated) =>
        generated.event.type === 'message_sent'
          ? { ...generated, event: { ...generated.event, data: { ...generated.event.data, language: 'fr' } } }
          : generated,
      );
      await appendEvents(log, codec3, withLanguage);
      const total = await eventsIn(log);

      // The live model (the projection unchanged, the new schema deployed).
      const live = await runTestProjector(chatProjection, { log, db: store.db, codec: codec3, logger, maxBatchSize: 200 });
      await caughtUp(store.db, 'chat', total);
      await live.stop();

      // The projection changed to use the field: a new column, written for every message.
      const languageProjection: Projection = {
        name: 'chat',
        apply: async (trx, event, record) => {
          await chatProjection.apply(trx, event, record);
          if (event.type !== 'message_sent') return;
          const d = event.data as { message_id: string; language: string };
          await updateRows(trx, 'messages', ['id'], ['language'], [{ id: d.message_id, language: d.language }]);
        },
        applyBatch: async (trx, events) => {
          await chatProjection.applyBatch!(trx, events);
          const sent = events.filter(({ event }) => event.type === 'message_sent');
          const rows = sent.map(({ event }) => event.data as { message_id: string; language: string });
          await updateRows(
            trx,
            'messages',
            ['id'],
            ['language'],
            rows.map((d) => ({ id: d.message_id, language: d.language })),
          );
        },
      };
      const languageModel: VersionedModel = {
        ...chatModel,
        projection: languageProjection,
        create: async (db, version) => {
          await chatModel.create(db, version);
          await db.schema
            .alterTable(versionedName('messages', version))
            .addColumn('language', 'varchar(35)', (c) => c.notNull().defaultTo('und'))
            .execute();
        },
      };

      const result = await rebuild({
        log,
        db: store.db,
        codec: codec3,
        vault: testVault(store.db),
        logger,
        model: languageModel,
        handoverMs: 0,
      });
      expect(result).toMatchObject({ version: 2, swapped: true, events: total });

      // Nothing lost: every row of every table as the live model has it, the new column aside…
      const before = await modelChecksum(store.db, chatModel, 1);
      const after = await modelChecksum(store.db, chatModel, 2, { omitColumns: ['language'] });
      expect(after).toEqual(before);
      // …and the new column: the default for old events, the value for new ones.
      const { rows: languages } = await sql<{ id: string; language: string }>`
        select id, language from ${sql.table(versionedName('messages', 2))}`.execute(store.db);
      const byPrefix = (prefix: string) => new Set(languages.filter((m) => m.id.startsWith(prefix)).map((m) => m.language));
      expect(byPrefix((21).toString(16).padStart(8, '0'))).toEqual(new Set(['und']));
      expect(byPrefix((22).toString(16).padStart(8, '0'))).toEqual(new Set(['fr']));
      expect(languages.length).toBe(before.tables.messages!.rows);
    });
  });
}
