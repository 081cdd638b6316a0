// A password checked against a user's stored hash, and the hash kept current:
// on a successful check a hash made at a lower bcrypt cost than
// PARLEY_BCRYPT_COST is replaced by one at that cost (ASVS 6.2.x, item 13 of
// issue 11), so raising the cost upgrades every account at its next login
// without anyone resetting a password. Only a successful check knows the
// password, so only then can the hash be remade.
//
// Passwords are hashed in NFC (passwords.ts). A hash made before that may hold
// another form: the NFC form is tried first, then the raw form once, and a
// match of the raw form is re-hashed in NFC, after which every canonically
// equivalent spelling logs in.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { updatePasswordHash } from './credentials.ts';
import { dummyVerify, hashPassword, needsRehash, normalizePassword, PASSWORD_MAX_BYTES, verifyPassword } from './passwords.ts';

/**
 * True when `plain` is the password of the user whose stored hash is `hash`;
 * re-hashes (in NFC, at `cost`) a hash weaker than `cost` or made from a non-NFC form.
 */
export async function checkStoredPassword(
  db: Kysely<Database>,
  user: { id: string; password_hash: string },
  plain: string,
  cost: number,
): Promise<boolean> {
  const normalized = normalizePassword(plain);
  let rawMatched = false;
  if (!(await verifyPassword(normalized, user.password_hash))) {
    if (normalized === plain || !(await verifyPassword(plain, user.password_hash))) return false;
    rawMatched = true;
  }
  // NFC can be longer than the form typed (U+0958 becomes two code points):
  // past bcrypt's 72 bytes there is no NFC hash to make, and the old one stays.
  const rehashable = Buffer.byteLength(normalized) <= PASSWORD_MAX_BYTES;
  if (rehashable && (rawMatched || needsRehash(user.password_hash, cost))) {
    await updatePasswordHash(db, user.id, await hashPassword(plain, cost), Date.now());
  }
  return true;
}

/**
 * Spends what a failed checkStoredPassword of `plain` spends, for a login that
 * names no user: one bcrypt comparison, or two when `plain` is not in NFC (a
 * wrong password is then tried in both forms). "No such account" and "wrong
 * password" must take the same time, or the time tells who has an account.
 */
export async function spendFailedCheck(plain: string, cost: number): Promise<false> {
  await dummyVerify(cost);
  if (normalizePassword(plain) !== plain) await dummyVerify(cost);
  return false;
}
