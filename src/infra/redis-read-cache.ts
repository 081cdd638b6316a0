// The read-cache port on Redis (read-cache.ts has the protocol). Per
// dependency two keys: its generation (a counter) and its pending mark (a
// count of batches between fence and release, expiring after
// `fenceTtlMs` so a projector that died mid-batch cannot stop caching
// forever). Per answer one key: "<generations>|<JSON>". Each step is one Lua
// script, so "compare the generations, check nothing is pending, store" is
// atomic against a fence. A read costs one round trip when it hits, two and
// the database when it misses.
//
// Generations expire too, but only after twice the answers' lifetime (a day
// at least) without a fence: an answer always expires before the generation
// it was stamped with could restart from zero and match it again.
//
// Redis unreachable: a read loads from the database (correct, slower) and
// caches nothing; a fence fails, so the projector's batch fails and is
// retried — a batch is never committed without voiding what it changes.

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ReadCacheMetrics, ReadCacheResult } from './metrics.ts';
import type { CacheFence, ReadCache } from './read-cache.ts';

export interface RedisReadCacheOptions {
  redis: Redis;
  keyPrefix?: string;
  /** How long an answer stays cached (it is voided sooner by any batch it depends on). */
  ttlMs: number;
  /** How long a pending mark outlives a batch that never released it. */
  fenceTtlMs: number;
  logger: Logger;
  metrics?: ReadCacheMetrics;
}

// KEYS: the answer, then per dependency its generation and its pending mark.
// The stamp is the generations in the dependencies' order.
const stampLua = `local gens = {}
local clean = true
for i = 2, #KEYS, 2 do
  gens[#gens + 1] = redis.call('GET', KEYS[i]) or '0'
  if tonumber(redis.call('GET', KEYS[i + 1]) or '0') > 0 then clean = false end
end
local stamp = table.concat(gens, ',')`;

/**
 * → { 1, answer } on a hit; { 0, stamp, clean } on a miss. (A hit needs no
 * pending check: an answer is only ever stored under no pending batch, and a
 * fence moves the generations on.)
 */
const readLua = `${stampLua}
local cached = redis.call('GET', KEYS[1])
if cached then
  local bar = string.find(cached, '|', 1, true)
  if bar and string.sub(cached, 1, bar - 1) == stamp then return { 1, string.sub(cached, bar + 1) } end
end
return { 0, stamp, clean and 1 or 0 }`;

/** ARGV: the stamp read before loading, the answer, its lifetime (ms) → 1 stored, 0 refused. */
const fillLua = `${stampLua}
if not clean or stamp ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'PX', ARGV[3])
return 1`;

/** KEYS: per dependency generation, pending; ARGV: pending lifetime, generation lifetime (ms). */
const fenceLua = `for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return 0`;

/** Same KEYS: the generations move on again, each pending count down by one (never below zero). */
const releaseLua = `for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
  if tonumber(redis.call('GET', KEYS[i + 1]) or '0') > 0 then redis.call('DECR', KEYS[i + 1]) end
end
return 0`;

interface ReadCacheScripts {
  parleyCacheRead(numberOfKeys: number, ...keysAndArgs: string[]): Promise<[number, string, number?]>;
  parleyCacheFill(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
  parleyCacheFence(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
  parleyCacheRelease(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
}

export function createRedisReadCache(options: RedisReadCacheOptions): ReadCache {
  const { redis, ttlMs, fenceTtlMs, logger } = options;
  const count = (result: ReadCacheResult) => options.metrics?.read(result);
  const keyPrefix = `${options.keyPrefix ?? 'parley:'}cache:`;
  // numberOfKeys is given per call: the dependencies vary.
  redis.defineCommand('parleyCacheRead', { lua: readLua });
  redis.defineCommand('parleyCacheFill', { lua: fillLua });
  redis.defineCommand('parleyCacheFence', { lua: fenceLua });
  redis.defineCommand('parleyCacheRelease', { lua: releaseLua });
  const scripts = redis as unknown as ReadCacheScripts;
  // At least a day: instances configured with other lifetimes share the generations.
  const generationTtlMs = String(Math.max(2 * ttlMs, 86_400_000));

  const dependencyKeys = (deps: readonly string[]) => deps.flatMap((dep) => [`${keyPrefix}g:${dep}`, `${keyPrefix}p:${dep}`]);

  return {
    async read(entry, deps, load, storable) {
      const keys = [`${keyPrefix}e:${entry}`, ...dependencyKeys(deps)];
      let looked: [number, string, number?];
      try {
        looked = await scripts.parleyCacheRead(keys.length, ...keys);
      } catch (error) {
        logger.warn({ err: error }, 'read cache unavailable: answering from the database');
        count('unavailable');
        return load();
      }
      const [hit, answerOrStamp, clean] = looked;
      count(hit === 1 ? 'hit' : 'miss');
      if (hit === 1) return JSON.parse(answerOrStamp) as Awaited<ReturnType<typeof load>>;
      const answer = await load();
      if (clean === 1 && (storable?.(answer) ?? true)) {
        await scripts
          .parleyCacheFill(keys.length, ...keys, answerOrStamp, JSON.stringify(answer), String(ttlMs))
          .catch((error: unknown) => logger.warn({ err: error }, 'caching a read failed'));
      }
      return answer;
    },
    async fence(deps): Promise<CacheFence> {
      const keys = dependencyKeys([...new Set(deps)]);
      if (keys.length === 0) return { release: () => Promise.resolve() };
      await scripts.parleyCacheFence(keys.length, ...keys, String(fenceTtlMs), generationTtlMs);
      return {
        async release() {
          await scripts.parleyCacheRelease(keys.length, ...keys, generationTtlMs);
        },
      };
    },
  };
}
