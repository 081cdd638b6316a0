// Presence against its contract on both adapters — memory (always) and Redis
// (skipped with a loud warning when unreachable, unless PARLEY_REQUIRE_INFRA=1)
// — plus what only the shared Redis adapter promises: several instances (one
// per gateway) see each other's sockets, and a dead user's key vanishes.

import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { redisAvailable, testRedisClient, deleteRedisPrefix, uniqueRedisPrefix } from '../../test/support/infra.ts';
import { contractLeaseMs, eventually, presenceContract } from './presence.contract.ts';
import { createMemoryPresence } from './presence.ts';
import { createRedisPresence } from './redis-presence.ts';

const redisUrl = await redisAvailable('presence');

presenceContract('memory', (leaseMs) => ({
  presence: createMemoryPresence({ leaseMs }),
  cleanup: async () => {},
}));

describe.runIf(redisUrl !== undefined)('presence on Redis', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = testRedisClient(redisUrl);
  });
  afterAll(async () => {
    await redis.quit();
  });

  presenceContract('redis', (leaseMs) => {
    const keyPrefix = uniqueRedisPrefix();
    return {
      presence: createRedisPresence({ redis, leaseMs, keyPrefix }),
      cleanup: () => deleteRedisPrefix(redis, keyPrefix),
    };
  });

  describe('shared between instances', () => {
    let keyPrefix: string;
    let other: Redis;
    beforeEach(() => {
      keyPrefix = uniqueRedisPrefix();
      other = testRedisClient(redisUrl);
    });
    afterEach(async () => {
      await deleteRedisPrefix(redis, keyPrefix);
      await other.quit();
    });

    test('two gateways (own connections, own adapters) see each other’s sockets', async () => {
      const gatewayA = createRedisPresence({ redis, leaseMs: 10_000, keyPrefix });
      const gatewayB = createRedisPresence({ redis: other, leaseMs: 10_000, keyPrefix });
      const u = `user-${randomBytes(4).toString('hex')}`;
      expect(await gatewayA.connect(u, 'a1')).toBe(true);
      expect(await gatewayB.online([u])).toEqual(new Set([u]));
      expect(await gatewayB.connect(u, 'b1')).toBe(false);
      expect(await gatewayA.disconnect(u, 'a1')).toBe(false);
      expect(await gatewayA.online([u])).toEqual(new Set([u]));
      expect(await gatewayB.disconnect(u, 'b1')).toBe(true);
      expect(await gatewayA.online([u])).toEqual(new Set());
    });

    test('a crashed gateway’s sockets expire while the other gateway keeps its own alive', async () => {
      const crashed = createRedisPresence({ redis, leaseMs: contractLeaseMs, keyPrefix });
      const alive = createRedisPresence({ redis: other, leaseMs: 1000, keyPrefix });
      const [u, v] = ['user-u', 'user-v'];
      // v's socket first: its lease ends before u's, so once u is offline (what
      // the wait below can see), v's socket on the crashed gateway has expired too.
      // (In the other order a loaded machine could look in between the two.)
      await crashed.connect(v, 'c2');
      await crashed.connect(u, 'c1');
      expect(await alive.connect(v, 'a1')).toBe(false);
      // `crashed` never renews again; `alive` renews its socket every third of a lease.
      await eventually(
        async () => {
          await alive.renew([{ userId: v, socketId: 'a1' }]);
          return (await alive.online([u, v])).size === 1;
        },
        20 * contractLeaseMs,
        'only the live gateway’s user online',
      );
      await alive.renew([{ userId: v, socketId: 'a1' }]);
      expect(await alive.online([u, v])).toEqual(new Set([v]));
      // The socket of the crashed gateway no longer counts: closing a1 takes v offline.
      expect(await alive.disconnect(v, 'a1')).toBe(true);
    });

    test('concurrent connects of one user from many instances report "came online" exactly once', async () => {
      const clients = [redis, other];
      const instances = clients.map((client) => createRedisPresence({ redis: client, leaseMs: 10_000, keyPrefix }));
      const u = 'user-concurrent';
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => instances[i % instances.length]!.connect(u, `s${i}`)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const leaving = await Promise.all(
        Array.from({ length: 40 }, (_, i) => instances[(i + 1) % instances.length]!.disconnect(u, `s${i}`)),
      );
      expect(leaving.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('keys', () => {
    let keyPrefix: string;
    beforeEach(() => {
      keyPrefix = uniqueRedisPrefix();
    });
    afterEach(() => deleteRedisPrefix(redis, keyPrefix));

    test('one sorted set per user under the prefix, socket → lease expiry, with a TTL of a few leases', async () => {
      const presence = createRedisPresence({ redis, leaseMs: 10_000, keyPrefix });
      await presence.connect('u1', 's1');
      const key = `${keyPrefix}presence:user:u1`;
      expect(await redis.type(key)).toBe('zset');
      const replies = (await redis.multi().pttl(key).zscore(key, 's1').time().exec())!.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      const ttl = Number(replies[0]);
      const score = Number(replies[1]);
      const [seconds, micros] = replies[2] as [string, string];
      const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      // Scores are Redis TIME + lease, not this process's clock.
      expect(score - redisNow).toBeGreaterThan(0);
      expect(score - redisNow).toBeLessThanOrEqual(10_000);
      expect(ttl).toBeGreaterThan(10_000);
      expect(ttl).toBeLessThanOrEqual(30_000);
      await presence.disconnect('u1', 's1');
      expect(await redis.exists(key)).toBe(0);
    });

    test('the key of a user whose gateway died vanishes by itself', async () => {
      const presence = createRedisPresence({ redis, leaseMs: 100, keyPrefix });
      await presence.connect('ghost', 's1');
      await eventually(async () => (await redis.exists(`${keyPrefix}presence:user:ghost`)) === 0, 5000, 'key expired');
    });

    test('the scripts are reloaded after Redis forgot them (SCRIPT FLUSH, restart)', async () => {
      const client = testRedisClient(redisUrl);
      try {
        const presence = createRedisPresence({ redis: client, leaseMs: 10_000, keyPrefix });
        await presence.connect('u1', 's1');
        await client.script('FLUSH');
        expect(await presence.online(['u1', 'u2'])).toEqual(new Set(['u1']));
        await presence.renew([{ userId: 'u1', socketId: 's1' }]);
        expect(await presence.connect('u1', 's2')).toBe(false);
      } finally {
        await client.quit();
      }
    });
  });
});
