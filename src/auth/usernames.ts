// The username rule (API.md "Auth"): what a name is after folding, and which
// names nobody may register.
//
// A name is folded first — Unicode NFKC, then lower case — so that `ＡＬＩＣＥ`
// (fullwidth) and `Alice` are `alice`, and then must be 3–32 characters of
// a–z, 0–9, `_` and `.`. The allowed set being ASCII only after folding,
// confusables across scripts (Cyrillic `а` for Latin `a`, …) are refused by
// construction rather than by a table of look-alikes.

import { z } from 'zod';

/** NFKC then lower case, so `ＡＬＩＣＥ` and `alice` are one name. */
export const normalizeUsername = (value: string): string => value.normalize('NFKC').toLowerCase();

/**
 * Names that would pass for the service, its staff, or a word clients give a
 * meaning to (`@everyone`, `me`, `null`): nobody registers them. Compared after
 * folding. Some are shorter than the rule allows already; they are listed so
 * that the list says what is meant, whatever the length rule becomes.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'root',
  'support',
  'system',
  'parley',
  'moderator',
  'mod',
  'staff',
  'security',
  'help',
  'api',
  'www',
  'null',
  'undefined',
  'everyone',
  'here',
  'me',
]);

export const USERNAME_RULE = 'must be 3–32 characters of a–z, 0–9, _ and .';

/** A new username: folded, then checked against the rule and the reserved names (400 validation_failed). */
export const usernameSchema = z
  .string()
  .max(256)
  .transform(normalizeUsername)
  .pipe(
    z
      .string()
      .regex(/^[a-z0-9_.]{3,32}$/, USERNAME_RULE)
      .refine((name) => !RESERVED_USERNAMES.has(name), { error: 'is reserved' }),
  );
