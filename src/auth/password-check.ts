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
import { hashPassword, needsRehash, normalizePassword, verifyPassword } from './passwords.ts';

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
  if (rawMatched || needsRehash(user.password_hash, cost)) {
    await updatePasswordHash(db, user.id, await hashPassword(plain, cost), Date.now());
  }
  return true;
}
