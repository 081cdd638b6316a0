// The reads every room request starts with — is this user a member, what are
// the room's details — answered through the read cache (infra/read-cache.ts):
// on Redis with several instances, from the database without one. Details
// depend on their room, membership only on its joins and leaves
// (projections/chat-cache-deps.ts names what voids which);
// its key carries the read model's version, so a server that moves to a
// rebuilt version (projections/live-versions.ts) starts its answers afresh.

import type { Kysely } from 'kysely';
import { everyAnswer, noReadCache, type ReadCache } from '../infra/read-cache.ts';
import { membersDependency, roomDependency } from '../projections/chat-cache-deps.ts';
import type { Database } from '../store/schema.ts';
import { isMember, loadRoomDetail, roomDetailAsOf, type RoomDetail } from './rooms-queries.ts';

export interface RoomReads {
  isMember(roomId: string, userId: string): Promise<boolean>;
  /** The room with its members, or undefined when it does not exist or `userId` is not in it. */
  roomForMember(roomId: string, userId: string): Promise<RoomDetail | undefined>;
}

export function roomReads(
  db: Kysely<Database>,
  cache: ReadCache = noReadCache,
  /** The chat model's version the reads go to. */
  version: () => number = () => 1,
): RoomReads {
  return {
    isMember(roomId, userId) {
      const deps = [everyAnswer, membersDependency(roomId)];
      return cache.read(`v${version()}:member:${roomId}:${userId}`, deps, () => isMember(db, roomId, userId));
    },
    async roomForMember(roomId, userId) {
      const deps = [everyAnswer, roomDependency(roomId)];
      const stored = await cache.read(`v${version()}:room:${roomId}`, deps, () => loadRoomDetail(db, roomId));
      if (stored === null || !stored.members.some((member) => member.user_id === userId)) return undefined;
      return roomDetailAsOf(stored, Date.now());
    },
  };
}
