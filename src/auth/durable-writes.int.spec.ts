// What lets someone in, or keeps them out, lives beside the read models and
// nowhere else: password hashes, session and bot-token revocations, spent
// one-time links. The embedded read-model file runs at synchronous = NORMAL
// (a power cut may take its last transactions; projections replay them from
// the log), but nothing replays these: a cut must not bring back a password
// changed after a compromise, a revoked session or a spent reset link. Each
// commits at FULL, the file back at NORMAL after. Checked on a real SQLite
// file by reading the connection's setting as each statement is about to run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL, NORMAL, openRecordedSqlite, type RecordedSqlite } from '../store/testing/synchronous-recorder.ts';
import { markBotTokenRevoked, revokeAllBotTokens, storeBotToken } from './bot-tokens.ts';
import { storePasswordHash, updatePasswordHash } from './credentials.ts';
import { issueOneTimeToken, spendOneTimeToken } from './one-time-tokens.ts';
import { createRefreshTokens } from './refresh-tokens.ts';

const user = '0190a1b2-c3d4-7e5f-8a9b-0000000000a1';
const bot = '0190a1b2-c3d4-7e5f-8a9b-0000000000b1';

describe('writes nothing else could restore, on SQLite', () => {
  let file: RecordedSqlite;
  beforeAll(async () => {
    file = await openRecordedSqlite();
  });
  afterAll(async () => {
    await file.db.destroy();
  });

  it('a password hash, stored and changed, commits at FULL', async () => {
    file.clear();
    await storePasswordHash(file.db, user, 'hash-1', 1);
    await updatePasswordHash(file.db, user, 'hash-2', 2);
    expect(file.writesOf('credentials')).toEqual([FULL, FULL]);
    expect(file.synchronous()).toBe(NORMAL);
  });

  it('revoking sessions commits at FULL; issuing one does not need to', async () => {
    const sessions = createRefreshTokens({ db: file.db, idleTtlS: 60, absoluteTtlS: 3_600 });
    await sessions.issue(user);
    file.clear();
    expect(await sessions.revokeAllForUser(user)).toBe(1);
    // Two passes (refresh-tokens.ts says why), both synced.
    expect(file.writesOf('refresh_tokens')).toEqual([FULL, FULL]);
    expect(file.synchronous()).toBe(NORMAL);
  });

  it("a bot token's creation and revocations commit at FULL", async () => {
    const token = (id: string) => ({
      id,
      user_id: bot,
      name: id,
      token_hash: `hash-${id}`,
      room_ids: null,
      created_by: user,
      created_at: 1,
      revoked_at: null,
    });
    file.clear();
    await storeBotToken(file.db, token('t1'));
    await storeBotToken(file.db, token('t2'));
    expect(await markBotTokenRevoked(file.db, bot, 't1', 5)).toBe(true);
    expect(await revokeAllBotTokens(file.db, bot, 6)).toEqual(['t2']);
    expect(file.writesOf('bot_tokens')).toEqual([FULL, FULL, FULL, FULL]);
    expect(file.synchronous()).toBe(NORMAL);
  });

  it('spending a one-time link commits at FULL, so it stays spent', async () => {
    const link = await issueOneTimeToken(file.db, user, 'password_reset', 60_000);
    file.clear();
    expect(await spendOneTimeToken(file.db, link, 'password_reset')).toEqual({ userId: user, email: null });
    expect(file.writesOf('account_tokens')).toEqual([FULL]);
    expect(await spendOneTimeToken(file.db, link, 'password_reset')).toBeUndefined();
    expect(file.synchronous()).toBe(NORMAL);
  });
});
