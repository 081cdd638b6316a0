// The projection runner's poison handling, on SQLite and MariaDB, with real
// refusals of the database: a record whose row is refused is tried alone a
// few times, parked, and halts only its partition (the records before it are
// applied, those after it wait); other partitions flow; an undecodable record
// is parked at once, and so is one whose sealed value does not open with its
// key (altered in the log); `skip` and `retry` (dead-letters.ts) move a halted
// partition on; a failure that is not the data's is retried, never parked.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import { schemasDir } from '../compose.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Consumer } from '../log/port.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import type { AnyDatabase } from '../store/dialect.ts';
import { alteredSeal } from '../privacy/testing/altered-seal.ts';
import { testVault } from '../privacy/testing/test-vault.ts';
import type { Store } from '../store/store.ts';
import { eventually } from '../../test/support/chat.ts';
import { testEngines } from '../../test/support/engines.ts';
import { listDeadLetters, retryDeadLetter, skipDeadLetter, type DeadLetter } from './dead-letters.ts';
import { storedOffset } from './offsets.ts';
import { dataRefusal } from './poison.ts';
import type { PoisonCounter, Projection } from './runner.ts';
import { runTestProjector } from './testing/test-projector.ts';

const codec = createAvroCodec({ schemasDir });
const logger = pino({ level: 'silent' });

/** A projection of its own table: one row per room_created, keyed by the room id (a second one is refused). */
const probe = (failing: { transient: number }): Projection => ({
  name: 'probe',
  async apply(trx, event, record) {
    if (failing.transient > 0) {
      failing.transient--;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    }
    const { room_id } = event.data as { room_id: string };
    await (trx as unknown as AnyDatabase)
      .insertInto('poison_probe')
      .values({ id: room_id, partition: record.partition, offset: record.offset })
      .execute();
  },
});

const roomCreated = (id: string, partition: number) => ({
  key: `room:${id}`,
  partition,
  value: codec.encode('room_created', { room_id: id, type: 'group', name: id, created_by: 'u', created_at: 1 }),
  headers: { [headers.eventType]: 'room_created' },
});

const messageSent = (messageId: string, content: string, partition: number) => ({
  key: 'room:r',
  partition,
  value: codec.encode('message_sent', {
    room_id: '0190a1b2-c3d4-7e5f-8a9b-0000000000c1',
    message_id: messageId,
    seq: 1,
    sender_id: '0190a1b2-c3d4-7e5f-8a9b-0000000000a1',
    client_msg_id: messageId,
    content,
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
    mentions: [],
    created_at: 1,
  }),
  headers: { [headers.eventType]: 'message_sent' },
});

for (const engine of await testEngines('poison')) {
  describe.runIf(engine.available)(`poison events on ${engine.name}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-poison-'));
    let log: SqliteLog | undefined;
    let store: Store | undefined;
    let consumer: Consumer | undefined;
    afterAll(async () => {
      await consumer?.stop();
      await log?.close();
      await store?.close();
      await engine.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const ids = async () =>
      (await (store!.db as unknown as AnyDatabase).selectFrom('poison_probe').select('id').orderBy('id').execute()).map(
        (row: { id: string }) => row.id,
      );
    const letters = () => listDeadLetters(store!.db, { all: true });

    test('a refused record is parked after its tries and halts only its partition; skip moves it on', async () => {
      store = await engine.open();
      await (store.db as unknown as AnyDatabase).schema
        .createTable('poison_probe')
        .addColumn('id', 'varchar(20)', (c) => c.primaryKey())
        .addColumn('partition', 'integer', (c) => c.notNull())
        .addColumn('offset', 'bigint', (c) => c.notNull())
        .execute();
      log = openSqliteLog({
        path: path.join(dir, 'log.sqlite'),
        durability: 'normal',
        retryBackoffMaxMs: 200,
        // The halted partition's redeliveries (PartitionHaltedError) are expected here.
        onError: () => undefined,
      });
      await log.ensureTopics(topicSpecs({ partitions: 2, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
      const counter: PoisonCounter = { parked: 0 };
      const failing = { transient: 0 };
      consumer = await runTestProjector(probe(failing), {
        log,
        db: store.db,
        codec,
        logger,
        poison: { maxAttempts: 2, retryBackoffMs: 10 },
        poisonCounter: counter,
      });

      // One batch in partition 0 with the refused record in its middle.
      await log.append(topics.events, [
        roomCreated('a1', 0),
        roomCreated('a2', 0),
        roomCreated('a1', 0), // offset 2: a second row with the same key
        roomCreated('a3', 0),
      ]);
      await log.append(topics.events, [roomCreated('b1', 1), roomCreated('b2', 1)]);
      await eventually(
        async () => counter.parked === 1 && (await letters()).length === 1 && (await ids()).includes('b2'),
        'parked, and partition 1 applied',
      );
      const [letter] = await letters();
      expect(letter).toMatchObject({ projection: 'probe', partition: 0, offset: 2, event_type: 'room_created', attempts: 2 });
      expect(letter!.error_code).toMatch(/^(SQLITE_CONSTRAINT|ER_DUP_ENTRY)$/);
      expect(counter.parked).toBe(1);
      expect(await ids()).toEqual(['a1', 'a2', 'b1', 'b2']);
      expect(await storedOffset(store.db, 'probe', 0)).toBe(2);

      // Partition 1 keeps flowing; partition 0 waits at the parked record.
      await log.append(topics.events, [roomCreated('a4', 0), roomCreated('b3', 1)]);
      await eventually(async () => (await ids()).includes('b3'), 'partition 1 goes on');
      expect(await ids()).not.toContain('a4');

      await skipDeadLetter(store.db, letter!.id, Date.now());
      await eventually(async () => (await ids()).includes('a4'), 'partition 0 goes on after the skip');
      expect(await ids()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3']);
      expect(await storedOffset(store.db, 'probe', 0)).toBe(5);
      await expect(skipDeadLetter(store.db, letter!.id, Date.now())).rejects.toMatchObject({ code: 'dead_letter_not_parked' });

      // An undecodable record is parked at once; a retry that fails again parks it again.
      const [garbage] = await log.append(topics.events, [
        { key: 'room:x', partition: 1, value: Buffer.from([1, 2, 3]), headers: { [headers.eventType]: 'room_created' } },
      ]);
      await eventually(async () => (await listDeadLetters(store!.db)).length === 1, 'the undecodable record is parked');
      let [undecodable] = await listDeadLetters(store.db);
      expect(undecodable).toMatchObject({ partition: 1, offset: garbage!.offset, error_code: 'UNDECODABLE', attempts: 1 });
      await retryDeadLetter(store.db, undecodable!.id);
      await eventually(async () => {
        [undecodable] = await listDeadLetters(store!.db);
        return undecodable?.status === 'parked' && undecodable.attempts === 2;
      }, 'parked again after the retry');
      await skipDeadLetter(store.db, undecodable!.id, Date.now());

      // A failure that is not the data's (no database answer) is retried, never parked.
      failing.transient = 5;
      await log.append(topics.events, [roomCreated('b4', 1)]);
      await eventually(async () => (await ids()).includes('b4'), 'applied once the failure passed', 20_000);
      expect(failing.transient).toBe(0);
      expect((await letters()).map((l: DeadLetter) => l.status)).toEqual(['skipped', 'skipped']);
      expect(counter.parked).toBe(3);
    });

    test('a record whose sealed value does not open is parked at once as SEAL_BROKEN; its neighbours are applied', async () => {
      const db = store!.db as unknown as AnyDatabase;
      await db.schema
        .createTable('sealed_probe')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('content', 'varchar(200)', (c) => c.notNull())
        .execute();
      const vault = testVault(store!.db);
      const sealed: Projection = {
        name: 'sealed_probe',
        readsPersonalData: true,
        async apply(trx, event) {
          if (event.type !== 'message_sent') return;
          const { message_id, content } = event.data as { message_id: string; content: string };
          await (trx as unknown as AnyDatabase).insertInto('sealed_probe').values({ id: message_id, content }).execute();
        },
      };
      const counter: PoisonCounter = { parked: 0 };
      const projector = await runTestProjector(sealed, {
        log: log!,
        db: store!.db,
        codec,
        logger,
        vault,
        poisonCounter: counter,
      });
      try {
        const sent = async (text: string, altered = false) => {
          const { messageId, sealer } = await vault.newMessage();
          const content = altered ? alteredSeal(sealer.seal(text)) : sealer.seal(text);
          return { id: messageId, record: messageSent(messageId, content, 0) };
        };
        const before = await sent('before');
        const flipped = await sent('altered', true);
        const after = await sent('after');
        const [, broken] = await log!.append(topics.events, [before.record, flipped.record, after.record]);
        // This projection's dead letter for that record (partition 1 holds the undecodable one of the first test).
        const theLetter = async () =>
          (await letters()).find(
            (l: DeadLetter) =>
              l.projection === 'sealed_probe' && l.partition === broken!.partition && l.offset === broken!.offset,
          );
        await eventually(async () => (await theLetter()) !== undefined, 'the broken record is parked');
        const letter = await theLetter();
        expect(letter).toMatchObject({ partition: 0, event_type: 'message_sent', error_code: 'SEAL_BROKEN', attempts: 1 });
        const rows = async () => db.selectFrom('sealed_probe').select(['id', 'content']).orderBy('content').execute();
        expect(await rows()).toEqual([{ id: before.id, content: 'before' }]);

        // Skipped by the operator, the partition goes on with the record after it.
        await skipDeadLetter(store!.db, letter!.id, Date.now());
        await eventually(async () => (await rows()).length === 2, 'applied after the skip');
        expect(await rows()).toEqual([
          { id: after.id, content: 'after' },
          { id: before.id, content: 'before' },
        ]);
      } finally {
        await projector.stop();
        await vault.stop();
      }
    });

    test('the rule on real errors: a refused row is a refusal, a lost connection or a held lock is not', async () => {
      const db = store!.db as unknown as AnyDatabase;
      const duplicate = await db
        .insertInto('poison_probe')
        .values({ id: 'a1', partition: 0, offset: 0 })
        .execute()
        .catch((error: unknown) => error);
      expect(dataRefusal(duplicate)?.code).toMatch(/^(SQLITE_CONSTRAINT|ER_DUP_ENTRY)$/);
      let passing: unknown;
      if (engine.name === 'mysql') {
        // The server drops the connection (as a restart or a network cut does).
        passing = await db.connection().execute(async (connection) => {
          const { rows } = await sql<{ id: number }>`select connection_id() as id`.execute(connection);
          await sql`kill ${sql.lit(rows[0]!.id)}`.execute(db);
          return sql`select 1`.execute(connection).catch((error: unknown) => error);
        });
      } else {
        // Another process holds the write lock past the busy timeout.
        const file = path.join(dir, 'busy.sqlite');
        const holder = new DatabaseSync(file);
        holder.exec('create table t (x integer); begin immediate; insert into t values (1);');
        const writer = new DatabaseSync(file, { timeout: 0 });
        try {
          writer.exec('insert into t values (2)');
        } catch (error) {
          passing = error;
        } finally {
          holder.exec('rollback');
          holder.close();
          writer.close();
        }
      }
      expect(passing).toBeInstanceOf(Error);
      expect(dataRefusal(passing)).toBeNull();
    });
  });
}
