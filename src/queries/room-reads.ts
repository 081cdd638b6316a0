// The reads every room request starts with — is this user a member, what are
// the room's details, which rooms is a user in and how do they list — answered
// through the read cache (infra/read-cache.ts): on Redis with several
// instances, from the database without one. Details depend on their room,
// membership only on its joins and leaves, a user's rooms on their own joins
// and leaves (projections/chat-cache-deps.ts names what voids which); keys
// carry the read model's version, so a server that moves to a rebuilt
// version (projections/live-versions.ts) starts its answers afresh.
//
// A room list depends on every room in it — their last messages, the user's
// read marks and mentions there — so it is read in two steps: the user's
// room ids (cached), then the list stamped with each of those rooms and keyed
// by their set. A list whose load found other rooms than the ids it was
// stamped with (a join or leave committed in between) answers that request
// and is not kept.

import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { everyAnswer, noReadCache, type ReadCache } from '../infra/read-cache.ts';
import { membersDependency, roomDependency, roomsOfDependency } from '../projections/chat-cache-deps.ts';
import type { Database } from '../store/schema.ts';
import {
  isMember,
  listMyRooms,
  loadRoomDetail,
  loadRoomList,
  roomDetailAsOf,
  roomIdsOf,
  roomListAsOf,
  roomMemberIds,
  type RoomDetail,
  type RoomSummary,
} from './rooms-queries.ts';

export interface RoomReads {
  isMember(roomId: string, userId: string): Promise<boolean>;
  /** The room with its members, or undefined when it does not exist or `userId` is not in it. */
  roomForMember(roomId: string, userId: string): Promise<RoomDetail | undefined>;
  /** Who is in the room (none: no such room). */
  memberIdsOf(roomId: string): Promise<string[]>;
  /** The ids of the rooms `userId` is in, in no particular order. */
  roomIdsOf(userId: string): Promise<string[]>;
  /** `userId`'s rooms as GET /rooms lists them, the most recently active first. */
  roomListOf(userId: string): Promise<RoomSummary[]>;
}

/** A short name for a set of room ids, whatever their order. */
const setKey = (ids: readonly string[]): string =>
  createHash('sha256')
    .update([...ids].sort().join(','))
    .digest('base64url')
    .slice(0, 22);

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  if (a.length !== b.length) return false;
  const members = new Set(a);
  return b.every((id) => members.has(id));
};

export function roomReads(
  db: Kysely<Database>,
  cache: ReadCache = noReadCache,
  /** The chat model's version the reads go to. */
  version: () => number = () => 1,
): RoomReads {
  const roomIds = (userId: string) =>
    cache.read(`v${version()}:rooms-of:${userId}`, [everyAnswer, roomsOfDependency(userId)], () => roomIdsOf(db, userId));
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
    memberIdsOf(roomId) {
      const deps = [everyAnswer, membersDependency(roomId)];
      return cache.read(`v${version()}:members:${roomId}`, deps, () => roomMemberIds(db, roomId));
    },
    roomIdsOf: roomIds,
    async roomListOf(userId) {
      // Without a cache the two steps would be two queries for one.
      if (cache === noReadCache) return listMyRooms(db, userId);
      const ids = await roomIds(userId);
      const deps = [everyAnswer, roomsOfDependency(userId), ...ids.map(roomDependency)];
      const stored = await cache.read(
        `v${version()}:room-list:${userId}:${setKey(ids)}`,
        deps,
        () => loadRoomList(db, userId),
        (list) =>
          sameSet(
            ids,
            list.map((room) => room.id),
          ),
      );
      return roomListAsOf(stored, Date.now());
    },
  };
}
