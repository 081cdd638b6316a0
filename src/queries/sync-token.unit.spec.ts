import { describe, expect, test } from 'vitest';
import { decodeSyncToken, encodeSyncToken } from './sync-token.ts';

describe('sync tokens', () => {
  test('a token gives back the position it was made from', () => {
    expect(decodeSyncToken(encodeSyncToken([0, 17, 4_000_000_000]), 3)).toEqual([0, 17, 4_000_000_000]);
  });

  test('garbage, another partition count, negative or fractional offsets are no token', () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(decodeSyncToken('not-a-token', 3)).toBeNull();
    expect(decodeSyncToken(encodeSyncToken([1, 2]), 3)).toBeNull();
    expect(decodeSyncToken(b64({ v: 1, o: [1, -2, 3] }), 3)).toBeNull();
    expect(decodeSyncToken(b64({ v: 1, o: [1, 2.5, 3] }), 3)).toBeNull();
    expect(decodeSyncToken(b64({ v: 2, o: [1, 2, 3] }), 3)).toBeNull();
    expect(decodeSyncToken(b64([1, 2, 3]), 3)).toBeNull();
  });
});
