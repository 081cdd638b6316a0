// Rate limits: fixed-window counters keyed by what is limited (an account, an
// IP). The port has an in-memory adapter here and a Redis one for several
// instances; both answer how long to wait when the limit is reached.

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfterS: number;
}

export interface RateLimiter {
  /** Counts one hit of `key`; refuses once `limit` hits fall in the window. */
  hit(key: string, limit: number, windowS: number): Promise<RateDecision>;
  /** Forgets a key (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

export function createMemoryRateLimiter(clock: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { count: number; resetsAt: number }>();
  let hits = 0;
  return {
    // The port is asynchronous (Redis); in memory every answer is ready at once.
    hit(key, limit, windowS) {
      const now = clock();
      // Expired windows are swept now and then so the map cannot grow forever.
      if (++hits % 1000 === 0) for (const [k, w] of windows) if (w.resetsAt <= now) windows.delete(k);
      let window = windows.get(key);
      if (window === undefined || window.resetsAt <= now) {
        window = { count: 0, resetsAt: now + windowS * 1000 };
        windows.set(key, window);
      }
      window.count++;
      return Promise.resolve({
        allowed: window.count <= limit,
        retryAfterS: Math.max(1, Math.ceil((window.resetsAt - now) / 1000)),
      });
    },
    reset(key) {
      windows.delete(key);
      return Promise.resolve();
    },
  };
}
