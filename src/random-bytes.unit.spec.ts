// The pooled random bytes behind ids, data keys and IVs: every draw is new
// (no byte handed out twice across the pool's refills), random-looking, the
// size asked for, and a buffer of its own.

import { describe, expect, it } from 'vitest';
import { randomBytes } from './random-bytes.ts';

const ones = (bytes: Buffer) => bytes.reduce((count, byte) => count + byte.toString(2).replaceAll('0', '').length, 0);

describe('randomBytes', () => {
  it('gives the size asked for, from none to more than a pool holds', () => {
    for (const size of [0, 1, 12, 16, 32, 4096, 5000]) expect(randomBytes(size)).toHaveLength(size);
  });

  it('never hands the same bytes out twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) seen.add(randomBytes(16).toString('hex'));
    for (let i = 0; i < 2000; i++) seen.add(randomBytes(32).toString('hex'));
    expect(seen.size).toBe(7000);
  });

  it('gives random bytes: half the bits set, whatever the draw sizes', () => {
    // 2 × 262,144 bits: a fair source lands within ±1 % of half (that is ~16
    // standard deviations); zeroed or repeated bytes land far outside.
    for (const size of [12, 32]) {
      const drawn = Buffer.concat(Array.from({ length: Math.ceil(32_768 / size) }, () => randomBytes(size)));
      expect(ones(drawn) / (drawn.length * 8)).toBeGreaterThan(0.49);
      expect(ones(drawn) / (drawn.length * 8)).toBeLessThan(0.51);
    }
  });

  it('gives each caller memory of its own: a kept key does not change with later draws', () => {
    const key = randomBytes(32);
    const copy = Buffer.from(key);
    expect(key.buffer.byteLength).toBe(32);
    for (let i = 0; i < 1000; i++) randomBytes(32).fill(0);
    expect(key.equals(copy)).toBe(true);
  });

  it('refuses a size that is not a whole number of bytes', () => {
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});
