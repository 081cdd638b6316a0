// One cursor over everything (API.md "Sync"; issue 14): GET /api/v1/sync
// gives a device every change it may see since its token — edits, reactions
// and deletions of older messages, receipts, membership, room updates, pins,
// friend requests, blocks — in order, as the frames the socket sends; pages
// never skip nor repeat; a long poll answers when news comes; a token older
// than the feed keeps answers 410. Over real HTTP against a running Parley.

import { describe, expect, test } from 'vitest';
import type { TestUser } from '../support/client.ts';
import { barrier, eventually } from '../support/chat.ts';
import { addMember, expectError, expectStatus, groupRoom, say, useParley, type Api } from '../support/social.ts';
import type { JsonObject } from '../support/wire.ts';

interface SyncAnswer {
  next_since: string;
  events: { type: string; data: JsonObject }[];
  has_more: boolean;
}

const sync = (api: Api, user: TestUser, query: string) => api.get<SyncAnswer>(user, `/sync${query}`);
const syncOk = async (api: Api, user: TestUser, since: string, extra = '') =>
  expectStatus(await sync(api, user, `?since=${encodeURIComponent(since)}${extra}`), 200);
const tokenNow = async (api: Api, user: TestUser) => {
  const answer = expectStatus(await sync(api, user, ''), 200);
  expect(answer.events).toEqual([]);
  return answer.next_since;
};

/** Every event from `since` to the feed's end, page by page; the token after it. */
async function syncAll(api: Api, user: TestUser, since: string, limit = 100) {
  const events: SyncAnswer['events'] = [];
  let token = since;
  for (;;) {
    const page = await syncOk(api, user, token, `&limit=${limit}`);
    events.push(...page.events);
    token = page.next_since;
    if (!page.has_more) return { events, token };
  }
}

describe('sync', () => {
  const suite = useParley();

  test('a device back online gets what changed in its rooms meanwhile, in order, as the socket frames show it', async () => {
    const { api } = suite;
    const [alice, bob, carol] = await api.users(3, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const older = await say(api, alice!, room.id, 'the plan');
    const since = await tokenNow(api, bob!);

    // While Bob's phone is off:
    const newer = await say(api, alice!, room.id, 'second thoughts');
    expectStatus(await api.patch(alice!, `/rooms/${room.id}/messages/${older.id}`, { content: 'the better plan' }), 200);
    expectStatus(await api.put(alice!, `/rooms/${room.id}/messages/${older.id}/reactions/👍`), 200);
    expectStatus(await api.put(alice!, `/rooms/${room.id}/pins/${older.id}`), 204);
    expectStatus(await api.patch(alice!, `/rooms/${room.id}`, { topic: 'plans' }), 200);
    expectStatus(await api.post(bob!, `/rooms/${room.id}/read`, { seq: newer.seq }), 200); // on his laptop
    expectStatus(await addMember(api, alice!, room.id, carol!), 201); // invited; she accepts
    expectStatus(await api.del(alice!, `/rooms/${room.id}/messages/${newer.id}`), 200);

    const { events, token } = await syncAll(api, bob!, since);
    expect(events.map((e) => e.type)).toEqual([
      'NEW_MESSAGE',
      'MESSAGE_UPDATED',
      'REACTION_UPDATED',
      'PIN_UPDATED',
      'ROOM_UPDATED',
      'READ_RECEIPT',
      'MEMBER_ADDED',
      'MESSAGE_DELETED',
    ]);
    // Objects as they stand now (the new message is deleted by now); ids-only frames as they were.
    expect(events[0]!.data).toMatchObject({ id: newer.id, room_id: room.id, seq: newer.seq, deleted: true, content: null });
    expect(events[1]!.data).toMatchObject({ id: older.id, content: 'the better plan', reactions: { '👍': [alice!.id] } });
    expect(events[3]!.data).toMatchObject({ chat_room_id: room.id, message_id: older.id, pinned: true, by: alice!.id });
    expect(events[4]!.data).toMatchObject({ id: room.id, topic: 'plans' });
    expect(events[5]!.data).toEqual({ chat_room_id: room.id, user_id: bob!.id, seq: newer.seq });
    expect(events[6]!.data).toMatchObject({ chat_room_id: room.id, user_id: carol!.id, role: 'member' });

    // Caught up: the next sync has nothing, and a token for the same place.
    const again = await syncOk(api, bob!, token);
    expect(again.events).toEqual([]);
    expect(again.has_more).toBe(false);
  });

  test('friend requests and blocks reach only the users they concern; a member removed hears it and nothing after', async () => {
    const { api } = suite;
    const [alice, bob, carol, dave] = await api.users(4, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const bobSince = await tokenNow(api, bob!);
    const carolSince = await tokenNow(api, carol!);
    const daveSince = await tokenNow(api, dave!);

    const { request } = expectStatus(
      await api.post<{ request: { id: string } }>(carol!, '/friends/requests', { user_id: bob!.id }),
      201,
    );
    expectStatus(await api.post(bob!, '/blocks', { user_id: dave!.id }), 204);
    expectStatus(await api.del(alice!, `/rooms/${room.id}/members/${bob!.id}`), 204);
    await say(api, alice!, room.id, 'now that Bob is gone');

    const bobSees = (await syncAll(api, bob!, bobSince)).events;
    expect(bobSees.map((e) => e.type).sort()).toEqual(['BLOCK_UPDATED', 'FRIEND_REQUEST', 'MEMBER_REMOVED']);
    expect(bobSees.find((e) => e.type === 'FRIEND_REQUEST')!.data).toMatchObject({ id: request.id, status: 'pending' });
    expect(bobSees.find((e) => e.type === 'BLOCK_UPDATED')!.data).toEqual({ user_id: dave!.id, blocked: true });
    expect(bobSees.find((e) => e.type === 'MEMBER_REMOVED')!.data).toEqual({
      chat_room_id: room.id,
      user_id: bob!.id,
      removed_by: alice!.id,
    });
    expect((await syncAll(api, carol!, carolSince)).events.map((e) => e.type)).toEqual(['FRIEND_REQUEST']);
    expect((await syncAll(api, dave!, daveSince)).events).toEqual([]); // a block is not told to the blocked
  });

  test('small pages walk the feed without a gap or a repeat', async () => {
    const { api } = suite;
    const [alice, bob] = await api.users(2, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const since = await tokenNow(api, bob!);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) sent.push((await say(api, alice!, room.id, `m${i}`)).id);

    const first = await syncOk(api, bob!, since, '&limit=2');
    expect(first.events).toHaveLength(2);
    expect(first.has_more).toBe(true);
    const { events } = await syncAll(api, bob!, since, 2);
    expect(events.map((e) => e.data.id)).toEqual(sent);
  });

  test('a long poll answers once something happens, and the token it gives continues from there', async () => {
    const { api } = suite;
    const [alice, bob] = await api.users(2, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const since = await tokenNow(api, bob!);

    // Nothing happens: it answers at its timeout with no events.
    const quiet = await syncOk(api, bob!, since, '&timeout_ms=300');
    expect(quiet.events).toEqual([]);

    let answered = false;
    const waiting = syncOk(api, bob!, quiet.next_since, '&timeout_ms=25000').finally(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(answered).toBe(false); // it waits for news
    const message = await say(api, alice!, room.id, 'are you there?');
    const woken = await waiting;
    expect(woken.events.map((e) => [e.type, e.data.id])).toEqual([['NEW_MESSAGE', message.id]]);
    expect((await syncOk(api, bob!, woken.next_since)).events).toEqual([]);
  });

  test('SYNC on a socket catches up from a token, then brings every change as it happens, once; the live frames of those changes stop on that socket only', async () => {
    const { api } = suite;
    const [alice, bob] = await api.users(2, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const since = await tokenNow(api, bob!);
    const offline = await say(api, alice!, room.id, 'while you were away');

    const synced = await suite.connect(bob!);
    const live = await suite.connect(bob!); // his other device, not on the feed
    const first = await synced.call<SyncAnswer>('SYNC', { since });
    expect(first.type).toBe('SYNC');
    expect(first.data.events.map((e) => [e.type, e.data.id])).toEqual([['NEW_MESSAGE', offline.id]]);

    // Bob never JOINed the room: the feed brings its messages anyway.
    const online = await say(api, alice!, room.id, 'welcome back');
    expectStatus(await api.patch(alice!, `/rooms/${room.id}/messages/${offline.id}`, { content: 'while you were out' }), 200);
    const fed = () => synced.frames.filter((f) => f.type === 'SYNC').flatMap((f) => (f.data as unknown as SyncAnswer).events);
    await eventually(() => fed().length >= 3, 'the changes reach the synced socket');
    await live.next((f) => f.type === 'MESSAGE_UPDATED' && f.data.id === offline.id);
    await barrier(synced);
    expect(fed().map((e) => [e.type, e.data.id])).toEqual([
      ['NEW_MESSAGE', offline.id],
      ['NEW_MESSAGE', online.id],
      ['MESSAGE_UPDATED', offline.id],
    ]);
    const liveTypes = new Set(['NEW_MESSAGE', 'MESSAGE_UPDATED']);
    expect(synced.frames.filter((f) => liveTypes.has(f.type))).toEqual([]);

    // The socket's last token continues over REST with nothing more.
    const syncFrames = synced.frames.filter((f) => f.type === 'SYNC');
    const lastToken = (syncFrames[syncFrames.length - 1]!.data as unknown as SyncAnswer).next_since;
    expect((await syncOk(api, bob!, lastToken)).events).toEqual([]);

    const refused = await synced.call('SYNC', { since: 'not-a-token' });
    expect(refused.data).toMatchObject({ code: 'validation_failed' });
  });

  test('a token that is not one, and out-of-range options, are 400; no token needs a login', async () => {
    const { api } = suite;
    const [bob] = await api.users(1, 'sync');
    expectError(await sync(api, bob!, '?since=not-a-token'), 400, 'validation_failed');
    const since = await tokenNow(api, bob!);
    expectError(await sync(api, bob!, `?since=${since}&timeout_ms=999999`), 400, 'validation_failed');
    expectError(await sync(api, bob!, `?since=${since}&limit=0`), 400, 'validation_failed');
    expectError(await sync(api, { ...bob!, token: 'forged' }, ''), 401);
  });
});

describe('sync with a short feed', () => {
  const suite = useParley({ PARLEY_SYNC_RETENTION_S: '1', PARLEY_SYNC_PRUNE_INTERVAL_MS: '200' });

  test('a token older than the feed keeps answers 410 sync_token_expired; a fresh one works', async () => {
    const { api } = suite;
    const [alice, bob] = await api.users(2, 'sync');
    const room = await groupRoom(api, alice!, [bob!]);
    const since = await tokenNow(api, bob!);
    await say(api, alice!, room.id, 'soon forgotten');
    await eventually(
      async () => (await sync(api, bob!, `?since=${encodeURIComponent(since)}`)).status === 410,
      'the old token expires',
    );
    expectError(await sync(api, bob!, `?since=${encodeURIComponent(since)}`), 410, 'sync_token_expired');

    const socket = await suite.connect(bob!);
    expect((await socket.call('SYNC', { since })).data).toMatchObject({ code: 'sync_token_expired' });

    // A device that resyncs starts again from a fresh token (nothing happens after it here, so nothing is pruned past it).
    const fresh = await tokenNow(api, bob!);
    expect((await syncOk(api, bob!, fresh)).events).toEqual([]);
  });
});
