// Presence in one process: online while the user has a socket here, and the
// time they were last seen. (The Redis adapter serves several gateways.)

import type { PresenceReader, PresenceStatus } from '../queries/presence.ts';

export interface MemoryPresence extends PresenceReader {
  set: (userId: string, online: boolean) => void;
}

export function createMemoryPresence(clock: () => number = Date.now): MemoryPresence {
  const online = new Set<string>();
  const lastSeen = new Map<string, number>();
  return {
    set(userId, isOnline) {
      if (isOnline) online.add(userId);
      else online.delete(userId);
      lastSeen.set(userId, clock());
    },
    async statusOf(userId): Promise<PresenceStatus> {
      return { online: online.has(userId), last_seen_at: lastSeen.get(userId) ?? null };
    },
  };
}
