// Password policy and bcrypt hashing (OWASP ASVS 5.0 V6.2).
//
// bcrypt reads at most 72 bytes: a longer password would be silently truncated,
// so that "<72 bytes>x" and "<72 bytes>y" log in as each other. Rather than
// truncate or pre-hash, passwords longer than 72 UTF-8 bytes are refused (422),
// and verifyPassword never accepts one. 72 bytes is ≥ 64 characters for ASCII
// (ASVS 6.2.9); for 4-byte characters such as emoji it is 18.
//
// Passwords are hashed in Unicode NFC: "é" typed as one code point (U+00E9) on
// one keyboard and as "e" + U+0301 on another is one password. Hashes made
// before that still verify (password-check.ts tries the raw form once).

import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';
import { z } from 'zod';
import { codePoints } from '../commands/inputs.ts';

export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_BYTES = 72;

export const utf8Length = (value: string): number => Buffer.byteLength(value, 'utf8');

// Partial list: the most common passwords of the top-3000 lists (SecLists,
// NCSC 100k) that are at least 8 characters long; shorter ones are refused by
// length already. Compared case-insensitively. ASVS 6.2.4 asks for the top 3000;
// a fuller list or a breached-password check (6.2.12) can replace this.
export const COMMON_PASSWORDS: readonly string[] = [
  '12345678',
  '123456789',
  '1234567890',
  '12345678910',
  '123123123',
  '123456123',
  '1234512345',
  '123451234',
  '12341234',
  '11223344',
  '12121212',
  '12344321',
  '123321123',
  '87654321',
  '987654321',
  '0987654321',
  '147258369',
  '741852963',
  '789456123',
  '123654789',
  '159357456',
  '00000000',
  '11111111',
  '22222222',
  '55555555',
  '66666666',
  '77777777',
  '88888888',
  '99999999',
  '1111111111',
  '0000000000',
  '1q2w3e4r',
  '1q2w3e4r5t',
  '1q2w3e4r5t6y',
  '1qaz2wsx',
  '1qazxsw2',
  'zaq12wsx',
  'zaq1zaq1',
  'q1w2e3r4',
  'q1w2e3r4t5',
  'q1w2e3r4t5y6',
  '1a2b3c4d',
  'a1b2c3d4',
  'qwertyui',
  'qwertyuiop',
  'qwerty123',
  'qwerty1234',
  'qwerty12',
  'qwer1234',
  '1234qwer',
  'asdfghjk',
  'asdfghjkl',
  'asdf1234',
  'zxcvbnm1',
  'zxcvbnm123',
  'qazwsxedc',
  'qweasdzxc',
  'abcd1234',
  'abc12345',
  'abcdefgh',
  'aa123456',
  'a1234567',
  'a12345678',
  'password',
  'password1',
  'password12',
  'password123',
  'password!',
  'passw0rd',
  'p@ssw0rd',
  'p@ssword',
  'pass1234',
  'iloveyou',
  'iloveyou1',
  'iloveyou2',
  'sunshine',
  'princess',
  'football',
  'baseball',
  'superman',
  'starwars',
  'whatever',
  'trustno1',
  'welcome1',
  'welcome123',
  'letmein1',
  'letmein123',
  'computer',
  'internet',
  'jennifer',
  'michelle',
  'michael1',
  'jordan23',
  'mustang1',
  'charlie1',
  'dragon123',
  'monkey123',
  'shadow123',
  'master123',
  'admin123',
  'admin1234',
  'administrator',
  'changeme',
  'changeme1',
  'test1234',
  'testtest',
  'qwerty123456',
  '123456789a',
  '123456789q',
  'lovely123',
  'fuckyou1',
  'blink182',
  'liverpool',
  'chelsea1',
  'arsenal1',
  'butterfly',
  'chocolate',
  'elizabeth',
  'pokemon1',
];

const commonSet = new Set(COMMON_PASSWORDS.map((entry) => entry.toLowerCase()));

export const isCommonPassword = (plain: string): boolean => commonSet.has(plain.toLowerCase());

/** The new-password rule, for registration and password change (HTTP → 422). */
export const PASSWORD_LENGTH_MESSAGE =
  `password must be ${PASSWORD_MIN_CHARS}–${PASSWORD_MAX_BYTES} bytes: ` +
  `at least ${PASSWORD_MIN_CHARS} characters and at most ${PASSWORD_MAX_BYTES} bytes of UTF-8 (18 emoji)`;

/** The form a password is hashed in: NFC, so canonically equivalent spellings are one password. */
export const normalizePassword = (plain: string): string => plain.normalize('NFC');

export const passwordSchema = z
  .string()
  .overwrite(normalizePassword)
  .refine((value) => codePoints(value) >= PASSWORD_MIN_CHARS && utf8Length(value) <= PASSWORD_MAX_BYTES, {
    error: PASSWORD_LENGTH_MESSAGE,
    abort: true,
  })
  .refine((value) => !isCommonPassword(value), { error: 'password is too common; choose another' });

/** Hashes a password that passed passwordSchema, in NFC. Throws on one bcrypt would truncate. */
export async function hashPassword(plain: string, cost: number): Promise<string> {
  const normalized = normalizePassword(plain);
  if (utf8Length(normalized) > PASSWORD_MAX_BYTES) throw new RangeError(`password longer than ${PASSWORD_MAX_BYTES} bytes`);
  return bcrypt.hash(normalized, cost);
}

/** True only for the exact password: never for one bcrypt would truncate to a match. */
export async function verifyPassword(plain: string, hash: string): Promise<boolean> {
  if (typeof plain !== 'string' || typeof hash !== 'string') return false;
  if (utf8Length(plain) > PASSWORD_MAX_BYTES) return false;
  try {
    return await bcrypt.compare(plain, hash);
  } catch {
    return false;
  }
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const dummyHashes = new Map<number, string>();

/**
 * A well-formed bcrypt hash of nothing anyone knows, at `cost`. bcrypt's work
 * depends only on the cost, so comparing against it costs what a real check
 * does, and no hashing is needed to make it.
 */
function dummyHash(cost: number): string {
  let hash = dummyHashes.get(cost);
  if (hash === undefined) {
    const bytes = randomBytes(53);
    let tail = '';
    for (const byte of bytes) tail += BCRYPT_ALPHABET.charAt(byte & 63);
    hash = `$2b$${String(cost).padStart(2, '0')}$${tail}`;
    dummyHashes.set(cost, hash);
  }
  return hash;
}

/**
 * Spends the time of a real verification at `cost` and returns false. Call it
 * when the login names no user, so that "no such user" and "wrong password"
 * take the same time (ASVS 6.3.8).
 */
export async function dummyVerify(cost: number, plain = 'dummy-password'): Promise<false> {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new RangeError('bcrypt cost must be an integer 4–31');
  await bcrypt.compare(plain, dummyHash(cost)).catch(() => false);
  return false;
}

const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

/** The work factor of a bcrypt hash, or null when it is not one. */
export function bcryptCost(hash: string): number | null {
  const match = BCRYPT_HASH.exec(hash);
  return match ? Number(match[1]) : null;
}

/** True when the stored hash should be replaced after a successful login: cost below `cost`, or not bcrypt. */
export function needsRehash(hash: string, cost: number): boolean {
  const stored = bcryptCost(hash);
  return stored === null || stored < cost;
}
