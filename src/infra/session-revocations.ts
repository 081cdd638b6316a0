// Revoked sessions: logging out or changing one's password ends sessions at
// once, not when their access tokens expire. An access token names its session
// (`sid`, the refresh-token family of the login); a revoked session's tokens
// are refused from then on, and every gateway closes its sockets (they hear of
// it through `onRevoked`). An entry lives as long as the tokens it refuses
// could (the access-token lifetime), then goes by itself.
//
// This file: the port and the in-memory adapter (one process, `npm start`);
// redis-session-revocations.ts shares them between instances.

export interface SessionRevocations {
  /** Refuses the sessions' access tokens from now until `untilMs` (when the last of them has expired anyway). */
  revoke(sessionIds: readonly string[], untilMs: number): Promise<void>;
  isRevoked(sessionId: string): Promise<boolean>;
  /** Calls `listener` with the sessions revoked anywhere, this process or another; returns the unsubscribe. */
  onRevoked(listener: (sessionIds: readonly string[]) => void): () => void;
  close(): Promise<void>;
}

/** Revokes the sessions for as long as an access token issued now could live (`accessTtlS`): after that it is refused anyway. */
export function revokeWhileTokensLive(
  revocations: Pick<SessionRevocations, 'revoke'>,
  sessionIds: readonly string[],
  accessTtlS: number,
): Promise<void> {
  return revocations.revoke(sessionIds, Date.now() + accessTtlS * 1000);
}

export function createMemorySessionRevocations(clock: () => number = Date.now): SessionRevocations {
  const revoked = new Map<string, number>();
  const listeners = new Set<(sessionIds: readonly string[]) => void>();
  return {
    revoke(sessionIds, untilMs) {
      const now = clock();
      for (const [id, until] of revoked) if (until <= now) revoked.delete(id); // forget the expired ones
      for (const id of sessionIds) revoked.set(id, untilMs);
      if (sessionIds.length > 0) for (const listener of listeners) listener(sessionIds);
      return Promise.resolve();
    },
    isRevoked(sessionId) {
      const until = revoked.get(sessionId);
      return Promise.resolve(until !== undefined && clock() < until);
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      return Promise.resolve();
    },
  };
}
