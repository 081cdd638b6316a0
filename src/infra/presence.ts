// The presence port: a user is online while at least one of their sockets is
// open on any gateway. Sockets are registered with a lease that their gateway
// renews; a crashed gateway's sockets expire with their lease, so nobody stays
// online forever. In memory for one process; Redis for several.

export interface Presence {
  /** Registers a socket; resolves true when this made the user online. */
  connect(userId: string, socketId: string): Promise<boolean>;
  /** Removes a socket; resolves true when this made the user offline. */
  disconnect(userId: string, socketId: string): Promise<boolean>;
  /**
   * Renews the leases of sockets that are still open; resolves with those the
   * store does not know (it lost them: a restarted Redis), which the caller,
   * knowing they are open, registers again with `connect`.
   */
  renew(sockets: { userId: string; socketId: string }[]): Promise<{ userId: string; socketId: string }[]>;
  /** Which of these users are online now. */
  online(userIds: string[]): Promise<Set<string>>;
  close(): Promise<void>;
}

export function createMemoryPresence(options: { leaseMs: number; clock?: () => number }): Presence {
  const clock = options.clock ?? Date.now;
  /** user → socket → lease expiry. */
  const sockets = new Map<string, Map<string, number>>();

  function live(userId: string): Map<string, number> | undefined {
    const userSockets = sockets.get(userId);
    if (userSockets === undefined) return undefined;
    const now = clock();
    for (const [socketId, expires] of userSockets) if (expires <= now) userSockets.delete(socketId);
    if (userSockets.size === 0) {
      sockets.delete(userId);
      return undefined;
    }
    return userSockets;
  }

  return {
    // The port is asynchronous (Redis); in memory every answer is ready at once.
    connect(userId, socketId) {
      const wasOnline = live(userId) !== undefined;
      let userSockets = sockets.get(userId);
      if (userSockets === undefined) sockets.set(userId, (userSockets = new Map<string, number>()));
      userSockets.set(socketId, clock() + options.leaseMs);
      return Promise.resolve(!wasOnline);
    },
    disconnect(userId, socketId) {
      const userSockets = live(userId);
      if (userSockets === undefined || !userSockets.delete(socketId) || userSockets.size > 0) return Promise.resolve(false);
      sockets.delete(userId);
      return Promise.resolve(true);
    },
    renew(list) {
      const expires = clock() + options.leaseMs;
      // Only sockets still registered: one disconnected meanwhile stays gone.
      const unknown: { userId: string; socketId: string }[] = [];
      for (const entry of list) {
        const userSockets = sockets.get(entry.userId);
        if (userSockets?.has(entry.socketId)) userSockets.set(entry.socketId, expires);
        else unknown.push(entry);
      }
      return Promise.resolve(unknown);
    },
    online(userIds) {
      return Promise.resolve(new Set(userIds.filter((userId) => live(userId) !== undefined)));
    },
    close: () => Promise.resolve(),
  };
}
