// User search on both read-model engines: a prefix of a username or display
// name, folded the way the query is (NFKC, lower case) on either engine, with
// LIKE's wildcards in the query taken literally.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import { escapeLike } from '../store/dialect.ts';
import type { Store } from '../store/store.ts';
import { searchUsers } from './users-queries.ts';

/** The route folds and escapes the query before it searches (queries/http-routes.ts). */
const search = (store: Store, q: string) =>
  searchUsers(store.db, escapeLike(q.normalize('NFKC').toLowerCase()), 20).then((users) => users.map((u) => u.username));

for (const engine of await testEngines('users_queries')) {
  describe.runIf(engine.available)(`searchUsers on ${engine.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await engine.open();
      const user = (n: number, username: string, display_name: string) => ({
        id: `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a${String(n).padStart(2, '0')}`,
        username,
        email: `${username}@example.com`,
        display_name,
        bio: '',
        avatar_url: null,
        created_at: 1,
      });
      await store.db
        .insertInto('users')
        .values([
          user(1, 'alice', 'Alice Liddell'),
          user(2, 'alfred', 'Al Fred'),
          user(3, 'bob', 'Émile Zola'),
          user(4, 'carol_1', 'Carol'),
          user(5, 'carolx1', 'Caroline'),
          user(6, 'dan', '100% Dan'),
        ])
        .execute();
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('finds users by a prefix of their username, in username order', async () => {
      expect(await search(store, 'al')).toEqual(['alfred', 'alice']);
      expect(await search(store, 'ALI')).toEqual(['alice']);
    });

    it('finds users by a prefix of their display name, whatever its case and accents are written as', async () => {
      expect(await search(store, 'émile')).toEqual(['bob']);
      expect(await search(store, 'ÉMI')).toEqual(['bob']);
      expect(await search(store, 'liddell')).toEqual([]);
    });

    it("takes LIKE's wildcards and the escape character in the query literally", async () => {
      expect(await search(store, 'carol_')).toEqual(['carol_1']);
      expect(await search(store, '100%')).toEqual(['dan']);
      expect(await search(store, '%')).toEqual([]);
      expect(await search(store, '\\')).toEqual([]);
      expect(await search(store, "o'")).toEqual([]);
    });
  });
}
