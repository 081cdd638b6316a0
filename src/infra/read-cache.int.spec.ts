// The read cache on Redis (skipped with a loud warning when Redis is
// unreachable, unless PARLEY_REQUIRE_INFRA=1): answers are reused until a
// batch over one of their dependencies fences them, a load that raced a
// batch is never cached, nothing is cached while a batch is pending, a
// projector that died mid-batch stops caching only for a while, and with
// Redis away reads answer from their loader while fences fail.

import type { Redis } from 'ioredis';
import pino from 'pino';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { deleteRedisPrefix, redisAvailable, testRedisClient, uniqueRedisPrefix } from '../../test/support/infra.ts';
import type { ReadCacheResult } from './metrics.ts';
import { everyAnswer, noReadCache, type ReadCache } from './read-cache.ts';
import { createRedisReadCache } from './redis-read-cache.ts';

const redisUrl = await redisAvailable('read cache');
const logger = pino({ level: 'silent' });

/** A loader that answers what `value` holds now and counts its calls. */
function source<T>(initial: T) {
  const state = { value: initial, loads: 0 };
  return {
    state,
    load: () => {
      state.loads++;
      return Promise.resolve(state.value);
    },
  };
}

test('without a cache every read loads and a fence costs nothing', async () => {
  const { state, load } = source('a');
  expect(await noReadCache.read('e', ['room:1'], load)).toBe('a');
  expect(await noReadCache.read('e', ['room:1'], load)).toBe('a');
  expect(state.loads).toBe(2);
  await (await noReadCache.fence(['room:1'])).release();
});

describe.runIf(redisUrl !== undefined)('read cache on Redis', () => {
  let redis: Redis;
  let keyPrefix: string;
  let cache: ReadCache;
  let counted: ReadCacheResult[];
  const metrics = { read: (result: ReadCacheResult) => counted.push(result) };
  const open = (options: { ttlMs?: number; fenceTtlMs?: number } = {}) =>
    createRedisReadCache({
      redis,
      keyPrefix,
      ttlMs: options.ttlMs ?? 60_000,
      fenceTtlMs: options.fenceTtlMs ?? 60_000,
      logger,
      metrics,
    });
  const deps = [everyAnswer, 'room:a'];

  beforeAll(() => {
    redis = testRedisClient(redisUrl);
  });
  afterAll(async () => {
    await redis.quit();
  });
  beforeEach(() => {
    keyPrefix = uniqueRedisPrefix();
    counted = [];
    cache = open();
  });
  afterEach(() => deleteRedisPrefix(redis, keyPrefix));

  test('an answer is loaded once and reused, as it was (JSON)', async () => {
    const { state, load } = source({ members: ['alice', 'bob'], name: 'café 👍', retention_days: null });
    expect(await cache.read('room-a', deps, load)).toEqual(state.value);
    expect(await cache.read('room-a', deps, load)).toEqual(state.value);
    expect(state.loads).toBe(1);
    // Other entries are other answers.
    expect(await cache.read('room-b', ['room:b'], source(false).load)).toBe(false);
    expect(counted).toEqual(['miss', 'hit', 'miss']);
  });

  test('a batch over a dependency voids the answers that depend on it, and only those', async () => {
    const a = source('a1');
    const b = source('b1');
    await cache.read('room-a', deps, a.load);
    await cache.read('room-b', [everyAnswer, 'room:b'], b.load);
    a.state.value = 'a2';
    await (await cache.fence(['room:a'])).release();
    expect(await cache.read('room-a', deps, a.load)).toBe('a2');
    expect(await cache.read('room-b', [everyAnswer, 'room:b'], b.load)).toBe('b1');
    expect([a.state.loads, b.state.loads]).toEqual([2, 1]);

    // "all" voids every answer.
    b.state.value = 'b2';
    await (await cache.fence([everyAnswer])).release();
    expect(await cache.read('room-b', [everyAnswer, 'room:b'], b.load)).toBe('b2');
    expect(await cache.read('room-a', deps, a.load)).toBe('a2');
    expect([a.state.loads, b.state.loads]).toEqual([3, 2]);
  });

  test('a reader who learns of a commit before its batch releases (another instance waited on the offset) reads it', async () => {
    const { state, load } = source('before');
    await cache.read('room-a', deps, load);
    const fence = await cache.fence(['room:a']);
    // The transaction has not committed: reads load the old rows, and cache nothing.
    expect(await cache.read('room-a', deps, load)).toBe('before');
    state.value = 'after'; // the commit (with its offset)
    expect(await cache.read('room-a', deps, load)).toBe('after');
    await fence.release();
    expect(await cache.read('room-a', deps, load)).toBe('after');
    expect(await cache.read('room-a', deps, load)).toBe('after');
    expect(state.loads).toBe(4);
  });

  test('a batch slower than its pending mark: what was cached once the mark expired is void at its release', async () => {
    cache = open({ fenceTtlMs: 100 });
    const { state, load } = source('before');
    const fence = await cache.fence(['room:a']);
    await delay(200);
    expect(await cache.read('room-a', deps, load)).toBe('before'); // cached: the mark is gone
    state.value = 'after'; // the slow commit
    await fence.release();
    expect(await cache.read('room-a', deps, load)).toBe('after');
  });

  test('a load that raced a whole batch (fence, commit, release) is not cached', async () => {
    const state = { value: 'before', loads: 0 };
    const racing = async () => {
      state.loads++;
      const read = state.value; // the load read the rows before the commit…
      const fence = await cache.fence(['room:a']);
      state.value = 'after';
      await fence.release(); // …and the batch completed before the load returned
      return read;
    };
    expect(await cache.read('room-a', deps, racing)).toBe('before');
    const load = () => Promise.resolve(state.value);
    // A reader after the batch never gets the raced answer.
    expect(await cache.read('room-a', deps, load)).toBe('after');
  });

  test('a batch over several dependencies counts each once; two pending batches both must release', async () => {
    const { state, load } = source('x');
    const first = await cache.fence(['room:a', 'room:a', 'room:b']);
    const second = await cache.fence(['room:a']);
    await first.release();
    await cache.read('room-a', deps, load);
    await cache.read('room-a', deps, load);
    expect(state.loads).toBe(2); // the second batch is still pending
    await second.release();
    await cache.read('room-a', deps, load);
    await cache.read('room-a', deps, load);
    expect(state.loads).toBe(3);
  });

  test('a batch that never releases (its projector died) stops caching only until its mark expires', async () => {
    cache = open({ fenceTtlMs: 200 });
    const { state, load } = source('x');
    await cache.fence(['room:a']); // never released
    await cache.read('room-a', deps, load);
    await cache.read('room-a', deps, load);
    expect(state.loads).toBe(2);
    await delay(300);
    await cache.read('room-a', deps, load);
    await cache.read('room-a', deps, load);
    expect(state.loads).toBe(3);
  });

  test('with Redis away a read answers from its loader; a fence fails (its batch is retried)', async () => {
    const { Redis: RedisClient } = await import('ioredis');
    const away = new RedisClient({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    away.on('error', () => {}); // the refused connection is the point
    try {
      const unreachable = createRedisReadCache({ redis: away, keyPrefix, ttlMs: 60_000, fenceTtlMs: 60_000, logger, metrics });
      const { state, load } = source('from the database');
      expect(await unreachable.read('room-a', deps, load)).toBe('from the database');
      expect(state.loads).toBe(1);
      expect(counted).toEqual(['unavailable']);
      await expect(unreachable.fence(['room:a'])).rejects.toThrow();
    } finally {
      away.disconnect();
    }
  });
});
