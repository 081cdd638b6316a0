// Migration 0029 on both engines, from data as the versions before it left it:
// every account of every chat model version becomes "not a bot", the tokens'
// table appears beside the read models with one row per hash, and down and up
// again keep the accounts.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateTo, migrateToLatest } from '../src/store/migrate.ts';
import type { Store } from '../src/store/store.ts';
import { testEngines } from '../test/support/engines.ts';

const person = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a02',
  username: 'ann',
  email: 'ann@example.org',
  display_name: 'Ann',
  created_at: 1_700_000_000_000,
};
const token = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f7a01',
  user_id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f7a02',
  name: 'ci',
  token_hash: 'a'.repeat(64),
  room_ids: null,
  created_by: person.id,
  created_at: 1_700_000_000_001,
  revoked_at: null,
  last_used_at: null,
};

for (const engine of await testEngines('migration_0029')) {
  describe.runIf(engine.available)(`migration 0029 (bots) on ${engine.name}`, () => {
    let store: Store;
    const tables = async () => (await store.db.introspection.getTables()).map((t) => t.name);
    const bots = async (table: string) =>
      (await sql<{ id: string; is_bot: unknown }>`select id, is_bot from ${sql.table(table)}`.execute(store.db)).rows.map(
        (row) => [row.id, Number(row.is_bot)],
      );

    beforeAll(async () => {
      store = await engine.open();
      expect(await migrateTo(store.db, '0028_webhooks')).toContain('0029_bots');
      // The live version and a rebuilt one beside it, each with an account.
      await sql`create table users__v2 as select * from users`.execute(store.db);
      for (const table of ['users', 'users__v2']) {
        const { id, username, email, display_name, created_at } = person;
        await sql`insert into ${sql.table(table)} (id, username, email, display_name, created_at)
          values (${id}, ${username}, ${email}, ${display_name}, ${created_at})`.execute(store.db);
      }
      expect(await migrateToLatest(store.db)).toContain('0029_bots');
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('makes every account of every version a person, not a bot', async () => {
      for (const table of ['users', 'users__v2']) expect(await bots(table), table).toEqual([[person.id, 0]]);
    });

    it('keeps tokens beside the read models, one row per hash', async () => {
      await store.db.insertInto('bot_tokens').values(token).execute();
      const again = store.db
        .insertInto('bot_tokens')
        .values({ ...token, id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f7a03' })
        .execute();
      await expect(again).rejects.toThrow();
      const [row] = await store.db.selectFrom('bot_tokens').selectAll().execute();
      expect({ ...row, created_at: Number(row!.created_at as unknown) }).toEqual(token);
    });

    it('goes down (no tokens, no flag) and up again, keeping the accounts', async () => {
      await migrateTo(store.db, '0028_webhooks');
      expect(await tables()).not.toContain('bot_tokens');
      await migrateToLatest(store.db);
      for (const table of ['users', 'users__v2']) expect(await bots(table), table).toEqual([[person.id, 0]]);
      expect(await tables()).toContain('bot_tokens');
    });
  });
}
