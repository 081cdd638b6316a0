// A MySQL transaction whose client goes silent (a frozen process) keeps its
// row locks until the server drops the connection; store/transaction.ts
// explains why Parley bounds that wait. MariaDB can bound it per connection:
// `idle_transaction_timeout` drops a connection idle *inside* a transaction
// and leaves idle connections alone, so it is set once, when the pool opens a
// connection, instead of around every transaction (two statements, a round
// trip each: a third of the projector's statements at 1k msg/s, bench/README
// fix 16). MySQL has no such variable; there transactions keep lowering
// wait_timeout around themselves.
//
// The adapter carries what the pool's connections were told, because it is
// the one object every Kysely copy of the store shares (withPlugin,
// connection(), transactions), so inTransaction can ask any of them.

import { MysqlAdapter, MysqlDialect, type Kysely } from 'kysely';
import type { Pool } from 'mysql2';

class GuardedMysqlAdapter extends MysqlAdapter {
  /** Seconds after which the server drops a connection idle inside a transaction: known once a connection confirmed it. */
  idleTransactionTimeoutS: number | undefined;
}

/**
 * A MySQL dialect whose connections are each told, before their first
 * statement, to drop an idle transaction after `seconds` — where the server
 * knows the setting (MariaDB). Elsewhere nothing is set and transactions guard
 * themselves (store/transaction.ts).
 */
export function mysqlDialectGuardingIdleTransactions(pool: Pool, seconds: number): MysqlDialect {
  const adapter = new GuardedMysqlAdapter();
  pool.on('connection', (connection) => {
    // Queued before anything the pool's borrower sends on this connection.
    connection.query(`SET SESSION idle_transaction_timeout = ${Math.trunc(seconds)}`, (error) => {
      if (error === null) adapter.idleTransactionTimeoutS = seconds;
      // MySQL: no such variable; the adapter never claims the guard.
      else if (error.code === 'ER_UNKNOWN_SYSTEM_VARIABLE') adapter.idleTransactionTimeoutS = undefined;
      // Any other failure: this connection lacks the guard, so it must not serve.
      else connection.destroy();
    });
  });
  return new (class extends MysqlDialect {
    override createAdapter() {
      return adapter;
    }
  })({ pool });
}

/** The seconds after which the server drops `db`'s connections idle in a transaction, if every connection carries that limit. */
export function serverDropsIdleTransactionsAfter(db: Pick<Kysely<unknown>, 'getExecutor'>): number | undefined {
  const adapter = db.getExecutor().adapter;
  return adapter instanceof GuardedMysqlAdapter ? adapter.idleTransactionTimeoutS : undefined;
}
