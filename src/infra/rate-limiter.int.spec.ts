// Rate limits against their contract on both adapters — memory (always) and
// Redis (skipped with a loud warning when unreachable, unless
// PARLEY_REQUIRE_INFRA=1) — plus what only the shared Redis adapter promises:
// hits from many instances at once are counted exactly.

import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { redisAvailable, testRedisClient, deleteRedisPrefix, uniqueRedisPrefix } from '../../test/support/infra.ts';
import { rateLimiterContract } from './rate-limiter.contract.ts';
import { createMemoryRateLimiter } from './rate-limiter.ts';
import { createRedisRateLimiter } from './redis-rate-limiter.ts';

const redisUrl = await redisAvailable('rate limiter');

rateLimiterContract('memory', () => ({ limiter: createMemoryRateLimiter(), cleanup: async () => {} }));

describe.runIf(redisUrl !== undefined)('rate limiter on Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = testRedisClient(redisUrl);
  });
  afterAll(async () => {
    await redis.quit();
  });

  rateLimiterContract('redis', () => {
    const keyPrefix = uniqueRedisPrefix();
    return { limiter: createRedisRateLimiter({ redis, keyPrefix }), cleanup: () => deleteRedisPrefix(redis, keyPrefix) };
  });

  describe('shared between instances', () => {
    let keyPrefix: string;
    let clients: Redis[];
    beforeEach(() => {
      keyPrefix = uniqueRedisPrefix();
      clients = Array.from({ length: 5 }, () => testRedisClient(redisUrl));
    });
    afterEach(async () => {
      await deleteRedisPrefix(redis, keyPrefix);
      await Promise.all(clients.map((client) => client.quit()));
    });

    test('50 concurrent hits from 5 instances with a limit of 10: exactly 10 allowed', async () => {
      const limiters = clients.map((client) => createRedisRateLimiter({ redis: client, keyPrefix }));
      const decisions = await Promise.all(
        Array.from({ length: 50 }, (_, i) => limiters[i % limiters.length]!.hit('login:alice', 10, 60)),
      );
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
      for (const d of decisions) expect(d.retryAfterS).toBeGreaterThanOrEqual(1);
    });

    test('30 concurrent reservations of 3 from 5 instances with a limit of 10: 10 hits granted in all', async () => {
      const limiters = clients.map((client) => createRedisRateLimiter({ redis: client, keyPrefix }));
      const reservations = await Promise.all(
        Array.from({ length: 30 }, (_, i) => limiters[i % limiters.length]!.reserve('commands:alice', 3, 10, 60)),
      );
      expect(reservations.reduce((sum, r) => sum + r.granted, 0)).toBe(10);
    });

    test('a reset by one instance is seen by the others', async () => {
      const [a, b] = clients.map((client) => createRedisRateLimiter({ redis: client, keyPrefix })) as [
        ReturnType<typeof createRedisRateLimiter>,
        ReturnType<typeof createRedisRateLimiter>,
      ];
      await a.hit('k', 1, 60);
      expect((await b.hit('k', 1, 60)).allowed).toBe(false);
      await a.reset('k');
      expect((await b.hit('k', 1, 60)).allowed).toBe(true);
    });

    test('every counter carries its window as a TTL, so none outlives it', async () => {
      const limiter = createRedisRateLimiter({ redis, keyPrefix });
      for (let i = 0; i < 3; i++) await limiter.hit('ip:10.0.0.1', 100, 300);
      const ttl = await redis.pttl(`${keyPrefix}rate:ip:10.0.0.1`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(300_000);
    });
  });
});
