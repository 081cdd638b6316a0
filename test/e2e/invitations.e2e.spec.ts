// Consent to rooms, end to end over real HTTP and WebSocket against a running
// Parley process (API.md "Invitations"; issue 11's probe): nobody is put into a
// group room by someone who is not their friend — they are invited, hear of it
// as ROOM_INVITE, and join only by accepting — and nobody brings a user who
// blocked them (or whom they blocked) into any room, so a block cannot be
// walked around through a group room.

import { describe, expect, test } from 'vitest';
import { barrier } from '../support/chat.ts';
import type { TestUser } from '../support/client.ts';
import { befriend, expectError, expectStatus, messagesOf, say, useParley } from '../support/social.ts';
import type { Room } from '../support/wire.ts';

const suite = useParley();

interface Invitation {
  chat_room_id: string;
  room_name: string;
  role: string;
  invited_by: string;
  invited_at: number;
}

const invitationsOf = async (user: TestUser): Promise<Invitation[]> =>
  expectStatus(await suite.api.get<{ invitations: Invitation[] }>(user, '/invitations'), 200).invitations;
const createRoom = async (owner: TestUser, members: TestUser[], name = 'plans') =>
  suite.api.post<Room>(owner, '/rooms', { name, member_ids: members.map((m) => m.id) });
const memberIds = (room: Room) => room.members.map((m) => m.user_id).sort();
const block = async (who: TestUser, whom: TestUser) =>
  expect((await suite.api.post(who, '/blocks', { user_id: whom.id })).status).toBe(204);

describe('a stranger is invited, not added', () => {
  test('creating a room with a non-friend invites them: no membership, no messages, until they accept', async () => {
    const [alice, friend, stranger] = await suite.api.users(3, 'inv');
    await befriend(suite.api, alice!, friend!);
    const room = expectStatus(await createRoom(alice!, [friend!, stranger!], 'Project X'), 201);
    expect(memberIds(room)).toEqual([alice!.id, friend!.id].sort());
    expect(room.invitations).toEqual([
      { user_id: stranger!.id, role: 'member', invited_by: alice!.id, invited_at: expect.any(Number) },
    ]);
    await say(suite.api, alice!, room.id, 'before the stranger answers');

    // Not a member: the room is as invisible to them as any other.
    expectError(await suite.api.get(stranger!, `/rooms/${room.id}`), 404, 'room_not_found');
    expectError(await suite.api.get(stranger!, `/rooms/${room.id}/messages`), 404, 'room_not_found');
    expect(expectStatus(await suite.api.get<{ rooms: unknown[] }>(stranger!, '/rooms'), 200).rooms).toEqual([]);
    expect(await invitationsOf(stranger!)).toEqual([
      { chat_room_id: room.id, room_name: 'Project X', role: 'member', invited_by: alice!.id, invited_at: expect.any(Number) },
    ]);

    const joined = expectStatus(await suite.api.post<Room>(stranger!, `/invitations/${room.id}/accept`), 200);
    expect(memberIds(joined)).toEqual([alice!.id, friend!.id, stranger!.id].sort());
    expect(joined.invitations).toEqual([]);
    expect(joined.members.find((m) => m.user_id === stranger!.id)?.role).toBe('member');
    expect((await messagesOf(suite.api, stranger!, room.id)).map((m) => m.content)).toEqual(['before the stranger answers']);
    expect(await invitationsOf(stranger!)).toEqual([]);
    // Accepting again is harmless.
    expect((await suite.api.post(stranger!, `/invitations/${room.id}/accept`)).status).toBe(200);
  });

  test('the invitee hears of it over the socket (ROOM_INVITE), then receives the room once joined', async () => {
    const [alice, bob] = await suite.api.users(2, 'invws');
    const bobWs = await suite.connect(bob!);
    const room = expectStatus(await createRoom(alice!, [bob!], 'by socket'), 201);
    const invite = await bobWs.next<Invitation>((f) => f.type === 'ROOM_INVITE');
    expect(invite.data).toEqual({
      chat_room_id: room.id,
      room_name: 'by socket',
      role: 'member',
      invited_by: alice!.id,
      invited_at: expect.any(Number),
    });
    await say(suite.api, alice!, room.id, 'not for bob yet');
    expectStatus(await suite.api.post(bob!, `/invitations/${room.id}/accept`), 200);
    await say(suite.api, alice!, room.id, 'welcome bob');
    const delivered = await bobWs.next<{ content: string }>((f) => f.type === 'NEW_MESSAGE' && f.data.content === 'welcome bob');
    expect(delivered.data.content).toBe('welcome bob');
    await barrier(bobWs);
    expect(bobWs.frames.filter((f) => f.type === 'NEW_MESSAGE').map((f) => f.data.content)).toEqual(['welcome bob']);
  });

  test("an invitation that ends without a join leaves the invitee's devices (ROOM_INVITE_ENDED): declined on one, withdrawn by the owner", async () => {
    const [alice, bob] = await suite.api.users(2, 'invend');
    const phone = await suite.connect(bob!);
    const laptop = await suite.connect(bob!);
    const declined = expectStatus(await createRoom(alice!, [bob!], 'no thanks'), 201);
    await laptop.next((f) => f.type === 'ROOM_INVITE' && f.data.chat_room_id === declined.id);
    expect((await suite.api.post(bob!, `/invitations/${declined.id}/decline`)).status).toBe(204); // on the phone
    const ended = await laptop.next((f) => f.type === 'ROOM_INVITE_ENDED' && f.data.chat_room_id === declined.id);
    expect(ended.data).toEqual({ chat_room_id: declined.id, reason: 'declined' });

    const withdrawn = expectStatus(await createRoom(alice!, [bob!], 'never mind'), 201);
    await phone.next((f) => f.type === 'ROOM_INVITE' && f.data.chat_room_id === withdrawn.id);
    expect((await suite.api.del(alice!, `/rooms/${withdrawn.id}/members/${bob!.id}`)).status).toBe(204);
    const gone = await phone.next((f) => f.type === 'ROOM_INVITE_ENDED' && f.data.chat_room_id === withdrawn.id);
    expect(gone.data).toEqual({ chat_room_id: withdrawn.id, reason: 'withdrawn' });
    expect(await invitationsOf(bob!)).toEqual([]);
  });

  test('adding a non-friend to an existing room invites them; adding a friend adds them at once', async () => {
    const [alice, friend, stranger] = await suite.api.users(3, 'invadd');
    await befriend(suite.api, alice!, friend!);
    const room = expectStatus(await createRoom(alice!, []), 201);
    const afterFriend = expectStatus(
      await suite.api.post<Room>(alice!, `/rooms/${room.id}/members`, { user_id: friend!.id }),
      201,
    );
    expect(memberIds(afterFriend)).toEqual([alice!.id, friend!.id].sort());
    const afterStranger = expectStatus(
      await suite.api.post<Room>(alice!, `/rooms/${room.id}/members`, { user_id: stranger!.id, role: 'admin' }),
      201,
    );
    expect(memberIds(afterStranger)).toEqual([alice!.id, friend!.id].sort());
    expect(afterStranger.invitations.map((i) => [i.user_id, i.role])).toEqual([[stranger!.id, 'admin']]);
    // The role invited as is the role joined as.
    const joined = expectStatus(await suite.api.post<Room>(stranger!, `/invitations/${room.id}/accept`), 200);
    expect(joined.members.find((m) => m.user_id === stranger!.id)?.role).toBe('admin');
  });

  test('declining ends the invitation: no membership, nothing left to accept', async () => {
    const [alice, bob] = await suite.api.users(2, 'invno');
    const room = expectStatus(await createRoom(alice!, [bob!]), 201);
    expect((await suite.api.post(bob!, `/invitations/${room.id}/decline`)).status).toBe(204);
    expect(await invitationsOf(bob!)).toEqual([]);
    expectError(await suite.api.post(bob!, `/invitations/${room.id}/accept`), 404, 'invitation_not_found');
    const seen = expectStatus(await suite.api.get<Room>(alice!, `/rooms/${room.id}`), 200);
    expect(memberIds(seen)).toEqual([alice!.id]);
    expect(seen.invitations).toEqual([]);
  });

  test('an owner withdraws an invitation; nobody accepts an invitation they do not have', async () => {
    const [alice, bob, mallory] = await suite.api.users(3, 'invwd');
    const room = expectStatus(await createRoom(alice!, [bob!]), 201);
    expectError(await suite.api.post(mallory!, `/invitations/${room.id}/accept`), 404, 'invitation_not_found');
    expect((await suite.api.del(alice!, `/rooms/${room.id}/members/${bob!.id}`)).status).toBe(204);
    expect(await invitationsOf(bob!)).toEqual([]);
    expectError(await suite.api.post(bob!, `/invitations/${room.id}/accept`), 404, 'invitation_not_found');
    expect(memberIds(expectStatus(await suite.api.get<Room>(alice!, `/rooms/${room.id}`), 200))).toEqual([alice!.id]);
  });
});

describe('a block holds in group rooms', () => {
  test('a blocked user cannot put the blocker into a room they create, nor add them to one they manage', async () => {
    const [alice, mallory] = await suite.api.users(2, 'blkgrp');
    await block(alice!, mallory!);
    const aliceWs = await suite.connect(alice!);

    expectError(await createRoom(mallory!, [alice!], 'let me in'), 403, 'blocked');
    const own = expectStatus(await createRoom(mallory!, []), 201);
    expectError(await suite.api.post(mallory!, `/rooms/${own.id}/members`, { user_id: alice!.id }), 403, 'blocked');

    expect(await invitationsOf(alice!)).toEqual([]);
    expect(expectStatus(await suite.api.get<{ rooms: unknown[] }>(alice!, '/rooms'), 200).rooms).toEqual([]);
    await barrier(aliceWs);
    expect(aliceWs.frames.filter((f) => ['ROOM_INVITE', 'MEMBER_ADDED', 'NEW_MESSAGE'].includes(f.type))).toEqual([]);
  });

  test('the blocker cannot add the user they blocked either', async () => {
    const [alice, mallory] = await suite.api.users(2, 'blkown');
    await block(alice!, mallory!);
    expectError(await createRoom(alice!, [mallory!]), 403, 'blocked');
  });

  test('an invitation from someone blocked afterwards cannot be accepted', async () => {
    const [alice, mallory] = await suite.api.users(2, 'blklate');
    const room = expectStatus(await createRoom(mallory!, [alice!]), 201);
    expect((await invitationsOf(alice!)).map((i) => i.chat_room_id)).toEqual([room.id]);
    await block(alice!, mallory!);
    // No longer listed, and it cannot be accepted.
    expect(await invitationsOf(alice!)).toEqual([]);
    expectError(await suite.api.post(alice!, `/invitations/${room.id}/accept`), 403, 'blocked');
    expectError(await suite.api.get(alice!, `/rooms/${room.id}`), 404, 'room_not_found');
  });
});
