import { describe, expect, it } from 'vitest';
import {
  forEachSealed,
  isSealed,
  mapSealed,
  newDataKey,
  open,
  parseSealed,
  seal,
  SealBroken,
  unsealedFields,
} from './sealing.ts';

const key = newDataKey();

describe('sealing', () => {
  it('round-trips any text, and the sealed form holds none of it', () => {
    const long = 'the quick brown fox jumps over the lazy dog '.repeat(200);
    for (const text of ['', 'hello', '😀 مرحبا 漢字', long]) {
      const sealed = seal('message:m1', key, text);
      expect(isSealed(sealed)).toBe(true);
      // Long enough that base64 could not hold it by chance.
      if (text.length > 4) expect(sealed).not.toContain(text.slice(0, 16));
      expect(open(parseSealed(sealed)!, key)).toBe(text);
    }
  });

  it('seals the same text differently each time (a fresh IV), so equal messages do not show', () => {
    expect(seal('message:m1', key, 'same')).not.toBe(seal('message:m1', key, 'same'));
  });

  it('refuses to open with another key, under another key id, or once altered', () => {
    const sealed = parseSealed(seal('message:m1', key, 'secret'))!;
    expect(() => open(sealed, newDataKey())).toThrow(SealBroken);
    expect(() => open({ ...sealed, keyId: 'message:m2' }, key)).toThrow(SealBroken);
    const altered = Buffer.from(sealed.box);
    altered[14] = altered[14]! ^ 1;
    expect(() => open({ ...sealed, box: altered }, key)).toThrow(SealBroken);
    expect(() => open({ ...sealed, box: sealed.box.subarray(0, 10) }, key)).toThrow(SealBroken);
  });

  it('tells sealed values from text: only a value starting with U+0000 and the marker is sealed', () => {
    expect(isSealed('sealed:v1:message:m1:AAAA')).toBe(false);
    expect(isSealed(null)).toBe(false);
    expect(parseSealed('plain')).toBeUndefined();
    expect(parseSealed(seal('user:u:with:colons', key, 'x'))!.keyId).toBe('user:u:with:colons');
  });

  it('finds and replaces sealed values anywhere in data, sharing what holds none', () => {
    const a = seal('message:a', key, 'a');
    const data = { content: a, attachments: [{ url: a, name: null }], n: 1, nested: { plain: 'p' } };
    const seen: string[] = [];
    forEachSealed(data, (value) => seen.push(value));
    expect(seen).toEqual([a, a]);
    const mapped = mapSealed(data, () => 'X');
    expect(mapped).toEqual({ content: 'X', attachments: [{ url: 'X', name: null }], n: 1, nested: { plain: 'p' } });
    expect(mapped.nested).toBe(data.nested);
  });

  it('names the personal fields that hold plain text', () => {
    const paths = [['content'], ['attachments', '*', 'url'], ['attachments', '*', 'name']];
    const sealed = seal('message:a', key, 'a');
    expect(unsealedFields({ content: sealed, attachments: [{ url: sealed, name: null }] }, paths)).toEqual([]);
    expect(unsealedFields({ content: 'hi', attachments: [{ url: sealed, name: 'a.png' }] }, paths)).toEqual([
      'content',
      'attachments.*.name',
    ]);
  });
});
