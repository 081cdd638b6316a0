// The rate-limiter port on Redis: one fixed-window counter per key, shared by
// every instance. A Lua script makes "count the hit, start the window if this
// is its first hit, read what is left of it" one atomic step, so concurrent
// hits from many instances are counted exactly and a window can never lose its
// expiry (a crash between INCR and PEXPIRE would otherwise leave a counter
// that refuses forever). Needs Redis >= 7.0 (PEXPIRE … NX).
//
// The window is timed by Redis (PEXPIRE/PTTL), not by any instance's clock.
// The client is the caller's (see redis-presence.ts).

import type { Redis } from 'ioredis';
import type { RateLimiter } from './rate-limiter.ts';

export interface RedisRateLimiterOptions {
  redis: Redis;
  keyPrefix?: string;
}

/** KEYS[1] counter; ARGV window ms → { hits in this window, ms until it resets }. */
const hitLua = `local hits = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return { hits, redis.call('PTTL', KEYS[1]) }`;

interface RateScripts {
  parleyRateHit(key: string, windowMs: number): Promise<[number, number]>;
}

export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimiter {
  const { redis } = options;
  const keyPrefix = options.keyPrefix ?? 'parley:';
  redis.defineCommand('parleyRateHit', { numberOfKeys: 1, lua: hitLua });
  const scripts = redis as unknown as RateScripts;
  const counterKey = (key: string) => `${keyPrefix}rate:${key}`;

  return {
    async hit(key, limit, windowS) {
      const [hits, ttlMs] = await scripts.parleyRateHit(counterKey(key), Math.ceil(windowS * 1000));
      return { allowed: hits <= limit, retryAfterS: Math.max(1, Math.ceil(ttlMs / 1000)) };
    },
    async reset(key) {
      await redis.del(counterKey(key));
    },
  };
}
