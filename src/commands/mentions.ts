// `@username` mentions: which members of the room a message names. Resolved
// at intake (a read of who the names are), carried on the event as user ids.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';

const mention = /(?:^|[^\p{L}\p{N}_.@])@([a-z0-9_.]{3,32})/giu;
/** More names than this in one message are not looked up (no query amplification). */
const maxMentions = 50;

export function mentionedUsernames(content: string): string[] {
  const names = new Set<string>();
  for (const match of content.normalize('NFKC').matchAll(mention)) {
    names.add(match[1]!.toLowerCase().replace(/\.+$/, ''));
    if (names.size >= maxMentions) break;
  }
  return [...names].filter((name) => name.length >= 3);
}

export async function mentionedMembers(db: Kysely<Database>, roomId: string, content: string): Promise<string[]> {
  const names = mentionedUsernames(content);
  if (names.length === 0) return [];
  const rows = await db
    .selectFrom('users as u')
    .innerJoin('room_members as m', 'm.user_id', 'u.id')
    .select('u.id')
    .where('m.room_id', '=', roomId)
    .where('u.username', 'in', names)
    .execute();
  return rows.map((row) => row.id).sort();
}
