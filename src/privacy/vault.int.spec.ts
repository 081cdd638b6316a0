// The vault on both engines, through the real key store: what a writer seals
// opens for readers until the key is destroyed, then reads as erased — and a
// key the store cannot give is never mistaken for an erased one; a value
// altered in the log fails alone (openEach), a missing key fails them all.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { destroyKeys, fetchKeys, messageKeyId, userKeyId } from './key-store.ts';
import { isSealed, newDataKey, SealBroken, seal } from './sealing.ts';
import { alteredSeal } from './testing/altered-seal.ts';
import { createVault, ERASED, KeyErased, KeyUnavailable, openEach, type PersonalDataVault } from './vault.ts';

// Port 1: a MySQL key store that refuses every connection.
const unreachable = openStore({ databaseUrl: 'mysql://root@127.0.0.1:1/parley', dataDir: '', poolSize: 1 });
afterAll(() => unreachable.close());

for (const engine of await testEngines('vault')) {
  describe.runIf(engine.available)(`personal data vault on ${engine.name}`, () => {
    let store: Store;
    let vault: PersonalDataVault;
    // A second process: its own cache, the same key store.
    let elsewhere: PersonalDataVault;

    beforeAll(async () => {
      store = await engine.open();
      vault = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      elsewhere = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
    });
    afterAll(() => engine.dispose());

    it('a message sealed by one process opens in another, attachments and all', async () => {
      const { messageId: id, sealer } = await vault.newMessage();
      const data = {
        message_id: id,
        content: sealer.seal('meet me at 6 🕕'),
        attachments: [{ url: sealer.seal('https://files.example/a.png'), name: sealer.sealOptional(null) }],
      };
      expect(isSealed(data.content)).toBe(true);
      expect(JSON.stringify(data)).not.toContain('meet me');
      const [opened] = await elsewhere.open([{ type: 'message_sent', data }]);
      expect(opened).toEqual({
        type: 'message_sent',
        erased: false,
        data: { message_id: id, content: 'meet me at 6 🕕', attachments: [{ url: 'https://files.example/a.png', name: null }] },
      });
    });

    it('a destroyed key erases every value sealed under it, in every reader, and leaves other keys alone', async () => {
      const { messageId: doomed, sealer: first } = await vault.newMessage();
      const { messageId: kept, sealer: second } = await vault.newMessage();
      const records = [
        { type: 'message_sent', data: { content: first.seal('original text') } },
        { type: 'message_edited', data: { content: first.seal('edited text') } },
        { type: 'message_sent', data: { content: second.seal('stays') } },
      ];
      expect(await destroyKeys(store.db, [`message:${doomed}`], Date.now())).toBe(1);
      // A fresh reader (a rebuild, a replay) sees the erasure at once.
      const reader = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      const opened = await reader.open(records);
      expect(opened.map((r) => [r.data.content, r.erased])).toEqual([
        [ERASED, true],
        [ERASED, true],
        ['stays', false],
      ]);
      const secrets = await fetchKeys(store.db, [`message:${doomed}`, `message:${kept}`]);
      expect(secrets.get(`message:${doomed}`)).toBeNull();
      expect(secrets.get(`message:${kept}`)).toHaveLength(32);
      // Destroying twice is harmless, and nothing new is sealed under a destroyed key.
      expect(await destroyKeys(store.db, [`message:${doomed}`], Date.now())).toBe(0);
      await expect(reader.sealerFor(messageKeyId(doomed))).rejects.toBeInstanceOf(KeyErased);
    });

    it('a cached key opens until its TTL; a fresh open reads the store, sees the erasure, and the cache follows', async () => {
      const { messageId: id, sealer } = await vault.newMessage();
      const record = { type: 'message_sent', data: { content: sealer.seal('said, then deleted') } };
      // `vault` made the key, so it holds it in its cache.
      expect((await vault.open([record]))[0]!.data.content).toBe('said, then deleted');
      await destroyKeys(store.db, [messageKeyId(id)], Date.now());
      expect((await vault.open([record]))[0]!.erased).toBe(false); // the documented window (PARLEY_KEY_CACHE_TTL_MS)
      expect((await vault.open([record], { fresh: true }))[0]).toMatchObject({ erased: true, data: { content: ERASED } });
      expect((await vault.open([record]))[0]!.erased).toBe(true);
    });

    it('values this process sealed last open from memory, and still read as erased once their key is destroyed', async () => {
      const sealing = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8, recentSeals: 8 });
      const { messageId: id, sealer } = await sealing.newMessage();
      const records = [
        { type: 'message_sent', data: { content: sealer.seal('kept in mind') } },
        { type: 'message_edited', data: { content: sealer.seal('kept, edited') } },
      ];
      expect((await sealing.open(records)).map((r) => r.data.content)).toEqual(['kept in mind', 'kept, edited']);
      await destroyKeys(store.db, [messageKeyId(id)], Date.now());
      expect((await sealing.open(records, { fresh: true })).map((r) => [r.data.content, r.erased])).toEqual([
        [ERASED, true],
        [ERASED, true],
      ]);
      expect((await sealing.open(records))[0]!.erased).toBe(true);
      await sealing.stop();
    });

    it('fails closed on a key the store does not hold: never read as erased', async () => {
      const { messageId: ghost, sealer } = await vault.newMessage();
      const record = { type: 'message_sent', data: { content: sealer.seal('hello') } };
      await store.db.deleteFrom('data_keys').where('id', '=', `message:${ghost}`).execute();
      const reader = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      await expect(reader.open([record])).rejects.toBeInstanceOf(KeyUnavailable);
    });

    it('openEach: a value altered in the log fails alone, in its place; a key the store lacks still fails them all', async () => {
      const { sealer } = await vault.newMessage();
      const sealed = sealer.seal('intact');
      const altered = alteredSeal(sealed);
      const records = [sealed, altered, sealed].map((content) => ({ type: 'message_sent', data: { content } }));
      await expect(elsewhere.open(records)).rejects.toBeInstanceOf(SealBroken);
      const [first, broken, last] = await openEach(elsewhere, records);
      expect(first).toEqual({ type: 'message_sent', erased: false, data: { content: 'intact' } });
      expect(broken).toBeInstanceOf(SealBroken);
      expect(last).toEqual(first);

      const { messageId: ghost, sealer: lost } = await vault.newMessage();
      await store.db.deleteFrom('data_keys').where('id', '=', `message:${ghost}`).execute();
      const reader = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      const withLostKey = [...records, { type: 'message_sent', data: { content: lost.seal('hello') } }];
      await expect(openEach(reader, withLostKey)).rejects.toBeInstanceOf(KeyUnavailable);
    });

    it('a user key is created on first use and found again after, by any process', async () => {
      const user = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4aff';
      const a = await vault.sealerFor(userKeyId(user));
      const b = await elsewhere.sealerFor(userKeyId(user));
      const [opened] = await vault.open([
        { type: 'user_profile_updated', data: { bio: b.seal('hi'), display_name: a.seal('Ann') } },
      ]);
      expect(opened!.data).toEqual({ bio: 'hi', display_name: 'Ann' });
      const rows = await store.db.selectFrom('data_keys').selectAll().where('id', '=', userKeyId(user)).execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ destroyed_at: null });
    });

    it('message keys are made ahead, each stored before it is handed out, and the unused ones removed at stop', async () => {
      const messageKeys = async () =>
        new Set(
          (await store.db.selectFrom('data_keys').select('id').where('id', 'like', 'message:%').execute()).map((row) => row.id),
        );
      // The other vaults of this suite are idle (none is down to a quarter of its pool).
      const existing = await messageKeys();
      const own = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      const newKeys = async () => [...(await messageKeys())].filter((id) => !existing.has(id));
      const ids = [(await own.newMessage()).messageId];
      // Made ahead: the first send stored a pool of 8 (7 left: no refill yet).
      expect(await newKeys()).toHaveLength(8);
      for (let i = 1; i < 20; i++) ids.push((await own.newMessage()).messageId);
      expect(new Set(ids).size).toBe(20);
      const stored = await fetchKeys(store.db, ids.map(messageKeyId));
      expect([...stored.values()].every((secret) => secret?.length === 32)).toBe(true);
      await own.stop();
      // …and at stop (after any refill still running) exactly the handed-out ones stay.
      expect((await newKeys()).sort()).toEqual(ids.map(messageKeyId).sort());
    });

    it('messages opened one per call at the same time, as partitions wake, read their keys in two statements, not one each', async () => {
      const records = [];
      for (let i = 0; i < 12; i++) {
        const { sealer } = await vault.newMessage();
        records.push({ type: 'message_sent', data: { content: sealer.seal(`message ${i}`) } });
      }
      const { db, statements } = countingSelects(store);
      const reader = createVault({ db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8, keyReadAhead: 0 });
      const opened = await Promise.all(records.map((record) => reader.open([record])));
      expect(opened.map(([record]) => record!.data.content)).toEqual(records.map((_, i) => `message ${i}`));
      // The first call's read, then one for the eleven asked while it was on its way.
      expect(statements()).toBe(2);
    });

    it("a reader that lacks a message key reads the next messages' keys with it: one statement for what follows", async () => {
      const sealed = [];
      for (let i = 0; i < 12; i++) {
        const { messageId, sealer } = await vault.newMessage();
        sealed.push({ messageId, record: { type: 'message_sent', data: { content: sealer.seal(`message ${i}`) } } });
      }
      // One of them deleted before anyone read it: erased for the reader too.
      await destroyKeys(store.db, [messageKeyId(sealed[5]!.messageId)], Date.now());
      const { db, statements } = countingSelects(store);
      const reader = createVault({ db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8, keyReadAhead: 16 });
      const contents = [];
      for (const { record } of sealed) contents.push((await reader.open([record]))[0]!.data.content);
      expect(contents).toEqual(sealed.map((_, i) => (i === 5 ? ERASED : `message ${i}`)));
      expect(statements()).toBe(1);
      // Without reading ahead, one per message.
      const { db: plainDb, statements: plainStatements } = countingSelects(store);
      const plain = createVault({ db: plainDb, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 8 });
      for (const { record } of sealed) await plain.open([record]);
      expect(plainStatements()).toBe(12);
    });

    it('a reader keeps the keys it used last, up to its cache size, each for the cache lifetime; others are read again', async () => {
      const records: { type: string; data: { content: string } }[] = [];
      for (let i = 0; i < 4; i++) {
        const { sealer } = await vault.newMessage();
        records.push({ type: 'message_sent', data: { content: sealer.seal(`message ${i}`) } });
      }
      let clock = 1_000_000;
      const { db, statements } = countingSelects(store);
      const reader = createVault({ db, cacheTtlMs: 60_000, cacheSize: 3, messageKeysAhead: 8, now: () => clock });
      const contentOf = async (i: number) => (await reader.open([records[i]!]))[0]!.data.content;
      for (let i = 0; i < 4; i++) expect(await contentOf(i)).toBe(`message ${i}`);
      expect(statements()).toBe(4);
      // The three used last stay (1, 2, 3); message 1, used again, outlives message 2, stored after it.
      await contentOf(1);
      expect(statements()).toBe(4);
      expect(await contentOf(0)).toBe('message 0'); // read again, in place of message 2's key
      expect(statements()).toBe(5);
      await contentOf(1);
      await contentOf(3);
      expect(statements()).toBe(5);
      await contentOf(2);
      expect(statements()).toBe(6);
      clock += 60_001; // past the lifetime: read again
      await contentOf(2);
      expect(statements()).toBe(7);
    });

    it('values written before sealing existed pass through as they are', async () => {
      const [opened] = await vault.open([{ type: 'message_sent', data: { content: 'plain old text', n: 1 } }]);
      expect(opened).toEqual({ type: 'message_sent', data: { content: 'plain old text', n: 1 }, erased: false });
    });
  });
}

describe('personal data vault with a key store that does not answer', () => {
  it('fails closed: keys cannot be read, and nothing reads as erased', async () => {
    const record = { type: 'message_sent', data: { content: seal('message:x', newDataKey(), 'hello') } };
    const vault = createVault({ db: unreachable.db, cacheTtlMs: 1, cacheSize: 1, messageKeysAhead: 4 });
    await expect(vault.open([record])).rejects.toThrow(/ECONNREFUSED|connect/);
    // No key, no sealing: a send fails instead of writing plain text.
    await expect(vault.newMessage()).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});

for (const engine of await testEngines('vault_outage')) {
  describe.runIf(engine.available)(`message keys made ahead on ${engine.name}`, () => {
    it('keep sends going while the key store is unreachable, until they run out', async () => {
      const store = await engine.open();
      try {
        let failing = false;
        const errors: unknown[] = [];
        // The store as seen through a switch: a refill fails while it is off.
        const flaky = store.db.withPlugin({
          transformQuery: (args) => {
            if (failing) throw new Error('key store unreachable');
            return args.node;
          },
          transformResult: (args) => Promise.resolve(args.result),
        });
        const vault = createVault({
          db: flaky,
          cacheTtlMs: 60_000,
          cacheSize: 100,
          messageKeysAhead: 8,
          onKeyStoreError: (e) => errors.push(e),
        });
        await vault.newMessage(); // fills the pool
        await new Promise((resolve) => setTimeout(resolve, 50));
        failing = true;
        const sealedWhileDown: string[] = [];
        for (;;) {
          const next = await vault.newMessage().catch(() => null);
          if (next === null) break;
          sealedWhileDown.push(next.sealer.seal('still sending'));
        }
        expect(sealedWhileDown.length).toBeGreaterThanOrEqual(5);
        expect(errors.length).toBeGreaterThan(0);
        failing = false;
        // Back up: what was sealed during the outage opens, and sends go on.
        const opened = await createVault({ db: store.db, cacheTtlMs: 1, cacheSize: 1, messageKeysAhead: 1 }).open(
          sealedWhileDown.map((content) => ({ type: 'message_sent', data: { content } })),
        );
        expect(opened.every((r) => r.data.content === 'still sending')).toBe(true);
        await expect(vault.newMessage()).resolves.toHaveProperty('messageId');
      } finally {
        await engine.dispose();
      }
    });
  });
}

/** The store's db, counting the SELECTs sent through it. */
function countingSelects(store: Store) {
  let selects = 0;
  const db = store.db.withPlugin({
    transformQuery: (args) => {
      if (args.node.kind === 'SelectQueryNode') selects++;
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  });
  return { db, statements: () => selects };
}
