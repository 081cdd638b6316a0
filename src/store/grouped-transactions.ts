// Group commit for the embedded read models. SQLite has one writer and pays
// for every commit (a WAL append, its syscalls), and at a steady message rate
// the projector's partitions hand it one event at a time: a commit per event.
// Work asked for in the same turn of the event loop (the partitions the log
// woke together) runs instead in one transaction, one after another, and
// commits once. Should that transaction fail, each piece of work runs again
// alone, in a transaction of its own, so one batch's failure (a row the
// database refuses) stays that batch's — the others are applied all the same.
//
// For SQLite only: on MySQL the partitions' transactions run in parallel on
// connections of their own, and one transaction would serialise them.

import type { Transaction } from 'kysely';

export type TransactionWork<DB, T> = (trx: Transaction<DB>) => Promise<T>;

interface Queued<DB> {
  work: TransactionWork<DB, unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupedTransactions<DB> {
  /** Runs `work` in a transaction, possibly shared with other work of this turn; resolves with its result once committed. */
  run<T>(work: TransactionWork<DB, T>): Promise<T>;
}

/** `transact` runs one piece of work in a transaction of its own (store/transaction.ts `inTransaction`). */
export function groupTransactions<DB>(transact: <T>(work: TransactionWork<DB, T>) => Promise<T>): GroupedTransactions<DB> {
  let queue: Queued<DB>[] = [];

  async function flush(): Promise<void> {
    const group = queue;
    queue = [];
    if (group.length === 1) {
      const [only] = group;
      await transact(only!.work).then(only!.resolve, only!.reject);
      return;
    }
    let results: unknown[];
    try {
      results = await transact(async (trx) => {
        const done: unknown[] = [];
        for (const { work } of group) done.push(await work(trx));
        return done;
      });
    } catch {
      // Nothing of the group was committed: each alone, so a failure is its own.
      for (const { work, resolve, reject } of group) await transact(work).then(resolve, reject);
      return;
    }
    group.forEach(({ resolve }, i) => resolve(results[i]));
  }

  return {
    run<T>(work: TransactionWork<DB, T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(() => void flush());
        queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      });
    },
  };
}
