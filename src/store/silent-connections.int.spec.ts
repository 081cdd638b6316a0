// store.ts's dropSilentConnections on MariaDB, through a fault proxy: a pooled
// connection the server side has silently lost (half-open) fails its
// statement once the silence has lasted, instead of holding its caller
// forever, and the next statement runs on a new connection. An idle
// connection is left alone.

import { sql } from 'kysely';
import { afterEach, describe, expect, test } from 'vitest';
import { mysqlAvailable, testMysqlUrl } from '../../test/support/engines.ts';
import { startFaultProxy, type FaultProxy } from '../../test/support/fault-proxy.ts';
import { openStore, type Store } from './store.ts';

const available = await mysqlAvailable('silent connections');

describe.runIf(available)('a MySQL connection that stops answering', () => {
  let proxy: FaultProxy | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    await proxy?.close();
  });

  /** A store of one pooled connection, through a fresh proxy, with the guard at `silentMs`. */
  const openProxied = async (silentMs: number) => {
    const server = new URL(testMysqlUrl);
    proxy = await startFaultProxy({ upstream: { host: server.hostname, port: Number(server.port || 3306) } });
    server.host = `127.0.0.1:${proxy.port}`;
    store = openStore({ databaseUrl: server.toString(), dataDir: '', poolSize: 1 });
    store.dropSilentConnections!(silentMs);
    return store;
  };
  const answer = async (db: Store['db'], n: number) => (await sql<{ n: number }>`select ${n} as n`.execute(db)).rows[0]?.n;

  test('a half-open connection fails its statement; the next statement gets a new connection', async () => {
    const { db } = await openProxied(300);
    expect(await answer(db, 1)).toBe(1);
    proxy!.halfOpen();

    const lost = await answer(db, 2).then(
      (n) => `answered ${n}`,
      (error: unknown) => String(error),
    );
    expect(lost).toContain('no answer from MySQL for 300 ms; connection dropped');
    expect(await answer(db, 3)).toBe(3);
    expect(proxy!.stats.accepted).toBe(2);
  });

  test('an idle connection is not dropped for its silence', async () => {
    const { db } = await openProxied(100);
    expect(await answer(db, 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await answer(db, 2)).toBe(2);
    expect(proxy!.stats.accepted).toBe(1);
  });
});
