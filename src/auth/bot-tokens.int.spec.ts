// A bot token's verification against both read-model engines: what it lets in
// and what it refuses, and its last use kept to a resolution — one write per
// token per resolution, not one per request.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rejection } from '../domain/decider.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { AuthError } from './errors.ts';
import { botTokenHash, newBotToken, storeBotToken, verifyBotToken } from './bot-tokens.ts';

const T0 = Date.UTC(2030, 0, 1);
const bot = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f7a02';
const room = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f8a01';
const resolutionS = 60;

for (const engine of await testEngines('bot_tokens')) {
  describe.runIf(engine.available)(`bot tokens on ${engine.name}`, () => {
    let store: Store;
    const token = newBotToken();
    const lastUsed = async () =>
      (await store.db.selectFrom('bot_tokens').select('last_used_at').where('id', '=', 'tok-1').executeTakeFirstOrThrow())
        .last_used_at;
    const verify = (presented: string, now: number) => verifyBotToken(store.db, presented, { resolutionS, now });

    beforeAll(async () => {
      store = await engine.open();
      await store.db
        .insertInto('users')
        .values({ id: bot, username: 'ci_bot', email: `~${bot}`, display_name: 'CI', bio: '', created_at: T0, is_bot: 1 })
        .execute();
      await storeBotToken(store.db, {
        id: 'tok-1',
        user_id: bot,
        name: 'ci',
        token_hash: botTokenHash(token),
        room_ids: JSON.stringify([room]),
        created_by: bot,
        created_at: T0,
        revoked_at: null,
      });
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('names the bot, the token (as its login) and its rooms; never expires', async () => {
      expect(await verify(token, T0)).toEqual({ userId: bot, sessionId: 'tok-1', expiresAt: Infinity, rooms: [room] });
    });

    it('keeps the last use to the resolution: written on first use, not again within it, again past it', async () => {
      expect(await lastUsed()).toBe(T0);
      await verify(token, T0 + 59_000);
      expect(await lastUsed()).toBe(T0);
      await verify(token, T0 + 60_000);
      expect(await lastUsed()).toBe(T0 + 60_000);
    });

    it('refuses a malformed token, an unknown one, and one one character off', async () => {
      const other = newBotToken();
      const offByOne = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
      for (const presented of ['pbt_short', `${token}x`, other, offByOne]) {
        await expect(verify(presented, T0), presented).rejects.toBeInstanceOf(AuthError);
      }
    });

    it('refuses a suspended bot with account_suspended, and a revoked token or a deleted bot as invalid', async () => {
      await store.db.updateTable('users').set({ suspended_at: T0, suspended_until: null }).where('id', '=', bot).execute();
      await expect(verify(token, T0)).rejects.toMatchObject({ code: 'account_suspended' });
      await expect(verify(token, T0)).rejects.toBeInstanceOf(Rejection);
      await store.db.updateTable('users').set({ suspended_at: null }).where('id', '=', bot).execute();
      await verify(token, T0);

      await store.db.updateTable('users').set({ deleted_at: T0 }).where('id', '=', bot).execute();
      await expect(verify(token, T0)).rejects.toBeInstanceOf(AuthError);
      await store.db.updateTable('users').set({ deleted_at: null }).where('id', '=', bot).execute();

      await store.db.updateTable('bot_tokens').set({ revoked_at: T0 }).where('id', '=', 'tok-1').execute();
      await expect(verify(token, T0)).rejects.toBeInstanceOf(AuthError);
    });
  });
}
