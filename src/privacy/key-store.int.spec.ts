// A data key exists nowhere but the key store, while the log — synced at
// every commit — holds what was sealed under it. The embedded read-model file
// runs at synchronous = NORMAL (a projection replays what a power cut took),
// which would let a cut lose a key whose message the log still has: that
// message could never be read again. So the key store's writes commit at
// FULL, and the file goes back to NORMAL after. Checked on a real SQLite file
// by reading the connection's setting as each statement is about to run.
// And reads ahead: a reader lacking a message's key reads the keys of the
// messages after it in the same statement, on both engines.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL, NORMAL, openRecordedSqlite, type RecordedSqlite } from '../store/testing/synchronous-recorder.ts';
import { destroyKeys, fetchKeysAhead, messageKeyId, storeKeys, userKeyId } from './key-store.ts';
import { createMessageKeyPool } from './message-keys.ts';
import { newDataKey } from './sealing.ts';
import { newId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';

describe('the key store on SQLite', () => {
  let file: RecordedSqlite;
  beforeAll(async () => {
    file = await openRecordedSqlite();
  });
  afterAll(async () => {
    await file.db.destroy();
  });

  it('stores keys at synchronous FULL, and the file is back at NORMAL after', async () => {
    expect(file.synchronous()).toBe(NORMAL);
    file.clear();
    await storeKeys(file.db, [{ id: 'message:a', secret: newDataKey() }], 1);
    expect(file.writesOf('data_keys')).toEqual([FULL]);
    expect(file.synchronous()).toBe(NORMAL);
    expect(await file.db.selectFrom('data_keys').select('id').where('id', '=', 'message:a').execute()).toHaveLength(1);
  });

  it('a statement issued while keys are stored runs after them, at NORMAL', async () => {
    file.clear();
    const storing = storeKeys(file.db, [{ id: 'message:b', secret: newDataKey() }], 1);
    const other = file.db
      .insertInto('projection_offsets')
      .values({ projection: 't', topic: 't', partition: 0, next_offset: 1 })
      .execute();
    await Promise.all([storing, other]);
    expect(file.writesOf('data_keys')).toEqual([FULL]);
    expect(file.writesOf('projection_offsets')).toEqual([NORMAL]);
  });

  it("a message key pool's keys are stored at FULL before one is handed out", async () => {
    file.clear();
    const pool = createMessageKeyPool({ db: file.db, size: 8, onRefillError: (error) => expect.fail(String(error)) });
    const key = await pool.take();
    expect(file.writesOf('data_keys')).toEqual([FULL]);
    expect(await file.db.selectFrom('data_keys').select('id').where('id', '=', key.keyId).execute()).toHaveLength(1);
    await pool.stop();
    expect(file.synchronous()).toBe(NORMAL);
  });
});

for (const engine of await testEngines('key_reads_ahead')) {
  describe.runIf(engine.available)(`message keys read ahead on ${engine.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await engine.open();
    });
    afterAll(() => engine.dispose());

    it('a key read brings the keys of the messages minted after it, and nothing of another kind', async () => {
      // Minted in order, as a process mints its pool; another kind of key between and after.
      const messages = Array.from({ length: 10 }, () => messageKeyId(newId()));
      const user = userKeyId(newId());
      await storeKeys(
        store.db,
        [...messages, user, 'index:email'].map((id) => ({ id, secret: newDataKey() })),
        1,
      );
      await destroyKeys(store.db, [messages[4]!], 2);
      const found = await fetchKeysAhead(store.db, [messages[2]!], 5);
      expect([...found.keys()]).toEqual(messages.slice(2, 7));
      expect(found.get(messages[4]!)).toBeNull();
      expect(found.get(messages[2]!)).toHaveLength(32);
    });

    it('answers every id asked for, whatever the range reached: other kinds, keys beyond it, ids the store lacks', async () => {
      const messages = Array.from({ length: 6 }, () => messageKeyId(newId()));
      const user = userKeyId(newId());
      await storeKeys(
        store.db,
        [...messages, user].map((id) => ({ id, secret: newDataKey() })),
        1,
      );
      const unknown = messageKeyId(newId());
      const asked = [messages[5]!, user, messages[1]!, unknown];
      const found = await fetchKeysAhead(store.db, asked, 2);
      expect(new Set(found.keys())).toEqual(new Set([messages[1]!, messages[2]!, messages[5]!, user]));
      expect(found.has(unknown)).toBe(false);
      // None ahead: exactly what was asked for.
      expect(new Set((await fetchKeysAhead(store.db, asked, 0)).keys())).toEqual(new Set([messages[1]!, messages[5]!, user]));
    });
  });
}
