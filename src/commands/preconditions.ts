// Checks a command's intake makes on the read model before it sends the
// command: what the client names must exist for it. (The deciders check the
// rules; these only turn a reference to nothing into a clear rejection.)

import type { Kysely } from 'kysely';
import { Rejection } from '../domain/decider.ts';
import { existingUserIds } from '../queries/users-queries.ts';
import type { Database } from '../store/schema.ts';

/** Rejects with `user_not_found` (listing them) when any of `ids` is not a registered user. */
export async function requireUsers(db: Kysely<Database>, ids: string[]): Promise<void> {
  const known = await existingUserIds(db, ids);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new Rejection('user_not_found', 'unknown user', { user_ids: unknown });
}
