// Group commit for the embedded read models, over a real SQLite read model:
// work asked for in one turn of the event loop commits in one transaction,
// each caller gets its own result, and when one piece of work fails the
// others are committed all the same (each alone) while only its caller sees
// the error.

import type { Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import { groupTransactions } from './grouped-transactions.ts';
import type { Database } from './schema.ts';
import type { Store } from './store.ts';
import { inTransaction } from './transaction.ts';

const [sqlite] = await testEngines('grouped_transactions');

describe('grouped transactions on SQLite', () => {
  let store: Store;
  let transactions = 0;
  const grouped = () =>
    groupTransactions<Database>((work) => {
      transactions++;
      return inTransaction(store.db, work);
    });

  beforeAll(async () => {
    store = await sqlite!.open();
  });
  afterAll(() => sqlite!.dispose());

  /** Marks `name` seen (a row of user_last_seen) and answers with it. */
  const mark = (name: string) => async (trx: Transaction<Database>) => {
    await trx.insertInto('user_last_seen').values({ user_id: name, last_seen_at: 1 }).execute();
    return name;
  };
  const stored = async () =>
    (await store.db.selectFrom('user_last_seen').select('user_id').orderBy('user_id').execute()).map((row) => row.user_id);

  it('runs the work of one turn in one transaction; each caller gets its own result', async () => {
    const group = grouped();
    transactions = 0;
    const results = await Promise.all([group.run(mark('a1')), group.run(mark('a2')), group.run(mark('a3'))]);
    expect(results).toEqual(['a1', 'a2', 'a3']);
    expect(transactions).toBe(1);
    expect(await stored()).toEqual(['a1', 'a2', 'a3']);
    // Work of a later turn is a transaction of its own.
    await group.run(mark('a4'));
    expect(transactions).toBe(2);
  });

  it('a failing piece of work fails alone: the rest of its turn is committed, each in a transaction of its own', async () => {
    const group = grouped();
    transactions = 0;
    const refused = async (trx: Transaction<Database>) => {
      await trx.insertInto('user_last_seen').values({ user_id: 'b2', last_seen_at: 1 }).execute();
      throw new Error('the database refuses this row');
    };
    const outcomes = await Promise.allSettled([group.run(mark('b1')), group.run(refused), group.run(mark('b3'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error('the database refuses this row'));
    // The group (rolled back), then each of the three alone.
    expect(transactions).toBe(4);
    const rows = await stored();
    expect(rows.filter((name) => name.startsWith('b'))).toEqual(['b1', 'b3']);
  });
});
