// Migration 0006 on both engines, from data as the versions before it left it:
// password hashes in every version of the chat model's users table (the live
// one and one that `parley rebuild` made) move to `credentials`, the column
// goes from every version, and logging in finds the hash there. Down and up
// again restore the same.

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsForLogin } from '../src/auth/credentials.ts';
import { migrateTo, migrateToLatest } from '../src/store/migrate.ts';
import type { Store } from '../src/store/store.ts';
import { testEngines } from '../test/support/engines.ts';

const alice = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01',
  username: 'alice',
  email: 'alice@example.org',
  hash: '$2b$04$alicealicealicealicealiceali',
};
const bob = {
  id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a02',
  username: 'bob',
  email: 'bob@example.org',
  hash: '$2b$04$bobbobbobbobbobbobbobbobbobbo',
};

for (const engine of await testEngines('migration_0006')) {
  describe.runIf(engine.available)(`migration 0006 (credentials) on ${engine.name}`, () => {
    let store: Store;
    const columnsOf = async (table: string) =>
      (await store.db.introspection.getTables()).find((t) => t.name === table)?.columns.map((c) => c.name) ?? [];

    beforeAll(async () => {
      store = await engine.open();
      // Back to how the versions before 0006 left the database…
      expect(await migrateTo(store.db, '0005_projection_versions')).toContain('0006_credentials');
      expect(await columnsOf('users')).toContain('password_hash');
      // …with users that registered then, and a rebuilt version of the model beside the live one.
      for (const user of [alice, bob]) {
        await sql`insert into users (id, username, email, password_hash, display_name, bio, created_at)
          values (${user.id}, ${user.username}, ${user.email}, ${user.hash}, ${user.username}, '', 1)`.execute(store.db);
      }
      await sql`create table users__v2 as select * from users`.execute(store.db);
      expect(await migrateToLatest(store.db)).toContain('0006_credentials');
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('moves every hash to credentials', async () => {
      const rows = await store.db.selectFrom('credentials').select(['user_id', 'password_hash']).orderBy('user_id').execute();
      expect(rows).toEqual([
        { user_id: alice.id, password_hash: alice.hash },
        { user_id: bob.id, password_hash: bob.hash },
      ]);
    });

    it('drops the column from every version of the users table', async () => {
      expect(await columnsOf('users')).not.toContain('password_hash');
      expect(await columnsOf('users__v2')).not.toContain('password_hash');
      expect(await columnsOf('users')).toContain('username');
    });

    it('lets the users log in by username or email', async () => {
      expect(await credentialsForLogin(store.db, 'alice')).toEqual({ id: alice.id, password_hash: alice.hash });
      expect(await credentialsForLogin(store.db, 'bob@example.org')).toEqual({ id: bob.id, password_hash: bob.hash });
      expect(await credentialsForLogin(store.db, 'carol')).toBeUndefined();
    });

    it('goes down (hashes back in every version) and up again', async () => {
      await migrateTo(store.db, '0005_projection_versions');
      const back = await sql<{ password_hash: string }>`select password_hash from users__v2 where id = ${alice.id}`.execute(
        store.db,
      );
      expect(back.rows).toEqual([{ password_hash: alice.hash }]);
      await migrateToLatest(store.db);
      expect(await credentialsForLogin(store.db, 'alice')).toEqual({ id: alice.id, password_hash: alice.hash });
    });
  });
}
