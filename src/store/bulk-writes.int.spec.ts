// updateRows, the projections' bulk update, on every engine: one row (a
// plain UPDATE) and many (the multi-row forms) must change exactly the rows
// their keys name, and `raiseOnly` must never lower a value. existingPairs
// must find exactly the rows whose two keys are named together. Inside a
// transaction the bulk writes belong to it (on SQLite they skip kysely's
// executor for the connection the transaction holds): seen by its reads,
// undone by its rollback, their failures reported to their caller.

import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import { existingPairs, insertRows, updateRows } from './dialect.ts';
import type { Store } from './store.ts';

const member = (room: string, user: string, lastRead: number) => ({
  room_id: room,
  user_id: user,
  role: 'member',
  joined_at: 1,
  last_read_seq: lastRead,
});

for (const engine of await testEngines('bulk-writes')) {
  describe.runIf(engine.available)(`updateRows on ${engine.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await engine.open();
      await insertRows(store.db, 'room_members', [
        member('r1', 'u1', 5),
        member('r1', 'u2', 5),
        member('r2', 'u1', 5),
        member('r2', 'u2', 5),
      ]);
    });
    afterEach(async () => {
      await store.db.destroy();
      await engine.dispose();
    });

    const lastRead = async () =>
      Object.fromEntries(
        (
          await store.db
            .selectFrom('room_members')
            .select(['room_id', 'user_id', 'last_read_seq'])
            .orderBy('room_id')
            .orderBy('user_id')
            .execute()
        ).map((row) => [`${row.room_id}/${row.user_id}`, row.last_read_seq]),
      );

    // `raise` (1) marks a row only to be raised; it is no column of the table.
    type Row = { room_id: string; user_id: string; last_read_seq: number; raise: 0 | 1 };
    const update = (rows: Row[]) =>
      updateRows<Row>(store.db, 'room_members', ['room_id', 'user_id'], ['last_read_seq'], rows, (row) => row.raise === 1);

    test('one row: only the row both keys name changes', async () => {
      await update([{ room_id: 'r1', user_id: 'u2', last_read_seq: 2, raise: 0 }]);
      expect(await lastRead()).toEqual({ 'r1/u1': 5, 'r1/u2': 2, 'r2/u1': 5, 'r2/u2': 5 });
    });

    test('one row with raiseOnly: raised when it grows, left when it would shrink', async () => {
      await update([{ room_id: 'r2', user_id: 'u1', last_read_seq: 3, raise: 1 }]);
      expect((await lastRead())['r2/u1']).toBe(5);
      await update([{ room_id: 'r2', user_id: 'u1', last_read_seq: 9, raise: 1 }]);
      expect(await lastRead()).toEqual({ 'r1/u1': 5, 'r1/u2': 5, 'r2/u1': 9, 'r2/u2': 5 });
    });

    test('many rows: each gets its own value, raiseOnly per row', async () => {
      await update([
        { room_id: 'r1', user_id: 'u1', last_read_seq: 1, raise: 0 },
        { room_id: 'r1', user_id: 'u2', last_read_seq: 1, raise: 1 },
        { room_id: 'r2', user_id: 'u2', last_read_seq: 8, raise: 1 },
      ]);
      expect(await lastRead()).toEqual({ 'r1/u1': 1, 'r1/u2': 5, 'r2/u1': 5, 'r2/u2': 8 });
    });

    test('several columns of one row by a single key', async () => {
      await insertRows(store.db, 'rooms', [
        { id: 'r1', type: 'group', name: 'one', created_by: 'u1', created_at: 1 },
        { id: 'r2', type: 'group', name: 'two', created_by: 'u1', created_at: 1 },
      ]);
      await updateRows(
        store.db,
        'rooms',
        ['id'],
        ['last_seq', 'last_message_id'],
        [{ id: 'r2', last_seq: 4, last_message_id: 'm4' }],
      );
      const rooms = await store.db.selectFrom('rooms').select(['id', 'last_seq', 'last_message_id']).orderBy('id').execute();
      expect(rooms.map((room) => [room.id, room.last_seq, room.last_message_id])).toEqual([
        ['r1', 0, null],
        ['r2', 4, 'm4'],
      ]);
    });

    const sorted = (pairs: [unknown, unknown][]) => pairs.map((pair) => pair.join('/')).sort();

    test('existingPairs finds the rows both keys name, not their crossings', async () => {
      // r1/u1 and r2/u2 named: r1/u2 and r2/u1 share a key with each and are not found.
      const found = await existingPairs(
        store.db,
        'room_members',
        ['room_id', 'user_id'],
        [
          ['r1', 'u1'],
          ['r2', 'u2'],
          ['r9', 'u1'], // names no row
        ],
      );
      expect(sorted(found)).toEqual(['r1/u1', 'r2/u2']);
    });

    test('existingPairs over more pairs than one statement holds, inside a transaction that wrote them', async () => {
      const many = Array.from({ length: 2_100 }, (_, i) => member(`r${i % 7}`, `user-${i}`, 1));
      const named = many.map((row, i) => [row.room_id, i % 2 === 0 ? row.user_id : `absent-${i}`] as const);
      const found = await store.db.transaction().execute(async (trx) => {
        await insertRows(trx, 'room_members', many);
        // Every other pair names a row, under seven rooms, across three statements.
        return existingPairs(trx, 'room_members', ['room_id', 'user_id'], named);
      });
      expect(found).toHaveLength(1_050);
      expect(sorted(found)).toEqual(sorted(many.filter((_, i) => i % 2 === 0).map((row) => [row.room_id, row.user_id])));
    });

    test('inside a transaction: its own reads see the writes, and its rollback undoes them', async () => {
      let seenInside: Record<string, number> = {};
      const rolledBack = store.db.transaction().execute(async (trx) => {
        await insertRows(trx, 'room_members', [member('r3', 'u1', 7)]);
        await updateRows<Row>(
          trx,
          'room_members',
          ['room_id', 'user_id'],
          ['last_read_seq'],
          [
            { room_id: 'r1', user_id: 'u1', last_read_seq: 9, raise: 1 },
            { room_id: 'r2', user_id: 'u2', last_read_seq: 1, raise: 0 },
          ],
          (row) => row.raise === 1,
        );
        const rows = await trx.selectFrom('room_members').select(['room_id', 'user_id', 'last_read_seq']).execute();
        seenInside = Object.fromEntries(rows.map((row) => [`${row.room_id}/${row.user_id}`, row.last_read_seq]));
        throw new Error('roll back');
      });
      await expect(rolledBack).rejects.toThrow('roll back');
      expect(seenInside).toEqual({ 'r1/u1': 9, 'r1/u2': 5, 'r2/u1': 5, 'r2/u2': 1, 'r3/u1': 7 });
      expect(await lastRead()).toEqual({ 'r1/u1': 5, 'r1/u2': 5, 'r2/u1': 5, 'r2/u2': 5 });
    });

    test('inside a transaction: a write that breaks a constraint rejects, and the transaction can go on', async () => {
      await store.db.transaction().execute(async (trx) => {
        await expect(insertRows(trx, 'room_members', [member('r1', 'u1', 1)])).rejects.toThrow(/unique|duplicate/i);
        await insertRows(trx, 'room_members', [member('r4', 'u4', 4)]);
      });
      expect(await lastRead()).toEqual({ 'r1/u1': 5, 'r1/u2': 5, 'r2/u1': 5, 'r2/u2': 5, 'r4/u4': 4 });
    });
  });
}
