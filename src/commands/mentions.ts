// `@username` mentions: which members of the room a message names. Resolved
// at intake (a read of who the names are), carried on the event as user ids.
// `@room` from an owner or admin names every member (Slack's @channel), `@here`
// the members online at that moment (presence, read at intake); from anyone
// else they are only names (a member called "room" or "here", if there is one).

import type { Kysely } from 'kysely';
import { roleInRoom, roomMemberIds } from '../queries/rooms-queries.ts';
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

/** Roles whose `@room` and `@here` name the members. */
const announcers: readonly string[] = ['owner', 'admin'];

export async function mentionedMembers(
  db: Kysely<Database>,
  roomId: string,
  content: string,
  senderId: string,
  online?: (userIds: string[]) => Promise<Set<string>>,
): Promise<string[]> {
  const names = mentionedUsernames(content);
  if (names.length === 0) return [];
  const announces = (names.includes('room') || names.includes('here')) && (await mayAnnounce(db, roomId, senderId));
  if (announces && names.includes('room')) return (await roomMemberIds(db, roomId)).sort();
  const rows = await db
    .selectFrom('users as u')
    .innerJoin('room_members as m', 'm.user_id', 'u.id')
    .select('u.id')
    .where('m.room_id', '=', roomId)
    .where('u.username', 'in', names)
    .execute();
  const ids = new Set(rows.map((row) => row.id));
  if (announces && online !== undefined) {
    for (const id of await online(await roomMemberIds(db, roomId))) ids.add(id);
  }
  return [...ids].sort();
}

async function mayAnnounce(db: Kysely<Database>, roomId: string, userId: string): Promise<boolean> {
  const role = await roleInRoom(db, roomId, userId);
  return role !== undefined && announcers.includes(role);
}
