// Transactions that a stalled client cannot hold open forever.
//
// A MySQL transaction keeps its row locks until the client commits, rolls
// back or disconnects. An instance frozen mid-transaction (a long GC pause,
// SIGSTOP, a VM stall) keeps its TCP connection, so the server would wait for
// it for hours (wait_timeout defaults to 8 h), and every other writer of those
// rows — the projector that took the partition over — waits behind it: the
// read model stops for everyone. So the server must drop a connection that
// stays silent that long mid-transaction, rolling it back and releasing its
// locks, while the pool's idle connections keep the server's default:
// - a server's store tells each connection once (MariaDB's
//   idle_transaction_timeout, store/mysql-session.ts), and then a transaction
//   asking for the same limit sets nothing;
// - otherwise (MySQL, which has no such variable; operator commands; another
//   limit) the session's wait_timeout is lowered inside the transaction and
//   restored after it.

import { sql, type IsolationLevel, type Kysely, type Transaction, type TransactionBuilder } from 'kysely';
import { DEFAULT_STALLED_TRANSACTION_S } from '../config.ts';
import { engineOf } from './dialect.ts';
import { sessionDefaultsOf } from './mysql-session.ts';

export interface TransactionOptions {
  isolation?: IsolationLevel;
  /** Seconds a client may stay silent inside the transaction before the server drops it (PARLEY_MYSQL_STALLED_TRANSACTION_S); MySQL only (SQLite's locks die with the process that holds them). */
  stalledAfterS?: number;
}

export async function inTransaction<DB, T>(
  db: Kysely<DB>,
  work: (trx: Transaction<DB>) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  if (engineOf(db) === 'sqlite') return db.transaction().execute(work);
  const stalledAfterS = options.stalledAfterS ?? DEFAULT_STALLED_TRANSACTION_S;
  const session = sessionDefaultsOf(db);
  // Set per transaction only what the connection does not already carry.
  const isolation = options.isolation === session.isolation ? undefined : options.isolation;
  const isolated = <D>(builder: TransactionBuilder<D>) =>
    isolation === undefined ? builder : builder.setIsolationLevel(isolation);
  if (session.idleTransactionTimeoutS === stalledAfterS) return isolated(db.transaction()).execute(work);
  return db.connection().execute(async (connection) => {
    await sql`set session wait_timeout = ${sql.lit(stalledAfterS)}`.execute(connection);
    const builder = connection.transaction();
    try {
      return await isolated(builder).execute(work);
    } finally {
      // Back to the server's default before the pool lends the connection
      // out again. When the server dropped it, this fails too; the pool
      // discards the dead connection and the transaction's error stands.
      await sql`set session wait_timeout = default`.execute(connection).catch(() => undefined);
    }
  });
}
