// What every pooled MySQL connection of a server is told once, when the pool
// opens it, so that transactions need not set it around themselves: each
// setting saved is a statement and a round trip per transaction, and the
// projector runs a transaction per batch (at a steady 200 msg/s on the stack,
// a batch is one message: 11 statements, 8 with these two; bench/README
// fix 16).
//
// - READ COMMITTED: the projector's batches ask for it (no gap locks between
//   partitions' writers). The server's other transactions lock what they
//   change (UPDATE … WHERE, SELECT … FOR UPDATE), which reads the newest
//   committed row under either level, and its reads outside transactions are
//   single statements, which see one snapshot under either; a transaction
//   that wants REPEATABLE READ asks for it and gets it.
// - idle_transaction_timeout (MariaDB): store/transaction.ts explains why a
//   transaction whose client goes silent must be dropped by the server.
//   MariaDB drops a connection idle *inside* a transaction and leaves idle
//   connections alone, so one setting per connection does it. MySQL has no
//   such variable; there transactions keep lowering wait_timeout themselves.
//
// The adapter carries what the connections were told, because it is the one
// object every Kysely copy of the store shares (withPlugin, connection(),
// transactions), so inTransaction can ask any of them.

import { MysqlAdapter, MysqlDialect, type IsolationLevel, type Kysely } from 'kysely';
import type { Pool } from 'mysql2';

const SESSION_ISOLATION: IsolationLevel = 'read committed';

class SessionDefaultsAdapter extends MysqlAdapter {
  readonly isolation = SESSION_ISOLATION;
  /** Seconds after which the server drops a connection idle inside a transaction: known once a connection confirmed it. */
  idleTransactionTimeoutS: number | undefined;
}

export interface SessionDefaults {
  isolation?: IsolationLevel;
  idleTransactionTimeoutS?: number;
}

/**
 * A MySQL dialect whose connections each run, before their first statement,
 * at READ COMMITTED and — where the server knows the setting (MariaDB) — with
 * idle transactions dropped after `stalledTransactionS`.
 */
export function mysqlDialectWithSessionDefaults(pool: Pool, stalledTransactionS: number): MysqlDialect {
  const adapter = new SessionDefaultsAdapter();
  pool.on('connection', (connection) => {
    // Queued before anything the pool's borrower sends on this connection.
    connection.query(`SET SESSION TRANSACTION ISOLATION LEVEL ${SESSION_ISOLATION.toUpperCase()}`, (error) => {
      // A connection without the defaults must not serve.
      if (error !== null) connection.destroy();
    });
    connection.query(`SET SESSION idle_transaction_timeout = ${Math.trunc(stalledTransactionS)}`, (error) => {
      if (error === null) adapter.idleTransactionTimeoutS = stalledTransactionS;
      // MySQL has no such variable: transactions guard themselves.
      else if (error.code === 'ER_UNKNOWN_SYSTEM_VARIABLE') adapter.idleTransactionTimeoutS = undefined;
      else connection.destroy();
    });
  });
  return new (class extends MysqlDialect {
    override createAdapter() {
      return adapter;
    }
  })({ pool });
}

/** What every connection of `db` carries from the start; nothing for a store opened without defaults. */
export function sessionDefaultsOf(db: Pick<Kysely<unknown>, 'getExecutor'>): SessionDefaults {
  const adapter = db.getExecutor().adapter;
  if (!(adapter instanceof SessionDefaultsAdapter)) return {};
  return adapter.idleTransactionTimeoutS === undefined
    ? { isolation: adapter.isolation }
    : { isolation: adapter.isolation, idleTransactionTimeoutS: adapter.idleTransactionTimeoutS };
}
