// The stored password hash kept current by a successful check, on both
// read-model engines: SQLite (always) and MariaDB/MySQL (skipped with a loud
// warning when unreachable, unless PARLEY_REQUIRE_INFRA=1).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import type { Store } from '../store/store.ts';
import { passwordHashOf, storePasswordHash } from './credentials.ts';
import { checkStoredPassword } from './password-check.ts';
import { bcryptCost, hashPassword } from './passwords.ts';

const PASSWORD = 'correct horse battery staple';

for (const engine of await testEngines('password-check')) {
  describe.runIf(engine.available)(`password check on ${engine.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => {
      await store.close();
      await engine.dispose();
    });

    const stored = async (userId: string) => {
      const hash = await passwordHashOf(store.db, userId);
      if (hash === undefined) throw new Error('no stored hash');
      return { id: userId, password_hash: hash };
    };

    it('a successful check rehashes a hash below the configured cost; the password still works', async () => {
      await storePasswordHash(store.db, 'u1', await hashPassword(PASSWORD, 4), Date.now());
      expect(await checkStoredPassword(store.db, await stored('u1'), PASSWORD, 5)).toBe(true);
      const upgraded = await stored('u1');
      expect(bcryptCost(upgraded.password_hash)).toBe(5);
      expect(await checkStoredPassword(store.db, upgraded, PASSWORD, 5)).toBe(true);
    });

    it('a failed check, or a hash at the cost already, leaves the hash as it is', async () => {
      const original = await hashPassword(PASSWORD, 5);
      await storePasswordHash(store.db, 'u2', original, Date.now());
      expect(await checkStoredPassword(store.db, await stored('u2'), 'not the password', 6)).toBe(false);
      expect((await stored('u2')).password_hash).toBe(original);
      expect(await checkStoredPassword(store.db, await stored('u2'), PASSWORD, 5)).toBe(true);
      expect((await stored('u2')).password_hash).toBe(original);
    });
  });
}
