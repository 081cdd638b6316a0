// Direct rooms end to end, over real HTTP against a running Parley process
// (API.md "POST /rooms/direct": the one direct room of the pair, same id every
// time; needs friendship, no block). Blocks and the direct room are in
// blocks.e2e.spec.ts.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { eventually } from '../support/chat.ts';
import type { TestUser } from '../support/client.ts';
import {
  befriend,
  expectError,
  expectStatus,
  messagesOf,
  openDirect,
  postMessage,
  roomWhen,
  say,
  useParley,
} from '../support/social.ts';
import type { Room, RoomSummary } from '../support/wire.ts';

const suite = useParley();

const directRoomsOf = async (user: TestUser): Promise<RoomSummary[]> =>
  expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(user, '/rooms'), 200).rooms.filter((r) => r.type === 'direct');

describe('opening a direct room', () => {
  test('without a friendship → 409 not_friends (also with a pending request); no room appears', async () => {
    const [alice, bob] = await suite.api.users(2, 'dmnf');
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: bob!.id }), 409, 'not_friends');
    await suite.api.post(alice!, '/friends/requests', { user_id: bob!.id });
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: bob!.id }), 409, 'not_friends');
    expectError(await suite.api.post(bob!, '/rooms/direct', { user_id: alice!.id }), 409, 'not_friends');
    expect(await directRoomsOf(alice!)).toEqual([]);
    expect(await directRoomsOf(bob!)).toEqual([]);
  });

  test('with yourself → 409 self_request; an unknown user → 404 user_not_found; a bad body → 400', async () => {
    const [alice] = await suite.api.users(1, 'dmbad');
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: alice!.id }), 409, 'self_request');
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: randomUUID() }), 404, 'user_not_found');
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: 'bob' }), 400, 'validation_failed');
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: randomUUID(), name: 'x' }), 400, 'validation_failed');
  });

  test('friends → 201 a direct room with exactly the two as members; the same id whichever side asks, however often', async () => {
    const [alice, bob] = await suite.api.users(2, 'dm');
    await befriend(suite.api, alice!, bob!);
    const room = await openDirect(suite.api, alice!, bob!);
    expect(room).toMatchObject({ id: expect.any(String), type: 'direct', closed: false });
    expect(room.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([alice!.id, bob!.id].sort());
    expect(room.members).toHaveLength(2);

    for (let i = 0; i < 3; i++) {
      expect((await openDirect(suite.api, alice!, bob!)).id).toBe(room.id);
      expect((await openDirect(suite.api, bob!, alice!)).id).toBe(room.id);
    }
    for (const user of [alice!, bob!]) {
      const rooms = await directRoomsOf(user);
      expect(rooms.map((r) => r.id)).toEqual([room.id]);
      const seen = expectStatus(await suite.api.get(user, `/rooms/${room.id}`), 200);
      expect(seen.members).toHaveLength(2);
      expect(seen.type).toBe('direct');
    }
  });

  test('accepting a friendship opens the direct room by itself (the same one POST /rooms/direct returns)', async () => {
    const [alice, bob] = await suite.api.users(2, 'dmpm');
    await befriend(suite.api, alice!, bob!);
    // Nobody asks for the room: the process manager opens it on the accepted friendship.
    let listed: RoomSummary[] = [];
    await eventually(async () => (listed = await directRoomsOf(bob!)).length > 0, "the direct room appears in bob's list");
    expect(listed).toHaveLength(1);
    const room = await roomWhen(suite.api, alice!, listed[0]!.id, () => true, 'alice can read the direct room');
    expect(room.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([alice!.id, bob!.id].sort());
    expect((await openDirect(suite.api, bob!, alice!)).id).toBe(listed[0]!.id);
    expect((await openDirect(suite.api, alice!, bob!)).id).toBe(listed[0]!.id);
  });

  test('10 concurrent POST /rooms/direct from both sides → one room, one id, two members', async () => {
    const [alice, bob] = await suite.api.users(2, 'dm10');
    await befriend(suite.api, alice!, bob!);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        i % 2 === 0
          ? suite.api.post<Room>(alice!, '/rooms/direct', { user_id: bob!.id })
          : suite.api.post<Room>(bob!, '/rooms/direct', { user_id: alice!.id }),
      ),
    );
    for (const response of responses) expect(response.status, JSON.stringify(response.body)).toBe(201);
    const ids = new Set(responses.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    const [roomId] = [...ids];
    expect(await directRoomsOf(alice!)).toHaveLength(1);
    expect(await directRoomsOf(bob!)).toHaveLength(1);
    const room = expectStatus(await suite.api.get(alice!, `/rooms/${roomId}`), 200);
    expect(room.members).toHaveLength(2);
  });

  test('different pairs get different rooms', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'dmpairs');
    await befriend(suite.api, alice!, bob!);
    await befriend(suite.api, alice!, carol!);
    await befriend(suite.api, bob!, carol!);
    const ab = (await openDirect(suite.api, alice!, bob!)).id;
    const ac = (await openDirect(suite.api, alice!, carol!)).id;
    const bc = (await openDirect(suite.api, bob!, carol!)).id;
    expect(new Set([ab, ac, bc]).size).toBe(3);
    expect((await directRoomsOf(alice!)).map((r) => r.id).sort()).toEqual([ab, ac].sort());
  });
});

describe('inside a direct room', () => {
  test('both can post and read; messages count 1, 2, 3', async () => {
    const [alice, bob] = await suite.api.users(2, 'dmchat');
    await befriend(suite.api, alice!, bob!);
    const roomId = (await openDirect(suite.api, alice!, bob!)).id;
    await say(suite.api, alice!, roomId, 'hi bob');
    await say(suite.api, bob!, roomId, 'hi alice');
    await say(suite.api, alice!, roomId, 'how are you');
    expect((await messagesOf(suite.api, bob!, roomId)).map((m) => [m.seq, m.content])).toEqual([
      [1, 'hi bob'],
      [2, 'hi alice'],
      [3, 'how are you'],
    ]);
  });

  test('add member, remove member, leave, rename, set topic and change role → 409 invalid_state; the room keeps its two members', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'dmfixed');
    await befriend(suite.api, alice!, bob!);
    const room = await openDirect(suite.api, alice!, bob!);
    const path = `/rooms/${room.id}`;
    expectError(await suite.api.post(alice!, `${path}/members`, { user_id: carol!.id }), 409, 'invalid_state');
    expectError(await suite.api.del(alice!, `${path}/members/${bob!.id}`), 409, 'invalid_state');
    expectError(await suite.api.del(bob!, `${path}/members/${bob!.id}`), 409, 'invalid_state');
    expectError(await suite.api.patch(alice!, path, { name: 'our room' }), 409, 'invalid_state');
    expectError(await suite.api.patch(bob!, path, { topic: 'anything' }), 409, 'invalid_state');
    expectError(await suite.api.patch(alice!, `${path}/members/${bob!.id}`, { role: 'admin' }), 409, 'invalid_state');

    const after = expectStatus(await suite.api.get<Room>(alice!, path), 200);
    expect(after.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([alice!.id, bob!.id].sort());
    expect(after.name).toBe(room.name);
    expectError(await suite.api.get(carol!, path), 404, 'room_not_found');
  });

  test('a third user cannot read, post into or act on a direct room (404 room_not_found, as for a missing room)', async () => {
    const [alice, bob, mallory] = await suite.api.users(3, 'dmidor');
    await befriend(suite.api, alice!, bob!);
    const roomId = (await openDirect(suite.api, alice!, bob!)).id;
    const secret = await say(suite.api, alice!, roomId, 'just between us');
    const path = `/rooms/${roomId}`;
    expectError(await suite.api.get(mallory!, path), 404, 'room_not_found');
    expectError(await suite.api.get(mallory!, `${path}/messages`), 404, 'room_not_found');
    expectError(
      await postMessage(suite.api, mallory!, roomId, { client_msg_id: randomUUID(), content: 'hi' }),
      404,
      'room_not_found',
    );
    expectError(await suite.api.post(mallory!, `${path}/members`, { user_id: mallory!.id }), 404, 'room_not_found');
    expectError(await suite.api.patch(mallory!, `${path}/messages/${secret.id}`, { content: 'edited' }), 404, 'room_not_found');
    expectError(await suite.api.del(mallory!, `${path}/messages/${secret.id}`), 404, 'room_not_found');
    expectError(await suite.api.post(mallory!, `${path}/read`, { seq: 1 }), 404, 'room_not_found');
    const search = expectStatus(await suite.api.get(mallory!, `/search/messages?q=between&room_id=${roomId}`), 200);
    expect(search.messages).toEqual([]);
    expect((await messagesOf(suite.api, bob!, roomId)).map((m) => m.content)).toEqual(['just between us']);
  });

  test("unfriending keeps the direct room's history readable to the pair; POST /rooms/direct then → 409 not_friends", async () => {
    const [alice, bob] = await suite.api.users(2, 'dmunf');
    await befriend(suite.api, alice!, bob!);
    const roomId = (await openDirect(suite.api, alice!, bob!)).id;
    await say(suite.api, alice!, roomId, 'before');
    expect((await suite.api.del(alice!, `/friends/${bob!.id}`)).status).toBe(204);
    expectError(await suite.api.post(alice!, '/rooms/direct', { user_id: bob!.id }), 409, 'not_friends');
    expect((await messagesOf(suite.api, bob!, roomId)).map((m) => m.content)).toEqual(['before']);
  });
});
