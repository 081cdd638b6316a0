// The rate-limiter port's contract: what every adapter (memory, Redis) must
// do, checked only through the port. Call rateLimiterContract() from an
// adapter's spec. Windows are real time (1 s, the smallest the port's seconds
// allow); a new window is awaited with a bound, never timed.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { RateLimiter } from './rate-limiter.ts';

export interface RateLimiterFixture {
  limiter: RateLimiter;
  cleanup(): Promise<void>;
}

export function rateLimiterContract(name: string, make: () => RateLimiterFixture | Promise<RateLimiterFixture>): void {
  describe(`rate limiter contract: ${name}`, { timeout: 30_000 }, () => {
    let fixture: RateLimiterFixture;
    let limiter: RateLimiter;

    beforeEach(async () => {
      fixture = await make();
      limiter = fixture.limiter;
    });
    afterEach(() => fixture.cleanup());

    const key = () => `key-${randomUUID()}`;

    async function hits(k: string, count: number, limit: number, windowS: number) {
      const decisions = [];
      for (let i = 0; i < count; i++) decisions.push(await limiter.hit(k, limit, windowS));
      return decisions;
    }

    test('allows exactly `limit` hits in a window, then refuses with a Retry-After', async () => {
      const k = key();
      const decisions = await hits(k, 8, 5, 60);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false]);
      for (const decision of decisions) {
        expect(decision.retryAfterS).toBeGreaterThanOrEqual(1);
        expect(decision.retryAfterS).toBeLessThanOrEqual(60);
      }
    });

    test('Retry-After is what is left of the window, in whole seconds', async () => {
      const k = key();
      await hits(k, 1, 1, 3600);
      const refused = await limiter.hit(k, 1, 3600);
      expect(refused.allowed).toBe(false);
      // An hour-long window that just began has (nearly) an hour left.
      expect(refused.retryAfterS).toBeGreaterThan(3500);
      expect(refused.retryAfterS).toBeLessThanOrEqual(3600);
    });

    test('a new window allows again', async () => {
      const k = key();
      const first = await hits(k, 3, 2, 1);
      expect(first.map((d) => d.allowed)).toEqual([true, true, false]);
      const deadline = Date.now() + 10_000;
      let next = await limiter.hit(k, 2, 1);
      while (!next.allowed && Date.now() < deadline) {
        await sleep(100);
        next = await limiter.hit(k, 2, 1);
      }
      expect(next.allowed).toBe(true);
      // The new window counts from its own first hit.
      expect((await limiter.hit(k, 2, 1)).allowed).toBe(true);
      expect((await limiter.hit(k, 2, 1)).allowed).toBe(false);
    });

    test('reset forgets a key at once', async () => {
      const k = key();
      await hits(k, 3, 3, 60);
      expect((await limiter.hit(k, 3, 60)).allowed).toBe(false);
      await limiter.reset(k);
      expect((await hits(k, 3, 3, 60)).every((d) => d.allowed)).toBe(true);
      expect((await limiter.hit(k, 3, 60)).allowed).toBe(false);
      await limiter.reset(key()); // an unknown key is fine
    });

    test('keys are independent', async () => {
      const [a, b] = [key(), key()];
      await hits(a, 2, 2, 60);
      expect((await limiter.hit(a, 2, 60)).allowed).toBe(false);
      expect((await limiter.hit(b, 2, 60)).allowed).toBe(true);
      await limiter.reset(b);
      expect((await limiter.hit(a, 2, 60)).allowed).toBe(false);
    });

    test('concurrent hits are counted exactly', async () => {
      const k = key();
      const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.hit(k, 10, 60)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    });
  });
}
