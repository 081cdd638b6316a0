// Who is in each room that a locally connected user belongs to. The gateway
// needs it to route an event to the right sockets without a query per event.
//
// A room's members are loaded from the read model once the read model has
// caught up with what this gateway has already consumed of the room's
// partition; membership events that arrive while the load runs are replayed on
// top of it. Re-applying a suffix of add/remove events in order yields the
// same set, so the result equals the log's truth from then on.

import type { Logger } from 'pino';
import type { RoomReads } from '../queries/room-reads.ts';

type MembershipChange = { kind: 'join' | 'leave'; userId: string };

interface TrackedRoom {
  members: Set<string>;
  /** Changes seen while the initial load is in flight. */
  pending: MembershipChange[] | null;
  /** Deliveries waiting for the load, run in arrival order once it is done. */
  waiting: ((members: ReadonlySet<string>) => void)[];
  ready: Promise<void>;
}

export interface Membership {
  /**
   * Calls `use` with the room's members: now, or right after the in-flight
   * load, keeping arrival order. Rooms not tracked here have no local member.
   */
  withMembers(roomId: string, use: (members: ReadonlySet<string>) => void): void;
  /** Starts tracking the room (idempotent) and resolves once its members are known. */
  track(roomId: string, partition: number): Promise<void>;
  /** Applies a join/leave seen on the events log. */
  apply(roomId: string, change: MembershipChange): void;
  /** Whether this gateway follows the room (some local user is in it). */
  isTracked(roomId: string): boolean;
  /** Stops tracking rooms none of `connected` belongs to. */
  prune(isConnected: (userId: string) => boolean): void;
}

export function createMembership(options: {
  rooms: Pick<RoomReads, 'memberIdsOf'>;
  /**
   * Resolves once the read model holds every event this gateway has consumed
   * on the partition (false when it gave up waiting).
   */
  readModelCaughtUp: (partition: number) => Promise<boolean>;
  logger: Logger;
}): Membership {
  const rooms = new Map<string, TrackedRoom>();

  function applyTo(members: Set<string>, change: MembershipChange) {
    if (change.kind === 'join') members.add(change.userId);
    else members.delete(change.userId);
  }

  async function load(roomId: string, partition: number, room: TrackedRoom) {
    if (!(await options.readModelCaughtUp(partition))) {
      options.logger.warn({ roomId, partition }, 'read model behind the gateway; loading members anyway');
    }
    for (const userId of await options.rooms.memberIdsOf(roomId)) room.members.add(userId);
    for (const change of room.pending ?? []) applyTo(room.members, change);
    room.pending = null;
    for (const use of room.waiting.splice(0)) use(room.members);
  }

  return {
    withMembers(roomId, use) {
      const room = rooms.get(roomId);
      if (room === undefined) return;
      if (room.pending !== null) room.waiting.push(use);
      else use(room.members);
    },
    track(roomId, partition) {
      const existing = rooms.get(roomId);
      if (existing !== undefined) return existing.ready;
      const room: TrackedRoom = { members: new Set(), pending: [], waiting: [], ready: Promise.resolve() };
      rooms.set(roomId, room);
      room.ready = load(roomId, partition, room).catch((error: unknown) => {
        rooms.delete(roomId);
        throw error;
      });
      return room.ready;
    },
    apply(roomId, change) {
      const room = rooms.get(roomId);
      if (room === undefined) return;
      if (room.pending !== null) room.pending.push(change);
      else applyTo(room.members, change);
    },
    isTracked: (roomId) => rooms.has(roomId),
    prune(isConnected) {
      for (const [roomId, room] of rooms) {
        if (room.pending !== null) continue;
        if (![...room.members].some(isConnected)) rooms.delete(roomId);
      }
    },
  };
}
