// The gathering of key reads on a key store kept in a Map, whose reads
// answer when the test lets them: what each caller gets, and how many reads
// the store saw with which ids.

import { describe, expect, it } from 'vitest';
import { gatherKeyReads } from './key-reads.ts';
import type { KeySecret } from './key-store.ts';

function slowStore() {
  const keys = new Map<string, KeySecret>();
  const reads: { ids: string[]; answer: () => void; fail: (error: Error) => void }[] = [];
  const fetchKeys = (ids: readonly string[]) =>
    new Promise<Map<string, KeySecret>>((resolve, reject) => {
      reads.push({
        ids: [...ids],
        // The store answers as of the moment the read began.
        answer: (
          (known) => () =>
            resolve(known)
        )(new Map(ids.filter((id) => keys.has(id)).map((id) => [id, keys.get(id)!]))),
        fail: reject,
      });
    });
  return { keys, reads, fetchKeys };
}

const secret = (text: string) => Buffer.from(text);
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('gathered key reads', () => {
  it('a read alone goes at once and answers only what the store knows', async () => {
    const store = slowStore();
    store.keys.set('a', secret('A'));
    store.keys.set('gone', null);
    const reads = gatherKeyReads(store.fetchKeys);
    const answer = reads.read(['a', 'gone', 'unknown']);
    expect(store.reads.map((read) => read.ids)).toEqual([['a', 'gone', 'unknown']]);
    store.reads[0]!.answer();
    expect(await answer).toEqual(
      new Map<string, KeySecret>([
        ['a', secret('A')],
        ['gone', null],
      ]),
    );
  });

  it('reads asked while one is on its way go together in one read after it, each answered its own', async () => {
    const store = slowStore();
    for (const id of ['a', 'b', 'c', 'd']) store.keys.set(id, secret(id.toUpperCase()));
    const reads = gatherKeyReads(store.fetchKeys);
    const first = reads.read(['a']);
    const second = reads.read(['b', 'c']);
    const third = reads.read(['c', 'd']);
    await settle();
    expect(store.reads).toHaveLength(1);
    store.reads[0]!.answer();
    expect(await first).toEqual(new Map([['a', secret('A')]]));
    await settle();
    expect(store.reads.map((read) => read.ids)).toEqual([['a'], ['b', 'c', 'd']]);
    store.reads[1]!.answer();
    expect(await second).toEqual(
      new Map([
        ['b', secret('B')],
        ['c', secret('C')],
      ]),
    );
    expect(await third).toEqual(
      new Map([
        ['c', secret('C')],
        ['d', secret('D')],
      ]),
    );
    // Nothing in flight any more: the next read goes at once.
    void reads.read(['a']);
    expect(store.reads).toHaveLength(3);
  });

  it('a key stored after a read began is found by a caller who asks for it after that: never answered by the older read', async () => {
    const store = slowStore();
    const reads = gatherKeyReads(store.fetchKeys);
    const early = reads.read(['k']);
    store.keys.set('k', secret('K'));
    const late = reads.read(['k']);
    store.reads[0]!.answer();
    expect(await early).toEqual(new Map());
    await settle();
    store.reads[1]!.answer();
    expect(await late).toEqual(new Map([['k', secret('K')]]));
  });

  it('a failed read fails its callers only; the gathered read behind it still goes', async () => {
    const store = slowStore();
    store.keys.set('b', secret('B'));
    const reads = gatherKeyReads(store.fetchKeys);
    const failing = reads.read(['a']);
    const gathered = reads.read(['b']);
    store.reads[0]!.fail(new Error('connection lost'));
    await expect(failing).rejects.toThrow('connection lost');
    await settle();
    expect(store.reads.map((read) => read.ids)).toEqual([['a'], ['b']]);
    store.reads[1]!.answer();
    expect(await gathered).toEqual(new Map([['b', secret('B')]]));
  });
});
