// The stored password hash kept current by a successful check, on both
// read-model engines: SQLite (always) and MariaDB/MySQL (skipped with a loud
// warning when unreachable, unless PARLEY_REQUIRE_INFRA=1).

import bcrypt from 'bcrypt';
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

    // "café au lait": é as one code point (NFC) and as e + a combining acute (NFD).
    const composed = 'caf\u00e9 au lait';
    const decomposed = 'cafe\u0301 au lait';

    it('passwords are hashed in NFC: either spelling of é matches', async () => {
      await storePasswordHash(store.db, 'u3', await hashPassword(decomposed, 4), Date.now());
      expect(await checkStoredPassword(store.db, await stored('u3'), composed, 4)).toBe(true);
      expect(await checkStoredPassword(store.db, await stored('u3'), decomposed, 4)).toBe(true);
    });

    it('a hash of a raw non-NFC password (made before normalising) still matches it, and is re-hashed in NFC', async () => {
      const legacy = await bcrypt.hash(decomposed, 4);
      await storePasswordHash(store.db, 'u4', legacy, Date.now());
      expect(await checkStoredPassword(store.db, await stored('u4'), decomposed, 4)).toBe(true);
      const rehashed = await stored('u4');
      expect(rehashed.password_hash).not.toBe(legacy);
      expect(await bcrypt.compare(composed, rehashed.password_hash)).toBe(true);
      expect(await checkStoredPassword(store.db, rehashed, composed, 4)).toBe(true);
      expect(await checkStoredPassword(store.db, rehashed, decomposed, 4)).toBe(true);
    });
  });
}
