// The rate-limiter port's contract: what every adapter (memory, Redis) must
// do, checked only through the port. Call rateLimiterContract() from an
// adapter's spec. Windows are real time (1 s, the smallest the port's seconds
// allow); a new window is awaited with a bound, never timed.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BackoffPolicy, RateLimiter } from './rate-limiter.ts';

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

    test('reserve takes what the limit leaves, then nothing; hits and reservations share one count', async () => {
      const k = key();
      const first = await limiter.reserve(k, 3, 5, 60);
      expect(first.granted).toBe(3);
      expect(first.resetsInMs).toBeGreaterThan(0);
      expect(first.resetsInMs).toBeLessThanOrEqual(60_000);
      expect((await limiter.hit(k, 5, 60)).allowed).toBe(true); // the 4th
      expect((await limiter.reserve(k, 3, 5, 60)).granted).toBe(1); // the 5th: all that is left
      expect((await limiter.reserve(k, 3, 5, 60)).granted).toBe(0);
      expect((await limiter.hit(k, 5, 60)).allowed).toBe(false);
    });

    test('a reservation starts a window, and the next window grants again', async () => {
      const k = key();
      expect((await limiter.reserve(k, 2, 2, 1)).granted).toBe(2);
      expect((await limiter.reserve(k, 2, 2, 1)).granted).toBe(0);
      const deadline = Date.now() + 10_000;
      let next = await limiter.reserve(k, 2, 2, 1);
      while (next.granted === 0 && Date.now() < deadline) {
        await sleep(100);
        next = await limiter.reserve(k, 2, 2, 1);
      }
      expect(next.granted).toBe(2);
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
    test('forgive takes back one hit, never below zero', async () => {
      const k = key();
      await hits(k, 2, 2, 60);
      await limiter.forgive(k);
      expect((await limiter.hit(k, 2, 60)).allowed).toBe(true);
      expect((await limiter.hit(k, 2, 60)).allowed).toBe(false);
      const fresh = key();
      await limiter.forgive(fresh);
      await limiter.forgive(fresh);
      expect((await limiter.hit(fresh, 1, 60)).allowed).toBe(true);
      expect((await limiter.hit(fresh, 1, 60)).allowed).toBe(false);
    });

    // A first delay of a minute: nothing here waits for it to end.
    const slow: BackoffPolicy = { freeFailures: 3, firstDelayS: 60, maxDelayS: 900, memoryS: 3600 };
    async function attempts(k: string, count: number, policy: BackoffPolicy) {
      const decisions = [];
      for (let i = 0; i < count; i++) decisions.push(await limiter.attempt(k, policy));
      return decisions;
    }

    test('back-off: the free failures and the one past them are allowed; then refused with the delay left', async () => {
      const k = key();
      const decisions = await attempts(k, 6, slow);
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false, false]);
      for (const refused of decisions.slice(4)) {
        expect(refused.retryAfterS).toBeGreaterThan(50);
        expect(refused.retryAfterS).toBeLessThanOrEqual(60);
      }
    });

    /** Attempts until one is allowed (a delay ended), within a bound; the allowed one counts. */
    async function attemptUntilAllowed(k: string, policy: BackoffPolicy) {
      const deadline = Date.now() + 10_000;
      let decision = await limiter.attempt(k, policy);
      while (!decision.allowed && Date.now() < deadline) {
        await sleep(100);
        decision = await limiter.attempt(k, policy);
      }
      expect(decision.allowed).toBe(true);
    }

    test('back-off: each further failure doubles the delay, up to the cap', async () => {
      const k = key();
      const policy: BackoffPolicy = { freeFailures: 0, firstDelayS: 1, maxDelayS: 2, memoryS: 3600 };
      expect((await limiter.attempt(k, policy)).allowed).toBe(true); // starts 1 s
      await attemptUntilAllowed(k, policy); // the second failure starts 2 s
      expect(await limiter.attempt(k, policy)).toEqual({ allowed: false, retryAfterS: 2 });
      await attemptUntilAllowed(k, policy); // the third would start 4 s: capped at 2
      expect(await limiter.attempt(k, policy)).toEqual({ allowed: false, retryAfterS: 2 });
    });

    test('back-off: reset forgets the failures and ends the delay', async () => {
      const k = key();
      await attempts(k, 4, slow);
      expect((await limiter.attempt(k, slow)).allowed).toBe(false);
      await limiter.reset(k);
      expect((await attempts(k, 4, slow)).every((d) => d.allowed)).toBe(true);
      expect((await limiter.attempt(k, slow)).allowed).toBe(false);
    });

    test('back-off: keys are independent, and a key under back-off is not a hit counter', async () => {
      const [a, b] = [key(), key()];
      await attempts(a, 4, slow);
      expect((await limiter.attempt(a, slow)).allowed).toBe(false);
      expect((await limiter.attempt(b, slow)).allowed).toBe(true);
      expect((await limiter.hit(a, 1, 60)).allowed).toBe(true);
    });

    test('back-off: concurrent attempts are counted exactly (only the free ones and the next get in)', async () => {
      const k = key();
      const decisions = await Promise.all(Array.from({ length: 30 }, () => limiter.attempt(k, slow)));
      expect(decisions.filter((d) => d.allowed)).toHaveLength(slow.freeFailures + 1);
    });
  });
}
