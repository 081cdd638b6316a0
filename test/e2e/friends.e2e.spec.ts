// Friend requests and friendships end to end, over real HTTP and WebSocket
// against a running Parley process (API.md "Friends and blocks"; reliability
// plan I-4 friend-request IDOR). Every test makes its own users.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { barrier } from '../support/chat.ts';
import type { Frame } from '../support/client.ts';
import { befriend, expectError, expectStatus, friendIds, pendingIds, sendFriendRequest, useParley } from '../support/social.ts';
import type { ErrorBody, Friend, FriendRequest, Friendship } from '../support/wire.ts';

const suite = useParley();
const connect = suite.connect;
const requestFrame = (type: string, requestId: string, status?: string) => (frame: Frame) =>
  frame.type === type && frame.data.id === requestId && (status === undefined || frame.data.status === status);

describe('sending a request', () => {
  test('POST /friends/requests → 201 {request} pending; the addressee gets a FRIEND_REQUEST frame; both lists show it', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'fr');
    const bobWs = await connect(bob!);
    const carolWs = await connect(carol!);

    const response = await suite.api.post<{ request: FriendRequest }>(alice!, '/friends/requests', { user_id: bob!.id });
    const { request } = expectStatus(response, 201);
    expect(request).toMatchObject({
      id: expect.any(String),
      from_user_id: alice!.id,
      to_user_id: bob!.id,
      status: 'pending',
      created_at: expect.any(Number),
    });

    const frame = await bobWs.next(requestFrame('FRIEND_REQUEST', request.id));
    expect(frame.data).toMatchObject({ id: request.id, from_user_id: alice!.id, to_user_id: bob!.id, status: 'pending' });
    // A bystander hears nothing of it.
    await barrier(carolWs);
    expect(carolWs.frames.filter((f) => f.type.startsWith('FRIEND_'))).toEqual([]);

    const incoming = expectStatus(
      await suite.api.get<{ requests: FriendRequest[] }>(bob!, '/friends/requests?direction=incoming'),
      200,
    );
    expect(incoming.requests).toEqual([expect.objectContaining({ id: request.id, from_user_id: alice!.id, status: 'pending' })]);
    const outgoing = expectStatus(
      await suite.api.get<{ requests: FriendRequest[] }>(alice!, '/friends/requests?direction=outgoing'),
      200,
    );
    expect(outgoing.requests).toEqual([expect.objectContaining({ id: request.id, to_user_id: bob!.id, status: 'pending' })]);
    // Each side sees it only in its own direction.
    expect(await pendingIds(suite.api, alice!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, bob!, 'outgoing')).toEqual([]);
    expect(await pendingIds(suite.api, carol!, 'incoming')).toEqual([]);
  });

  test('GET /friends/requests without direction lists incoming; a bad direction → 400', async () => {
    const [alice, bob] = await suite.api.users(2, 'frdir');
    const request = await sendFriendRequest(suite.api, alice!, bob!);
    const plain = expectStatus(await suite.api.get<{ requests: FriendRequest[] }>(bob!, '/friends/requests'), 200);
    expect(plain.requests.map((r: { id: string }) => r.id)).toEqual([request.id]);
    expectError(await suite.api.get(bob!, '/friends/requests?direction=sideways'), 400, 'validation_failed');
  });

  test('to yourself → 409 self_request, nothing pending', async () => {
    const [alice] = await suite.api.users(1, 'frself');
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: alice!.id }), 409, 'self_request');
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([]);
    expect(await pendingIds(suite.api, alice!, 'incoming')).toEqual([]);
  });

  test('twice, or the reverse while one is pending → 409 request_pending; the first stays the only one', async () => {
    const [alice, bob] = await suite.api.users(2, 'frdup');
    const first = await sendFriendRequest(suite.api, alice!, bob!);
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: bob!.id }), 409, 'request_pending');
    expectError(await suite.api.post(bob!, '/friends/requests', { user_id: alice!.id }), 409, 'request_pending');
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([first.id]);
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([first.id]);
    expect(await pendingIds(suite.api, bob!, 'outgoing')).toEqual([]);
  });

  test('10 concurrent requests between one pair (both directions) → exactly one 201, the rest 409 request_pending', async () => {
    const [alice, bob] = await suite.api.users(2, 'frrace');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? suite.api.post<{ request: FriendRequest }>(alice!, '/friends/requests', { user_id: bob!.id })
          : suite.api.post<{ request: FriendRequest }>(bob!, '/friends/requests', { user_id: alice!.id }),
      ),
    );
    const created = responses.filter((r) => r.status === 201);
    expect(created, JSON.stringify(responses.map((r) => r.status))).toHaveLength(1);
    for (const response of responses.filter((r) => r.status !== 201)) expectError(response, 409, 'request_pending');
    const all = [...(await pendingIds(suite.api, alice!, 'outgoing')), ...(await pendingIds(suite.api, bob!, 'outgoing'))];
    expect(all).toEqual([created[0]!.body.request.id]);
  });

  test('to a friend → 409 already_friends', async () => {
    const [alice, bob] = await suite.api.users(2, 'frfriend');
    await befriend(suite.api, alice!, bob!);
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: bob!.id }), 409, 'already_friends');
    expectError(await suite.api.post(bob!, '/friends/requests', { user_id: alice!.id }), 409, 'already_friends');
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
  });

  test('to an unknown user → 404 user_not_found; a non-UUID or extra fields → 400', async () => {
    const [alice] = await suite.api.users(1, 'frghost');
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: randomUUID() }), 404, 'user_not_found');
    expectError(await suite.api.post(alice!, '/friends/requests', { user_id: 'bob' }), 400, 'validation_failed');
    expectError(await suite.api.post(alice!, '/friends/requests', {}), 400, 'validation_failed');
    expectError(
      await suite.api.post(alice!, '/friends/requests', { user_id: randomUUID(), from_user_id: randomUUID() }),
      400,
      'validation_failed',
    );
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([]);
  });
});

describe('answering a request', () => {
  test('the addressee accepts → 200 with the friendship; FRIEND_REQUEST_UPDATED to both; both list each other; nothing pending', async () => {
    const [alice, bob] = await suite.api.users(2, 'acc');
    const aliceWs = await connect(alice!);
    const bobWs = await connect(bob!);
    const request = await sendFriendRequest(suite.api, alice!, bob!);

    const body = expectStatus(
      await suite.api.post<{ request: FriendRequest; friendship: Friendship }>(bob!, `/friends/requests/${request.id}/accept`),
      200,
    );
    expect(body.friendship).toMatchObject({ user_ids: expect.arrayContaining([alice!.id, bob!.id]) });
    expect(body.friendship.user_ids).toHaveLength(2);
    expect(body.request).toMatchObject({ id: request.id, status: 'accepted' });

    for (const ws of [aliceWs, bobWs]) {
      const frame = await ws.next(requestFrame('FRIEND_REQUEST_UPDATED', request.id));
      expect(frame.data).toMatchObject({ id: request.id, from_user_id: alice!.id, to_user_id: bob!.id, status: 'accepted' });
    }
    expect(await friendIds(suite.api, alice!)).toEqual([bob!.id]);
    expect(await friendIds(suite.api, bob!)).toEqual([alice!.id]);
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([]);
  });

  test('the sender cannot accept or reject their own request (404 request_not_found); it stays pending', async () => {
    const [alice, bob] = await suite.api.users(2, 'accself');
    const request = await sendFriendRequest(suite.api, alice!, bob!);
    expectError(await suite.api.post(alice!, `/friends/requests/${request.id}/accept`), 404, 'request_not_found');
    expectError(await suite.api.post(alice!, `/friends/requests/${request.id}/reject`), 404, 'request_not_found');
    expect(await friendIds(suite.api, alice!)).toEqual([]);
    expect(await friendIds(suite.api, bob!)).toEqual([]);
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([request.id]);
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([request.id]);
  });

  test("IDOR: a third user cannot see, accept, reject or cancel someone else's request (404, as for a missing one); state unchanged", async () => {
    const [alice, bob, mallory] = await suite.api.users(3, 'idor');
    const malloryWs = await connect(mallory!);
    const request = await sendFriendRequest(suite.api, alice!, bob!);

    expect(await pendingIds(suite.api, mallory!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, mallory!, 'outgoing')).toEqual([]);
    const ghost = randomUUID();
    for (const id of [request.id, ghost]) {
      expectError(await suite.api.post(mallory!, `/friends/requests/${id}/accept`), 404, 'request_not_found');
      expectError(await suite.api.post(mallory!, `/friends/requests/${id}/reject`), 404, 'request_not_found');
      expectError(await suite.api.del(mallory!, `/friends/requests/${id}`), 404, 'request_not_found');
    }
    // The real request and a made-up id are refused with the same body: existence does not leak.
    const real = await suite.api.post(mallory!, `/friends/requests/${request.id}/accept`);
    const fake = await suite.api.post(mallory!, `/friends/requests/${ghost}/accept`);
    expect(real.body).toEqual(fake.body);

    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([request.id]);
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([request.id]);
    expect(await friendIds(suite.api, mallory!)).toEqual([]);
    expect(await friendIds(suite.api, alice!)).toEqual([]);
    // The owner can still act on it.
    expectStatus(await suite.api.post(bob!, `/friends/requests/${request.id}/accept`), 200);
    await barrier(malloryWs);
    expect(malloryWs.frames.filter((f) => f.type.startsWith('FRIEND_'))).toEqual([]);
  });

  test('a request id that is not a UUID → 400 on accept, reject and cancel', async () => {
    const [alice] = await suite.api.users(1, 'badreq');
    expectError(await suite.api.post(alice!, '/friends/requests/not-a-uuid/accept'), 400);
    expectError(await suite.api.post(alice!, '/friends/requests/not-a-uuid/reject'), 400);
    expectError(await suite.api.del(alice!, '/friends/requests/not-a-uuid'), 400);
  });

  test('the addressee rejects → 200 rejected; FRIEND_REQUEST_UPDATED to both; no friendship; it cannot be accepted afterwards; a new request is possible', async () => {
    const [alice, bob] = await suite.api.users(2, 'rej');
    const aliceWs = await connect(alice!);
    const request = await sendFriendRequest(suite.api, alice!, bob!);
    const body = expectStatus(await suite.api.post(bob!, `/friends/requests/${request.id}/reject`), 200);
    expect(body.request).toMatchObject({ id: request.id, status: 'rejected' });
    expect((await aliceWs.next(requestFrame('FRIEND_REQUEST_UPDATED', request.id, 'rejected'))).data.status).toBe('rejected');

    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([]);
    expectError(await suite.api.post(bob!, `/friends/requests/${request.id}/accept`), 404, 'request_not_found');
    expect(await friendIds(suite.api, bob!)).toEqual([]);
    // Rejection is not a block: either side may ask again.
    const again = await sendFriendRequest(suite.api, bob!, alice!);
    expect(again.id).not.toBe(request.id);
  });

  test('only the sender cancels (DELETE) → 200 cancelled; the addressee cancelling → 404 and it stays pending', async () => {
    const [alice, bob] = await suite.api.users(2, 'cancel');
    const bobWs = await connect(bob!);
    const request = await sendFriendRequest(suite.api, alice!, bob!);
    expectError(await suite.api.del(bob!, `/friends/requests/${request.id}`), 404, 'request_not_found');
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([request.id]);

    const body = expectStatus(await suite.api.del(alice!, `/friends/requests/${request.id}`), 200);
    expect(body.request).toMatchObject({ id: request.id, status: 'cancelled' });
    await bobWs.next(requestFrame('FRIEND_REQUEST_UPDATED', request.id, 'cancelled'));
    expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
    expect(await pendingIds(suite.api, alice!, 'outgoing')).toEqual([]);
    expectError(await suite.api.post(bob!, `/friends/requests/${request.id}/accept`), 404, 'request_not_found');
    expectError(await suite.api.del(alice!, `/friends/requests/${request.id}`), 404, 'request_not_found');
    expect(await friendIds(suite.api, bob!)).toEqual([]);
  });

  test('20 concurrent accepts of one request → exactly one friendship, one row on each side, one FRIEND_REQUEST_UPDATED per party', async () => {
    const [alice, bob] = await suite.api.users(2, 'acc20');
    const aliceWs = await connect(alice!);
    const bobWs = await connect(bob!);
    const request = await sendFriendRequest(suite.api, alice!, bob!);

    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        suite.api.post<{ request: FriendRequest }>(bob!, `/friends/requests/${request.id}/accept`),
      ),
    );
    // The pair's one writer decides them in turn: the first accepts, every later
    // one finds the request already answered (404 request_not_found). Never a 5xx.
    const ok = responses.filter((r) => r.status === 200);
    expect(
      ok.length,
      JSON.stringify(responses.map((r) => [r.status, (r.body as Partial<ErrorBody> | undefined)?.error?.code])),
    ).toBe(1);
    for (const response of responses.filter((r) => r.status !== 200)) expectError(response, 404, 'request_not_found');
    expect(ok[0]!.body.request).toMatchObject({ id: request.id, status: 'accepted' });

    const aliceFriends = expectStatus(await suite.api.get<{ friends: Friend[] }>(alice!, '/friends'), 200).friends;
    const bobFriends = expectStatus(await suite.api.get<{ friends: Friend[] }>(bob!, '/friends'), 200).friends;
    expect(aliceFriends.map((f: { id: string }) => f.id)).toEqual([bob!.id]);
    expect(bobFriends.map((f: { id: string }) => f.id)).toEqual([alice!.id]);

    const accepted = requestFrame('FRIEND_REQUEST_UPDATED', request.id, 'accepted');
    await aliceWs.next(accepted);
    await bobWs.next(accepted);
    // A later notification as an ordering barrier: anything the accepts sent came before it.
    const later = await sendFriendRequest(suite.api, (await suite.api.users(1, 'late'))[0]!, alice!);
    await aliceWs.next(requestFrame('FRIEND_REQUEST', later.id));
    await barrier(aliceWs);
    await barrier(bobWs);
    expect(aliceWs.frames.filter(requestFrame('FRIEND_REQUEST_UPDATED', request.id))).toHaveLength(1);
    expect(bobWs.frames.filter(requestFrame('FRIEND_REQUEST_UPDATED', request.id))).toHaveLength(1);
  });

  test('accept racing cancel → either a friendship or a cancelled request, never both', async () => {
    for (let round = 0; round < 5; round++) {
      const [alice, bob] = await suite.api.users(2, 'race');
      const request = await sendFriendRequest(suite.api, alice!, bob!);
      const [accept, cancel] = await Promise.all([
        suite.api.post(bob!, `/friends/requests/${request.id}/accept`),
        suite.api.del(alice!, `/friends/requests/${request.id}`),
      ]);
      const statuses = [accept.status, cancel.status].sort();
      expect(statuses, `round ${round}: ${JSON.stringify([accept.body, cancel.body])}`).toEqual([200, 404]);
      const friends = await friendIds(suite.api, alice!);
      if (accept.status === 200) expect(friends).toEqual([bob!.id]);
      else expect(friends).toEqual([]);
      expect(await pendingIds(suite.api, bob!, 'incoming')).toEqual([]);
    }
  });
});

describe('friends', () => {
  test('GET /friends lists each friend as a user with status {online, last_seen_at}; online follows their socket', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'flist');
    await befriend(suite.api, alice!, bob!);
    await befriend(suite.api, carol!, alice!);

    const offline = expectStatus(await suite.api.get<{ friends: Friend[] }>(alice!, '/friends'), 200).friends;
    expect(offline.map((f: { id: string }) => f.id).sort()).toEqual([bob!.id, carol!.id].sort());
    for (const friend of offline) {
      expect(friend).toMatchObject({ id: expect.any(String), username: expect.any(String), display_name: expect.any(String) });
      expect(friend).not.toHaveProperty('email');
      expect(friend).not.toHaveProperty('password_hash');
      expect(friend.status).toEqual({ online: false, last_seen_at: null });
    }

    await connect(bob!);
    const online = expectStatus(await suite.api.get<{ friends: Friend[] }>(alice!, '/friends'), 200).friends;
    expect(online.find((f) => f.id === bob!.id)!.status.online).toBe(true);
    expect(online.find((f) => f.id === carol!.id)!.status.online).toBe(false);
  });

  test('unfriend → 204; the friend is gone on both sides; again → 409 not_friends; a new request is possible', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'unf');
    await befriend(suite.api, alice!, bob!);
    await befriend(suite.api, alice!, carol!);
    expect((await suite.api.del(bob!, `/friends/${alice!.id}`)).status).toBe(204);
    expect(await friendIds(suite.api, alice!)).toEqual([carol!.id]);
    expect(await friendIds(suite.api, bob!)).toEqual([]);
    expectError(await suite.api.del(alice!, `/friends/${bob!.id}`), 409, 'not_friends');
    expect(await friendIds(suite.api, carol!)).toEqual([alice!.id]);
    const again = await sendFriendRequest(suite.api, alice!, bob!);
    expect(again.status).toBe('pending');
  });

  test('unfriending a stranger → 409 not_friends; a non-UUID → 400', async () => {
    const [alice, stranger] = await suite.api.users(2, 'unfx');
    expectError(await suite.api.del(alice!, `/friends/${stranger!.id}`), 409, 'not_friends');
    expectError(await suite.api.del(alice!, '/friends/nobody'), 400);
  });
});
