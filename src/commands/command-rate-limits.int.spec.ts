// Command budgets with leased hits (createCommandRateLimits with leaseHits > 1)
// on the real limiters — memory, and Redis shared by two instances: a budget
// is never exceeded, a busy user costs far fewer reservations than commands,
// and hits leased in a window are never spent in the next one.

import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { deleteRedisPrefix, redisAvailable, testRedisClient, uniqueRedisPrefix } from '../../test/support/infra.ts';
import { createMemoryRateLimiter, type RateLimiter } from '../infra/rate-limiter.ts';
import { createRedisRateLimiter } from '../infra/redis-rate-limiter.ts';
import { loadConfig } from '../config.ts';
import { CommandRateLimited, createCommandRateLimits } from './command-rate-limits.ts';

const redisUrl = await redisAvailable('command rate limits');
const BUDGET = 64; // messages per window: leases of up to 8 (an eighth of it)
const config = loadConfig({ PARLEY_RATE_MESSAGES_MAX: String(BUDGET), PARLEY_RATE_MESSAGES_WINDOW_S: '3600' });

/** The real limiter, with its reservations counted. */
function counted(limiter: RateLimiter): { limiter: RateLimiter; reservations: () => number } {
  let reservations = 0;
  const wrapped: RateLimiter = {
    ...limiter,
    reserve: (...args) => {
      reservations++;
      return limiter.reserve(...args);
    },
  };
  return { limiter: wrapped, reservations: () => reservations };
}

/** Charges `count` messages of `user`, one after another: how many were accepted. */
async function charge(limits: ReturnType<typeof createCommandRateLimits>, user: string, count: number): Promise<number> {
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    try {
      await limits.charge(user, 'send_message');
      accepted++;
    } catch (error) {
      expect(error).toBeInstanceOf(CommandRateLimited);
      expect((error as CommandRateLimited).retryAfterS).toBeGreaterThan(3000);
    }
  }
  return accepted;
}

describe('leased command budgets in memory', () => {
  test('one instance: exactly the budget accepted, for far fewer reservations than commands', async () => {
    const { limiter, reservations } = counted(createMemoryRateLimiter());
    const limits = createCommandRateLimits({ limiter, config, leaseHits: 8 });
    expect(await charge(limits, 'alice', BUDGET + 5)).toBe(BUDGET);
    // 1, 2, 4, then 8 at a time: 11 reservations for the budget, one each for the refused.
    expect(reservations()).toBe(11 + 5);
  });

  test('hits leased in a window are not spent in the next one', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const limiter = createMemoryRateLimiter(clock);
    const limits = createCommandRateLimits({ limiter, config, leaseHits: 8, clock });
    await charge(limits, 'bob', 2); // reserves 1, then 2: one hit left in hand
    now += 3_600_000; // the window ends
    await charge(limits, 'bob', 1);
    // The new window counted that command: the lease of the old one was dropped.
    expect((await limiter.reserve('commands:messages:bob', BUDGET, BUDGET, 3600)).granted).toBe(BUDGET - 1);
  });

  test('leaseHits 1 counts every command at the counter', async () => {
    const limiter = createMemoryRateLimiter();
    const limits = createCommandRateLimits({ limiter, config, leaseHits: 1 });
    expect(await charge(limits, 'carol', 3)).toBe(3);
    expect((await limiter.reserve('commands:messages:carol', BUDGET, BUDGET, 3600)).granted).toBe(BUDGET - 3);
  });
});

describe.runIf(redisUrl !== undefined)('leased command budgets on Redis, two instances', () => {
  // One client per instance; the first also cleans up.
  let keyPrefix: string;
  let clients: Redis[];
  beforeEach(() => {
    keyPrefix = uniqueRedisPrefix();
    clients = [testRedisClient(redisUrl), testRedisClient(redisUrl)];
  });
  afterEach(async () => {
    await deleteRedisPrefix(clients[0]!, keyPrefix);
    await Promise.all(clients.map((client) => client.quit()));
  });

  test('a user on both, concurrently: never more than the budget, and at most a lease short of it', async () => {
    const instances = clients.map((client) =>
      createCommandRateLimits({ limiter: createRedisRateLimiter({ redis: client, keyPrefix }), config, leaseHits: 8 }),
    );
    const accepted = await Promise.all(instances.map((limits) => charge(limits, 'dave', BUDGET)));
    const total = accepted[0]! + accepted[1]!;
    expect(total).toBeLessThanOrEqual(BUDGET);
    // What one instance holds unspent when the other is refused: less than a lease (8).
    expect(total).toBeGreaterThan(BUDGET - 8);
    // Once both are refused, every hit of the window has been taken at the counter.
    expect(
      (await createRedisRateLimiter({ redis: clients[0]!, keyPrefix }).reserve('commands:messages:dave', 1, BUDGET, 3600))
        .granted,
    ).toBe(0);
  });

  test('commands of one instance, one by one: exactly the budget', async () => {
    const limits = createCommandRateLimits({
      limiter: createRedisRateLimiter({ redis: clients[0]!, keyPrefix }),
      config,
      leaseHits: 8,
    });
    expect(await charge(limits, 'erin', BUDGET + 3)).toBe(BUDGET);
  });
});
