// Rate limits: fixed-window counters keyed by what is limited (an account, an
// IP), and failure back-off (a delay that doubles with each further failure,
// for password guessing). The port has an in-memory adapter here and a Redis
// one for several instances; both answer how long to wait when refused.

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfterS: number;
}

export interface HitReservation {
  /** Hits taken, 0 to `wanted`. */
  granted: number;
  /** Milliseconds until the window resets (the hits are worth nothing after). */
  resetsInMs: number;
}

/** How failures of one key are answered: some free, then a delay that doubles. */
export interface BackoffPolicy {
  /** Attempts counted before any delay. */
  freeFailures: number;
  /** The delay the first attempt past the free ones starts; each further one doubles it. */
  firstDelayS: number;
  /** The longest delay. */
  maxDelayS: number;
  /** Failures are forgotten this long after the last one (or at reset). */
  memoryS: number;
}

export interface RateLimiter {
  /** Counts one hit of `key`; refuses once `limit` hits fall in the window. */
  hit(key: string, limit: number, windowS: number): Promise<RateDecision>;
  /**
   * Takes up to `wanted` hits of `key`'s window at once — as many as `limit`
   * leaves, 0 once it is spent — so a caller can spend them without asking
   * again (command-rate-limits.ts leases them). Starts the window like a hit.
   */
  reserve(key: string, wanted: number, limit: number, windowS: number): Promise<HitReservation>;
  /** Takes back one hit of `key` (an attempt that turned out not to count), never below zero. */
  forgive(key: string): Promise<void>;
  /**
   * An attempt of `key` under back-off: refused (with the delay left) while a
   * delay runs; otherwise allowed and counted as a failure at once — so that
   * attempts made in parallel cannot all slip in before the first one fails —
   * and past `freeFailures` it starts the next delay (firstDelayS, doubling, at
   * most maxDelayS). A success is told by reset(). Refused attempts are not counted.
   * An allowed decision has retryAfterS 0.
   */
  attempt(key: string, policy: BackoffPolicy): Promise<RateDecision>;
  /** Forgets a key's hits and failures (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

/** The delay the `failures`-th failure starts under `policy`, in seconds (0 while free). */
export function backoffDelayS(failures: number, policy: BackoffPolicy): number {
  const past = failures - policy.freeFailures;
  if (past <= 0) return 0;
  // 2 ** past overflows to Infinity, never to NaN: the cap still applies.
  return Math.min(policy.firstDelayS * 2 ** (past - 1), policy.maxDelayS);
}

export function createMemoryRateLimiter(clock: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { count: number; resetsAt: number }>();
  const failures = new Map<string, { count: number; blockedUntil: number; forgetAt: number }>();
  let hits = 0;
  let attempts = 0;
  function windowOf(key: string, windowS: number, now: number) {
    // Expired windows are swept now and then so the map cannot grow forever.
    if (++hits % 1000 === 0) for (const [k, w] of windows) if (w.resetsAt <= now) windows.delete(k);
    let window = windows.get(key);
    if (window === undefined || window.resetsAt <= now) {
      window = { count: 0, resetsAt: now + windowS * 1000 };
      windows.set(key, window);
    }
    return window;
  }
  return {
    // The port is asynchronous (Redis); in memory every answer is ready at once.
    hit(key, limit, windowS) {
      const now = clock();
      const window = windowOf(key, windowS, now);
      window.count++;
      return Promise.resolve({
        allowed: window.count <= limit,
        retryAfterS: Math.max(1, Math.ceil((window.resetsAt - now) / 1000)),
      });
    },
    reserve(key, wanted, limit, windowS) {
      const now = clock();
      const window = windowOf(key, windowS, now);
      const granted = Math.max(0, Math.min(wanted, limit - window.count));
      window.count += granted;
      return Promise.resolve({ granted, resetsInMs: window.resetsAt - now });
    },
    forgive(key) {
      const window = windows.get(key);
      if (window !== undefined && window.count > 0) window.count--;
      return Promise.resolve();
    },
    attempt(key, policy) {
      const now = clock();
      if (++attempts % 1000 === 0) for (const [k, f] of failures) if (f.forgetAt <= now) failures.delete(k);
      let state = failures.get(key);
      if (state === undefined || state.forgetAt <= now) {
        state = { count: 0, blockedUntil: 0, forgetAt: 0 };
        failures.set(key, state);
      }
      if (state.blockedUntil > now) {
        return Promise.resolve({ allowed: false, retryAfterS: Math.max(1, Math.ceil((state.blockedUntil - now) / 1000)) });
      }
      state.count++;
      const delayMs = backoffDelayS(state.count, policy) * 1000;
      if (delayMs > 0) state.blockedUntil = now + delayMs;
      state.forgetAt = now + Math.max(policy.memoryS * 1000, delayMs);
      return Promise.resolve({ allowed: true, retryAfterS: 0 });
    },
    reset(key) {
      windows.delete(key);
      failures.delete(key);
      return Promise.resolve();
    },
  };
}
