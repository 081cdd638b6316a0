// Who may see a user's presence (online, last seen): the one rule behind both
// the PRESENCE frames the gateway pushes and the `status` REST shows. A user's
// presence is theirs, their friends' and the users' they share a room with —
// unless a block stands between the two, either way. Anyone else sees none.

import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { roomPeerIds, shareARoom } from './rooms-queries.ts';
import { areFriends, blockPeersOf, blockedBetween, friendIdsOf } from './social-queries.ts';

/** Everyone but `userId` who may see their presence: whom a PRESENCE frame about them goes to. */
export async function presenceAudienceOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const [friends, peers, blocked] = await Promise.all([
    friendIdsOf(db, userId),
    roomPeerIds(db, userId),
    blockPeersOf(db, userId),
  ]);
  return [...new Set([...friends, ...peers])].filter((id) => !blocked.has(id));
}

/** Whether `viewerId` may see `userId`'s presence: the same rule for one pair, without listing an audience. */
export async function maySeePresence(db: Kysely<Database>, viewerId: string, userId: string): Promise<boolean> {
  if (viewerId === userId) return true;
  const [friends, peers, blocked] = await Promise.all([
    areFriends(db, viewerId, userId),
    shareARoom(db, viewerId, userId),
    blockedBetween(db, viewerId, userId),
  ]);
  return (friends || peers) && !blocked;
}
