// Search end to end, over real HTTP against a running Parley process:
// GET /users?q= (API.md "Users and presence") and GET /search/messages
// (full text within the caller's rooms only; reliability plan H8 LIKE
// wildcards, I-2 reading a non-member room). Every test searches for words it
// made up itself, so other tests' data never matches.

import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { TestUser } from '../support/client.ts';
import { registerUser } from '../support/client.ts';
import { expectError, expectStatus, groupRoom, say, useParley } from '../support/social.ts';
import type { Message, User } from '../support/wire.ts';

const suite = useParley();

/** A fresh lower-case word of letters only, found nowhere else. */
const word = (prefix = 'w'): string => prefix + [...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('');

const findUsers = async (viewer: TestUser, query: string): Promise<User[]> =>
  expectStatus(await suite.api.get<{ users: User[] }>(viewer, `/users?${query}`), 200).users;
const userIds = async (viewer: TestUser, q: string, extra = ''): Promise<string[]> =>
  (await findUsers(viewer, `q=${encodeURIComponent(q)}${extra}`)).map((u) => u.id).sort();
const setDisplayName = async (user: TestUser, display_name: string) =>
  expectStatus(await suite.api.patch(user, '/users/me', { display_name }), 200);
const searchMessages = async (viewer: TestUser, q: string, extra = ''): Promise<Message[]> =>
  expectStatus(await suite.api.get<{ messages: Message[] }>(viewer, `/search/messages?q=${encodeURIComponent(q)}${extra}`), 200)
    .messages;
const foundIds = async (viewer: TestUser, q: string, extra = ''): Promise<string[]> =>
  (await searchMessages(viewer, q, extra)).map((m) => m.id).sort();
const sorted = (ids: string[]) => [...ids].sort();

describe('GET /users?q= (user search)', () => {
  test('matches a username prefix and a display-name prefix, case-insensitively; returns public user objects', async () => {
    const tag = word('n');
    const byName = await registerUser(suite.parley.url, tag);
    const [byDisplay, viewer] = await suite.api.users(2, 'srch');
    await setDisplayName(byDisplay!, `${tag.toUpperCase()} Display`);

    expect(await userIds(viewer!, tag)).toEqual(sorted([byName.id, byDisplay!.id]));
    expect(await userIds(viewer!, tag.toUpperCase())).toEqual(sorted([byName.id, byDisplay!.id]));
    expect(await userIds(viewer!, `${tag}_`)).toEqual([byName.id]);
    expect(await userIds(viewer!, `${tag} d`)).toEqual([byDisplay!.id]);
    // A prefix, not a substring.
    expect(await userIds(viewer!, tag.slice(2))).not.toContain(byName.id);

    const [user] = await findUsers(viewer!, `q=${tag}_`);
    expect(user).toEqual({
      id: byName.id,
      username: byName.username,
      display_name: expect.any(String),
      avatar_url: null,
      bio: expect.any(String),
      created_at: expect.any(Number),
      deleted: false,
      bot: false,
    });
  });

  test('display names outside ASCII match case-insensitively too (Élodie ↔ élodie, Ärger ↔ ärger, Олег ↔ олег)', async () => {
    const tag = word('');
    const [elodie, arger, oleg, viewer] = await suite.api.users(4, 'uniname');
    await setDisplayName(elodie!, `Élodie${tag}`);
    await setDisplayName(arger!, `Ärger${tag}`);
    await setDisplayName(oleg!, `Олег${tag}`);
    expect.soft(await userIds(viewer!, `Élodie${tag}`)).toEqual([elodie!.id]);
    expect.soft(await userIds(viewer!, `élodie${tag}`)).toEqual([elodie!.id]);
    expect.soft(await userIds(viewer!, `ärger${tag}`)).toEqual([arger!.id]);
    expect.soft(await userIds(viewer!, `олег${tag}`)).toEqual([oleg!.id]);
    expect.soft(await userIds(viewer!, `ОЛЕГ${tag.toUpperCase()}`)).toEqual([oleg!.id]);
  });

  test('`_` and `%` in the query match themselves, not any character', async () => {
    const tag = word('l');
    const underscore = await registerUser(suite.parley.url, tag); // username `${tag}_…`
    const letter = await registerUser(suite.parley.url, `${tag}x`); // username `${tag}x_…`
    const [percent, other, viewer] = await suite.api.users(3, 'lit');
    await setDisplayName(percent!, `${tag}% off`);
    await setDisplayName(other!, `${tag}5 off`);

    expect(await userIds(viewer!, `${tag}_`)).toEqual([underscore.id]);
    expect(await userIds(viewer!, `${tag}%`)).toEqual([percent!.id]);
    expect(await userIds(viewer!, tag)).toEqual(sorted([underscore.id, letter.id, percent!.id, other!.id]));
    expect(await userIds(viewer!, '%')).not.toContain(underscore.id);
    expect(await userIds(viewer!, '\\')).toEqual([]);
  });

  test('limit bounds the page; limit outside 1..100, a missing or empty q, or a 65-character q → 400', async () => {
    const tag = word('m');
    const [viewer] = await suite.api.users(1, 'lim');
    for (let i = 0; i < 4; i++) await registerUser(suite.parley.url, tag);
    expect(await userIds(viewer!, tag)).toHaveLength(4);
    expect(await userIds(viewer!, tag, '&limit=2')).toHaveLength(2);
    expect(await userIds(viewer!, tag, '&limit=1')).toHaveLength(1);
    expect(await userIds(viewer!, tag, '&limit=100')).toHaveLength(4);
    for (const query of [
      `q=${tag}&limit=0`,
      `q=${tag}&limit=101`,
      `q=${tag}&limit=abc`,
      `q=${tag}&limit=-1`,
      '',
      'q=',
      'q=%20%20',
      `q=${'a'.repeat(65)}`,
      `q=${tag}&role=admin`,
    ]) {
      expectError(await suite.api.get(viewer!, `/users?${query}`), 400, 'validation_failed');
    }
  });

  test('users I blocked and users who blocked me are not listed; others still are', async () => {
    const tag = word('b');
    const [me] = await suite.api.users(1, 'blkme');
    const blockedByMe = await registerUser(suite.parley.url, tag);
    const blockerOfMe = await registerUser(suite.parley.url, tag);
    const neutral = await registerUser(suite.parley.url, tag);
    expect((await suite.api.post(me!, '/blocks', { user_id: blockedByMe.id })).status).toBe(204);
    expect((await suite.api.post(blockerOfMe, '/blocks', { user_id: me!.id })).status).toBe(204);

    expect(await userIds(me!, tag)).toEqual([neutral.id]);
    expect(await userIds(me!, tag, '&limit=1')).toEqual([neutral.id]);
    // The block hides me from them too.
    const myTag = me!.username;
    expect(await userIds(blockerOfMe, myTag)).not.toContain(me!.id);
    expect(await userIds(blockedByMe, myTag)).not.toContain(me!.id);
    expect(await userIds(neutral, myTag)).toContain(me!.id);
  });

  test('SQL-looking queries are plain text: 200 with no match, never a 5xx', async () => {
    const [viewer] = await suite.api.users(1, 'sqli');
    for (const q of ["' OR '1'='1", "'; DROP TABLE users;--", '") OR 1=1 --', 'a\\%_']) {
      expect(await userIds(viewer!, q)).toEqual([]);
    }
  });
});

describe('GET /search/messages', () => {
  test('finds matching messages in my rooms only; a match in a room I am not in never appears', async () => {
    const w = word();
    const [alice, bob, carol] = await suite.api.users(3, 'fts');
    const shared = await groupRoom(suite.api, alice!, [bob!]);
    const alicesOwn = await groupRoom(suite.api, alice!);
    const carols = await groupRoom(suite.api, carol!);
    const inShared = await say(suite.api, bob!, shared.id, `meeting about ${w} tomorrow`);
    const inOwn = await say(suite.api, alice!, alicesOwn.id, `notes on ${w}`);
    const inCarols = await say(suite.api, carol!, carols.id, `carol's secret ${w}`);
    await say(suite.api, alice!, shared.id, 'unrelated words');

    const found = await searchMessages(alice!, w);
    expect(found.map((m) => m.id).sort()).toEqual(sorted([inShared.id, inOwn.id]));
    expect(found.find((m) => m.id === inShared.id)).toEqual(inShared);
    expect(await foundIds(bob!, w)).toEqual([inShared.id]);
    expect(await foundIds(carol!, w)).toEqual([inCarols.id]);
  });

  test('room_id narrows the search to that room; a room I am not in gives nothing (no 404 leak, no results)', async () => {
    const w = word();
    const [alice, carol] = await suite.api.users(2, 'ftsroom');
    const one = await groupRoom(suite.api, alice!);
    const two = await groupRoom(suite.api, alice!);
    const carols = await groupRoom(suite.api, carol!);
    const a = await say(suite.api, alice!, one.id, `${w} in one`);
    const b = await say(suite.api, alice!, two.id, `${w} in two`);
    await say(suite.api, carol!, carols.id, `${w} in carol's`);
    expect(await foundIds(alice!, w, `&room_id=${one.id}`)).toEqual([a.id]);
    expect(await foundIds(alice!, w, `&room_id=${two.id}`)).toEqual([b.id]);
    expect(await foundIds(alice!, w, `&room_id=${carols.id}`)).toEqual([]);
    expectError(await suite.api.get(alice!, `/search/messages?q=${w}&room_id=nope`), 400, 'validation_failed');
  });

  test('a member removed from a room no longer finds its messages', async () => {
    const w = word();
    const [alice, bob] = await suite.api.users(2, 'ftsrm');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const message = await say(suite.api, alice!, room.id, `before removal ${w}`);
    expect(await foundIds(bob!, w)).toEqual([message.id]);
    expect((await suite.api.del(alice!, `/rooms/${room.id}/members/${bob!.id}`)).status).toBe(204);
    expect(await foundIds(bob!, w)).toEqual([]);
  });

  test('deleted messages are not found; edited ones are found by their new words and not their old ones', async () => {
    const [gone, before, after] = [word(), word(), word()];
    const [alice] = await suite.api.users(1, 'ftsedit');
    const room = await groupRoom(suite.api, alice!);
    const doomed = await say(suite.api, alice!, room.id, `delete me ${gone}`);
    expect(await foundIds(alice!, gone)).toEqual([doomed.id]);
    expectStatus(await suite.api.del(alice!, `/rooms/${room.id}/messages/${doomed.id}`), 200);
    expect(await foundIds(alice!, gone)).toEqual([]);

    const changing = await say(suite.api, alice!, room.id, `first draft ${before}`);
    expectStatus(
      await suite.api.patch(alice!, `/rooms/${room.id}/messages/${changing.id}`, { content: `second draft ${after}` }),
      200,
    );
    const found = await searchMessages(alice!, after);
    expect(found.map((m) => m.id)).toEqual([changing.id]);
    expect(found[0]!.content).toBe(`second draft ${after}`);
    expect(await foundIds(alice!, before)).toEqual([]);
  });

  test('every word must match; words match as prefixes; letter case does not matter', async () => {
    const [x, y] = [word(), word()];
    const [alice] = await suite.api.users(1, 'ftswords');
    const room = await groupRoom(suite.api, alice!);
    const both = await say(suite.api, alice!, room.id, `${x} and ${y}`);
    const onlyX = await say(suite.api, alice!, room.id, `just ${x}`);
    expect(await foundIds(alice!, x)).toEqual(sorted([both.id, onlyX.id]));
    expect(await foundIds(alice!, `${x} ${y}`)).toEqual([both.id]);
    expect(await foundIds(alice!, y.slice(0, 6))).toEqual([both.id]);
    expect(await foundIds(alice!, y.toUpperCase())).toEqual([both.id]);
  });

  test.each([
    ['Cyrillic, any case', 'Привет, мир', 'привет'],
    ['Cyrillic upper-case query', 'доброе утро', 'УТРО'],
    ['German with umlauts', 'Grüße aus Köln', 'köln'],
    ['Greek', 'καλημέρα κόσμε', 'καλημέρα'],
    ['accented French', 'un café crème', 'café'],
  ])('unicode words: %s', async (_label, text, query) => {
    const w = word();
    const [alice] = await suite.api.users(1, 'ftsuni');
    const room = await groupRoom(suite.api, alice!);
    const message = await say(suite.api, alice!, room.id, `${text} ${w}`);
    await say(suite.api, alice!, room.id, `${text} without the tag`);
    expect(await foundIds(alice!, `${query} ${w}`)).toEqual([message.id]);
  });

  test('query syntax is plain text: operators, quotes and stars never error; a query with no words finds nothing; bad parameters → 400', async () => {
    const w = word();
    const [alice] = await suite.api.users(1, 'ftsops');
    const room = await groupRoom(suite.api, alice!);
    const message = await say(suite.api, alice!, room.id, `plain ${w} text`);
    for (const q of [`"${w}`, `${w}*`, `${w} OR nothing`, `NEAR(${w})`, `${w} -plain`, `content:${w}`, `(${w}`]) {
      const response = await suite.api.get(alice!, `/search/messages?q=${encodeURIComponent(q)}`);
      expect(response.status, `${q}: ${JSON.stringify(response.body)}`).toBe(200);
    }
    expect(await foundIds(alice!, `"${w}"`)).toEqual([message.id]);
    expect(await searchMessages(alice!, '*** ""')).toEqual([]);
    for (const query of ['', 'q=', `q=${w}&limit=0`, `q=${w}&limit=51`, `q=${'a'.repeat(201)}`, `q=${w}&sender_id=x`]) {
      expectError(await suite.api.get(alice!, `/search/messages?${query}`), 400, 'validation_failed');
    }
  });

  test('limit caps the results', async () => {
    const w = word();
    const [alice] = await suite.api.users(1, 'ftslim');
    const room = await groupRoom(suite.api, alice!);
    for (let i = 0; i < 5; i++) await say(suite.api, alice!, room.id, `${w} number ${i}`);
    expect(await searchMessages(alice!, w)).toHaveLength(5);
    expect(await searchMessages(alice!, w, '&limit=2')).toHaveLength(2);
  });
});
