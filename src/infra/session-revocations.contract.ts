// What every session-revocations adapter promises (session-revocations.ts).

import { afterEach, describe, expect, test } from 'vitest';
import type { SessionRevocations } from './session-revocations.ts';

export function sessionRevocationsContract(
  name: string,
  open: () => Promise<{ revocations: SessionRevocations; other: SessionRevocations; cleanup: () => Promise<void> }>,
): void {
  describe(`session revocations (${name})`, () => {
    let cleanup: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    test('a revoked session is refused, others are not', async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      await opened.revocations.revoke(['s1', 's2'], Date.now() + 60_000);
      expect(await opened.revocations.isRevoked('s1')).toBe(true);
      expect(await opened.revocations.isRevoked('s2')).toBe(true);
      expect(await opened.revocations.isRevoked('s3')).toBe(false);
    });

    test('an entry lasts until its tokens have expired, then goes by itself', async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      await opened.revocations.revoke(['short'], Date.now() + 100);
      expect(await opened.revocations.isRevoked('short')).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(await opened.revocations.isRevoked('short')).toBe(false);
    });

    test('every listener hears of a revocation, those of the other instance too', async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      const heard: string[][] = [];
      const stop = opened.other.onRevoked((ids) => heard.push([...ids]));
      await opened.revocations.revoke(['s9'], Date.now() + 60_000);
      const deadline = Date.now() + 5_000;
      while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(heard).toEqual([['s9']]);
      expect(await opened.other.isRevoked('s9')).toBe(true);
      stop();
      await opened.revocations.revoke(['s10'], Date.now() + 60_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(heard).toEqual([['s9']]);
    });
  });
}
