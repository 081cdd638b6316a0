import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { testEngines, type EngineOptions } from '../../test/support/engines.ts';
import { inTransaction } from './transaction.ts';
import type { Engine, Store } from './store.ts';

const row = { projection: 'tx-spec', topic: 'parley.events', partition: 0 };

// MySQL runs twice: a store whose connections each carry the idle-transaction
// limit from the start (servers: MariaDB's idle_transaction_timeout), and one
// where every transaction lowers wait_timeout around itself (operator
// commands, and MySQL, which has no such variable).
const STALLED_AFTER_S = 1;
const setups = (engine: Engine): { label: string; options: EngineOptions }[] =>
  engine === 'mysql'
    ? [
        { label: 'the limit set per connection', options: { stalledTransactionS: STALLED_AFTER_S } },
        { label: 'the limit set per transaction', options: {} },
      ]
    : [{ label: 'sqlite', options: {} }];

for (const engine of await testEngines('transaction'))
  for (const setup of setups(engine.name))
    describe.runIf(engine.available)(`inTransaction on ${engine.name} (${setup.label})`, () => {
      let store: Store;
      beforeEach(async () => {
        store = await engine.open(setup.options);
        await store.db
          .insertInto('projection_offsets')
          .values({ ...row, next_offset: 0 })
          .execute();
      });
      afterEach(async () => {
        await store.db.destroy();
        await engine.dispose();
      });

      const offset = async (db: Store['db'] = store.db) =>
        (
          await db
            .selectFrom('projection_offsets')
            .select('next_offset')
            .where('projection', '=', row.projection)
            .executeTakeFirstOrThrow()
        ).next_offset;
      const lockRow = (db: Store['db']) =>
        db.selectFrom('projection_offsets').select('next_offset').where('projection', '=', row.projection).forUpdate().execute();
      const setOffset = (db: Store['db'], value: number) =>
        db.updateTable('projection_offsets').set({ next_offset: value }).where('projection', '=', row.projection).execute();

      test('commits what the work wrote and returns its result', async () => {
        const result = await inTransaction(store.db, async (trx) => {
          await setOffset(trx, 7);
          return 'done';
        });
        expect(result).toBe('done');
        expect(await offset()).toBe(7);
      });

      test('rolls everything back when the work throws, and rethrows its error', async () => {
        const failing = inTransaction(store.db, async (trx) => {
          await setOffset(trx, 7);
          throw new Error('half way');
        });
        await expect(failing).rejects.toThrow('half way');
        expect(await offset()).toBe(0);
      });

      // `parley rebuild` beside a server: two processes write one SQLite file.
      // A transaction begun deferred that read first failed its first write
      // with "database is locked" when the other process committed between.
      if (engine.name === 'sqlite')
        test('a transaction that reads before it writes holds the write lock from its start: another process waits, nothing fails', async () => {
          const { rows } = await sql<{ file: string }>`pragma database_list`.execute(store.db);
          const otherProcess = new DatabaseSync(rows[0]!.file, { timeout: 0 });
          const bump = () =>
            otherProcess.exec(`update projection_offsets set next_offset = next_offset + 1 where projection = 'tx-spec'`);
          try {
            await inTransaction(store.db, async (trx) => {
              expect(await offset(trx)).toBe(0);
              expect(bump).toThrow(/locked/);
              await setOffset(trx, 7);
            });
            bump();
          } finally {
            otherProcess.close();
          }
          expect(await offset()).toBe(8);
        });

      if (engine.name !== 'mysql') return;

      test('a holder that stalls mid-transaction is dropped: its locks go to the next writer, its writes roll back', async () => {
        let locked!: () => void;
        const holderLocked = new Promise<void>((resolve) => (locked = resolve));
        const stalledAfterS = STALLED_AFTER_S;
        const holder = inTransaction(
          store.db,
          async (trx) => {
            await lockRow(trx);
            await setOffset(trx, 99);
            locked();
            // Silent towards the server, like a frozen process, for well past the limit.
            await sleep(stalledAfterS * 4_000);
          },
          { stalledAfterS },
        );
        const holderOutcome = holder.then(
          () => 'committed',
          () => 'dropped',
        );
        await holderLocked;

        // Without the limit this would wait for innodb_lock_wait_timeout (50 s)
        // and fail; the holder is dropped first, so it gets the row.
        await inTransaction(store.db, async (trx) => {
          await lockRow(trx);
          await setOffset(trx, 5);
        });

        expect(await holderOutcome).toBe('dropped');
        expect(await offset()).toBe(5);
      }, 30_000);

      test("the connection goes back to the pool with the server's own wait_timeout", async () => {
        const timeouts = await store.db.connection().execute(async (connection) => {
          await inTransaction(connection, (trx) => setOffset(trx, 1), { stalledAfterS: 3 });
          const after = await sql<{ session: number; global: number }>`
          select @@session.wait_timeout as session, @@global.wait_timeout as global`.execute(connection);
          return after.rows[0]!;
        });
        expect(timeouts.session).toBe(timeouts.global);
        expect(timeouts.global).not.toBe(3);
      });

      // Behaviour, not variables: a second read inside the transaction sees a
      // row committed meanwhile under READ COMMITTED, its first snapshot under
      // REPEATABLE READ — whatever the connection's own default.
      const readTwice = (isolation: 'read committed' | 'repeatable read') =>
        inTransaction(
          store.db,
          async (trx) => {
            const before = await offset(trx);
            await setOffset(store.db, 5);
            return [before, await offset(trx)];
          },
          { isolation },
        );

      test('a transaction at READ COMMITTED sees what another committed meanwhile', async () => {
        expect(await readTwice('read committed')).toEqual([0, 5]);
      });

      test('a transaction at REPEATABLE READ keeps its first snapshot', async () => {
        expect(await readTwice('repeatable read')).toEqual([0, 0]);
      });

      if (setup.options.stalledTransactionS === undefined) return;

      test('with the defaults on every connection, a READ COMMITTED transaction sends no SET at all', async () => {
        // The session's count of SET statements, per connection, seen from inside transactions.
        const seen = new Map<number, number[]>();
        for (let i = 0; i < 6; i++) {
          const { id, sets } = await inTransaction(
            store.db,
            async (trx) => {
              const status = await sql<{ Value: string }>`show session status like 'Com_set_option'`.execute(trx);
              const connection = await sql<{ id: number }>`select connection_id() as id`.execute(trx);
              return { id: connection.rows[0]!.id, sets: Number(status.rows[0]!.Value) };
            },
            { isolation: 'read committed', stalledAfterS: STALLED_AFTER_S },
          );
          seen.set(id, [...(seen.get(id) ?? []), sets]);
        }
        // Each connection's count stays where its opening left it.
        for (const counts of seen.values()) expect(new Set(counts).size).toBe(1);
        expect([...seen.values()].flat()).toHaveLength(6);
      });

      test('with the limit on every connection, a transaction sets nothing: wait_timeout stays the server’s inside it', async () => {
        await offset(); // a first connection has been opened and told
        const inside = await inTransaction(
          store.db,
          async (trx) =>
            (
              await sql<{ wait: number; global: number; idle: number }>`
              select @@session.wait_timeout as wait, @@global.wait_timeout as global,
                     @@session.idle_transaction_timeout as idle`.execute(trx)
            ).rows[0]!,
          { stalledAfterS: STALLED_AFTER_S },
        );
        expect(inside.wait).toBe(inside.global);
        expect(inside.idle).toBe(STALLED_AFTER_S);
      });

      test('an idle pooled connection outlives the limit: only a transaction that goes silent is dropped', async () => {
        const answers = await store.db.connection().execute(async (connection) => {
          await sql`select 1`.execute(connection);
          await sleep(STALLED_AFTER_S * 2_500);
          return (await sql<{ one: number }>`select 1 as one`.execute(connection)).rows;
        });
        expect(answers).toEqual([{ one: 1 }]);
      }, 15_000);

      test('a transaction asking for another limit than the connections carry still gets its own', async () => {
        const inside = await inTransaction(
          store.db,
          async (trx) => (await sql<{ wait: number }>`select @@session.wait_timeout as wait`.execute(trx)).rows[0]!,
          { stalledAfterS: 7 },
        );
        expect(inside.wait).toBe(7);
      });
    });
