// What `parley replay --with-personal-data` prints of a record whose sealed
// value was altered in the log: the record, marked `seal_broken`, its sealed
// values as BROKEN — and the records around it opened as usual, so one bad
// record does not end an operator's replay. Over the real key store (SQLite).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayLine } from '../log/replay.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { BROKEN, openPersonalData } from './replay-view.ts';
import { alteredSeal } from './testing/altered-seal.ts';
import { testVault } from './testing/test-vault.ts';
import type { PersonalDataVault } from './vault.ts';

const [sqlite] = await testEngines('replay_view');

describe('replay with personal data', () => {
  let store: Store;
  let vault: PersonalDataVault;
  beforeAll(async () => {
    store = await sqlite!.open();
    vault = testVault(store.db);
  });
  afterAll(async () => {
    await vault.stop();
    await sqlite!.dispose();
  });

  const line = (offset: number, content: string, attachment: string): ReplayLine => ({
    topic: 'parley.events',
    partition: 0,
    offset,
    timestamp: 1,
    key: 'room:r',
    type: 'message_sent',
    headers: {},
    data: { content, attachments: [{ url: attachment }] },
  });

  it('marks a record whose value does not open, and opens the ones around it', async () => {
    const { sealer } = await vault.newMessage();
    const sealed = sealer.seal('hello');
    const altered = alteredSeal(sealed);
    const url = sealer.seal('https://files.example/a.png');
    const lines = await openPersonalData(testVault(store.db), [
      line(0, sealed, url),
      line(1, altered, url),
      line(2, sealed, url),
    ]);
    expect(lines.map((l) => l.data)).toEqual([
      { content: 'hello', attachments: [{ url: 'https://files.example/a.png' }] },
      { content: BROKEN, attachments: [{ url: BROKEN }] },
      { content: 'hello', attachments: [{ url: 'https://files.example/a.png' }] },
    ]);
    expect(lines.map((l) => (l as { seal_broken?: true }).seal_broken)).toEqual([undefined, true, undefined]);
  });
});
