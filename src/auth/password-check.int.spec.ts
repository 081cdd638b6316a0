// The stored password hash kept current by a successful check, on both
// read-model engines: SQLite (always) and MariaDB/MySQL (skipped with a loud
// warning when unreachable, unless PARLEY_REQUIRE_INFRA=1).

import bcrypt from 'bcrypt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import type { Store } from '../store/store.ts';
import { passwordHashOf, storePasswordHash } from './credentials.ts';
import { checkStoredPassword, spendFailedCheck } from './password-check.ts';
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

    it('a raw password whose NFC form is longer than bcrypt reads still logs in; its hash stays as it was', async () => {
      // U+0958 is 3 bytes; its NFC form, U+0915 U+093C, is 6: 24 of them are 72 bytes typed, 144 in NFC.
      const typed = '\u0958'.repeat(24);
      const legacy = await bcrypt.hash(typed, 4);
      await storePasswordHash(store.db, 'u5', legacy, Date.now());
      expect(await checkStoredPassword(store.db, await stored('u5'), typed, 5)).toBe(true);
      expect((await stored('u5')).password_hash).toBe(legacy);
    });
  });
}

describe('a login that names no account spends what a failed check spends', () => {
  // Counted, not timed: bcrypt's work depends only on the cost, so equal
  // numbers of comparisons at one cost take equal time.
  const comparisons = async (run: () => Promise<unknown>) => {
    const spy = vi.spyOn(bcrypt, 'compare');
    try {
      await run();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  };
  const account = { id: 'u', password_hash: '' };
  const noDb = undefined as never; // a failed check writes nothing

  it('one comparison for a password in NFC, two for one that is not, as a wrong password against an account', async () => {
    account.password_hash = await hashPassword('the real password', 4);
    for (const typed of ['wrong but composed caf\u00e9', 'wrong and decomposed cafe\u0301']) {
      const failed = await comparisons(() => checkStoredPassword(noDb, account, typed, 4));
      const spent = await comparisons(() => spendFailedCheck(typed, 4));
      expect(spent, typed).toBe(failed);
    }
  });
});
