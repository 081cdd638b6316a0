import { describe, expect, it } from 'vitest';
import {
  bcryptCost,
  COMMON_PASSWORDS,
  dummyVerify,
  hashPassword,
  needsRehash,
  PASSWORD_LENGTH_MESSAGE,
  passwordSchema,
  utf8Length,
  verifyPassword,
} from './passwords.ts';

// Cost 4 keeps the suite fast; production uses PARLEY_BCRYPT_COST (12).
const COST = 4;
const EMOJI = '😀'; // 4 bytes of UTF-8, 2 UTF-16 units, 1 character

const problems = (password: unknown): string[] => {
  const result = passwordSchema.safeParse(password);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe('E4: password policy (passwordSchema)', () => {
  it('rejects 7 characters and accepts 8', () => {
    expect(problems('Zq7!wx2')).toEqual([PASSWORD_LENGTH_MESSAGE]);
    expect(problems('Zq7!wx2k')).toEqual([]);
  });

  it('says the limit in its message', () => {
    expect(PASSWORD_LENGTH_MESSAGE).toMatch(/^password must be 8–72 bytes/);
  });

  it('accepts 15, 64 and 72 ASCII characters, spaces and no composition rules', () => {
    expect(problems('correct horse b')).toEqual([]);
    expect(problems('a'.repeat(63) + 'b')).toEqual([]);
    expect(problems('x'.repeat(72))).toEqual([]);
    expect(problems('all lower case words only')).toEqual([]);
  });

  it('rejects 73 bytes of ASCII', () => {
    expect(problems('x'.repeat(73))).toEqual([PASSWORD_LENGTH_MESSAGE]);
  });

  it('rejects 25 emoji (100 bytes) and accepts 18 (72 bytes)', () => {
    expect(utf8Length(EMOJI.repeat(25))).toBe(100);
    expect(problems(EMOJI.repeat(25))).toEqual([PASSWORD_LENGTH_MESSAGE]);
    expect(problems(EMOJI.repeat(18))).toEqual([]);
  });

  it('counts characters, not bytes or UTF-16 units, for the minimum', () => {
    // 4 emoji: 16 bytes, 8 UTF-16 units, but 4 characters.
    expect(problems(EMOJI.repeat(4))).toEqual([PASSWORD_LENGTH_MESSAGE]);
    expect(problems('pässwörd-ü')).toEqual([]);
  });

  it('rejects common passwords, case-insensitively', () => {
    expect(problems('password123')).toEqual(['password is too common; choose another']);
    expect(problems('Password1')).toEqual(['password is too common; choose another']);
    expect(problems('QWERTYUIOP')).toEqual(['password is too common; choose another']);
    expect(COMMON_PASSWORDS.length).toBeGreaterThanOrEqual(100);
  });

  it('rejects a non-string', () => {
    expect(problems(12345678)).not.toEqual([]);
    expect(problems(undefined)).not.toEqual([]);
  });
});

describe('hashing and verification', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('tr0ub4dor&3x', COST);
    expect(hash).toMatch(/^\$2b\$04\$/);
    expect(await verifyPassword('tr0ub4dor&3x', hash)).toBe(true);
    expect(await verifyPassword('tr0ub4dor&3X', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('E5: no password other than the exact one authenticates around the 72-byte limit', async () => {
    const exact = 'k'.repeat(72);
    const hash = await hashPassword(exact, COST);
    expect(await verifyPassword(exact, hash)).toBe(true);
    expect(await verifyPassword(`${exact}x`, hash)).toBe(false); // bcrypt alone would say true
    expect(await verifyPassword(exact.slice(0, 71), hash)).toBe(false);

    const emoji = EMOJI.repeat(18);
    const emojiHash = await hashPassword(emoji, COST);
    expect(await verifyPassword(emoji, emojiHash)).toBe(true);
    expect(await verifyPassword(EMOJI.repeat(25), emojiHash)).toBe(false);
  });

  it('refuses to hash a password bcrypt would truncate', async () => {
    await expect(hashPassword('x'.repeat(73), COST)).rejects.toThrow(RangeError);
    await expect(hashPassword(EMOJI.repeat(25), COST)).rejects.toThrow(RangeError);
  });

  it('treats a NUL byte as part of the password', async () => {
    const hash = await hashPassword('abcdefgh\u0000one', COST);
    expect(await verifyPassword('abcdefgh\u0000two', hash)).toBe(false);
    expect(await verifyPassword('abcdefgh', hash)).toBe(false);
  });

  it('returns false, not an error, for a malformed stored hash', async () => {
    expect(await verifyPassword('whatever-password', 'not-a-hash')).toBe(false);
    expect(await verifyPassword('whatever-password', '')).toBe(false);
  });

  it('dummyVerify does a full comparison and returns false', async () => {
    await expect(dummyVerify(COST)).resolves.toBe(false);
    await expect(dummyVerify(COST, 'some-login-attempt')).resolves.toBe(false);
    await expect(dummyVerify(3)).rejects.toThrow(RangeError);
  });
});

describe('E6: cost and rehash', () => {
  it('reads the cost of a hash', async () => {
    expect(bcryptCost(await hashPassword('tr0ub4dor&3x', 5))).toBe(5);
    expect(bcryptCost('$2a$10$' + 'a'.repeat(53))).toBe(10);
    expect(bcryptCost('plain')).toBeNull();
  });

  it('needsRehash when the stored cost is below the configured one, or the hash is not bcrypt', async () => {
    const hash = await hashPassword('tr0ub4dor&3x', COST);
    expect(needsRehash(hash, 12)).toBe(true);
    expect(needsRehash(hash, COST)).toBe(false);
    expect(needsRehash(hash, COST - 1)).toBe(false);
    expect(needsRehash('sha1:deadbeef', COST)).toBe(true);
  });
});
