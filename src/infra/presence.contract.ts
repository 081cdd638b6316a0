// The presence port's contract: what every adapter (memory, Redis) must do,
// checked only through the port. Call presenceContract() from an adapter's spec.
//
// Leases are real time here, because the Redis adapter times them with
// Redis's own clock. No test asserts on a duration: a lease that should run
// out (300 ms) is awaited with a bound of many leases, and "still online" is
// only checked right after a renewal resolved, with a lease (1 s) that a
// loaded machine's pauses cannot eat.

import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Presence } from './presence.ts';

export const contractLeaseMs = 300;
/** For tests that check a renewed socket is still online. */
export const steadyLeaseMs = 1000;

export interface PresenceFixture {
  presence: Presence;
  cleanup(): Promise<void>;
}

export function presenceContract(name: string, make: (leaseMs: number) => PresenceFixture | Promise<PresenceFixture>): void {
  describe(`presence contract: ${name}`, { timeout: 30_000 }, () => {
    let fixture: PresenceFixture;
    let presence: Presence;

    beforeEach(async () => {
      fixture = await make(contractLeaseMs);
      presence = fixture.presence;
    });
    afterEach(async () => {
      await presence.close();
      await fixture.cleanup();
    });

    /** Runs `work` with a fresh adapter whose lease is steadyLeaseMs. */
    async function withSteadyLease(work: (steady: Presence, leaseMs: number) => Promise<void>): Promise<void> {
      const steady = await make(steadyLeaseMs);
      try {
        await work(steady.presence, steadyLeaseMs);
      } finally {
        await steady.presence.close();
        await steady.cleanup();
      }
    }

    const user = () => `user-${randomUUID()}`;
    const socket = () => `socket-${randomUUID()}`;

    test('the first socket brings a user online; a second one does not', async () => {
      const u = user();
      expect(await presence.online([u])).toEqual(new Set());
      expect(await presence.connect(u, socket())).toBe(true);
      expect(await presence.online([u])).toEqual(new Set([u]));
      expect(await presence.connect(u, socket())).toBe(false);
      expect(await presence.online([u])).toEqual(new Set([u]));
    });

    test('connecting the same socket again does not count as coming online', async () => {
      const u = user();
      const s = socket();
      expect(await presence.connect(u, s)).toBe(true);
      expect(await presence.connect(u, s)).toBe(false);
      expect(await presence.disconnect(u, s)).toBe(true);
    });

    test('closing one of two sockets keeps the user online; closing the last takes them offline', async () => {
      const u = user();
      const [a, b] = [socket(), socket()];
      await presence.connect(u, a);
      await presence.connect(u, b);
      expect(await presence.disconnect(u, a)).toBe(false);
      expect(await presence.online([u])).toEqual(new Set([u]));
      expect(await presence.disconnect(u, b)).toBe(true);
      expect(await presence.online([u])).toEqual(new Set());
    });

    test('disconnecting a socket that is not registered changes nothing', async () => {
      const u = user();
      expect(await presence.disconnect(u, socket())).toBe(false);
      const s = socket();
      await presence.connect(u, s);
      expect(await presence.disconnect(u, socket())).toBe(false);
      expect(await presence.online([u])).toEqual(new Set([u]));
      expect(await presence.disconnect(u, s)).toBe(true);
      expect(await presence.disconnect(u, s)).toBe(false);
    });

    test('a user comes online again after going offline', async () => {
      const u = user();
      const s = socket();
      await presence.connect(u, s);
      await presence.disconnect(u, s);
      expect(await presence.connect(u, socket())).toBe(true);
    });

    test('users are independent', async () => {
      const [u, v] = [user(), user()];
      const s = socket();
      await presence.connect(u, s);
      expect(await presence.connect(v, s)).toBe(true);
      expect(await presence.disconnect(u, s)).toBe(true);
      expect(await presence.online([u, v])).toEqual(new Set([v]));
    });

    test('a socket whose lease is not renewed expires: its user goes offline without a disconnect', async () => {
      const u = user();
      const s = socket();
      await presence.connect(u, s);
      await eventually(async () => !(await presence.online([u])).has(u), 20 * contractLeaseMs, 'user offline after the lease');
      // Its user was already offline, so closing that socket now is not a change…
      expect(await presence.disconnect(u, s)).toBe(false);
      // …and the next socket brings the user online again.
      expect(await presence.connect(u, socket())).toBe(true);
    });

    test('an expired socket does not keep a user online next to a live one', async () => {
      await withSteadyLease(async (steady, leaseMs) => {
        const u = user();
        const [dead, live] = [socket(), socket()];
        await steady.connect(u, dead);
        const deadRegistered = Date.now();
        await steady.connect(u, live);
        // Only `live` is renewed, until `dead`'s lease has surely run out.
        while (Date.now() - deadRegistered <= 1.5 * leaseMs) {
          await sleep(leaseMs / 3);
          await steady.renew([{ userId: u, socketId: live }]);
        }
        // So closing `live` is what takes the user offline.
        expect(await steady.disconnect(u, live)).toBe(true);
        expect(await steady.online([u])).toEqual(new Set());
      });
    });

    test('renewing keeps a socket online past its first lease', async () => {
      await withSteadyLease(async (steady, leaseMs) => {
        const u = user();
        const s = socket();
        await steady.connect(u, s);
        const registered = Date.now();
        while (Date.now() - registered <= 1.5 * leaseMs) {
          await sleep(leaseMs / 3);
          await steady.renew([{ userId: u, socketId: s }]);
        }
        // Checked right after a renewal resolved, past the first lease.
        expect(await steady.online([u])).toEqual(new Set([u]));
        expect(await steady.disconnect(u, s)).toBe(true);
      });
    });

    test('renewing does not bring back a socket that was disconnected', async () => {
      const u = user();
      const [a, b] = [socket(), socket()];
      await presence.connect(u, a);
      await presence.connect(u, b);
      await presence.disconnect(u, a);
      const unknown = await presence.renew([
        { userId: u, socketId: a },
        { userId: u, socketId: b },
      ]);
      // The disconnected socket is reported, not renewed.
      expect(unknown).toEqual([{ userId: u, socketId: a }]);
      expect(await presence.disconnect(u, b)).toBe(true);
      expect(await presence.renew([{ userId: u, socketId: b }])).toEqual([{ userId: u, socketId: b }]);
      expect(await presence.online([u])).toEqual(new Set());
    });

    test('renewing reports sockets the store does not know; connecting them again brings their user back', async () => {
      const [u, v] = [user(), user()];
      const [a, b] = [socket(), socket()];
      await presence.connect(u, a);
      // v's socket was never registered here (as after a store that lost its data).
      const unknown = await presence.renew([
        { userId: u, socketId: a },
        { userId: v, socketId: b },
      ]);
      expect(unknown).toEqual([{ userId: v, socketId: b }]);
      expect(await presence.connect(v, b)).toBe(true);
      expect(await presence.online([u, v])).toEqual(new Set([u, v]));
    });

    test('renewing nothing, and asking about nobody, are fine', async () => {
      await presence.renew([]);
      expect(await presence.online([])).toEqual(new Set());
    });

    test('online() answers for many users at once', async () => {
      const users = Array.from({ length: 150 }, user);
      const connected = users.filter((_, i) => i % 3 !== 0);
      const leftAgain = connected.filter((_, i) => i % 4 === 0);
      await Promise.all(connected.map((u) => presence.connect(u, `s-${u}`)));
      await Promise.all(connected.map((u) => presence.connect(u, `t-${u}`)));
      await Promise.all(leftAgain.map((u) => presence.disconnect(u, `s-${u}`)));
      await Promise.all(leftAgain.map((u) => presence.disconnect(u, `t-${u}`)));
      const expected = new Set(connected.filter((u) => !leftAgain.includes(u)));
      // Renewed, so that a slow machine cannot let leases run out mid-check.
      await presence.renew([...expected].flatMap((u) => [{ userId: u, socketId: `s-${u}` }]));
      expect(await presence.online([...users, users[1]!])).toEqual(expected);
    });
  });
}

/** Polls `condition` until it holds; fails after `withinMs` saying what it waited for. */
export async function eventually(condition: () => Promise<boolean>, withinMs: number, what: string): Promise<void> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}
