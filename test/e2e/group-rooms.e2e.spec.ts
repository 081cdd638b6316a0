// Group room management end to end, over real HTTP and WebSocket against a
// running Parley process (API.md "Rooms and messages": PATCH /rooms/:id,
// members and roles, ROOM_UPDATED / MEMBER_ADDED / MEMBER_REMOVED frames;
// reliability plan I-7 role escalation). Creating rooms, adding and removing
// plain members and the 404s of non-members are in rooms.e2e.spec.ts.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { barrier, newMessagesIn, range1 } from '../support/chat.ts';
import type { Frame, TestUser } from '../support/client.ts';
import {
  addMember as addMemberAs,
  expectError,
  expectStatus,
  groupRoom,
  messagesOf,
  postMessage,
  roleIn,
  say,
  useParley,
} from '../support/social.ts';
import type { Room, RoomSummary } from '../support/wire.ts';

const suite = useParley();
const connect = suite.connect;
const getRoom = async (user: TestUser, roomId: string) => expectStatus(await suite.api.get<Room>(user, `/rooms/${roomId}`), 200);
const setRole = (actor: TestUser, roomId: string, target: TestUser, role: string) =>
  suite.api.patch<Room>(actor, `/rooms/${roomId}/members/${target.id}`, { role });
/** Adds `target` (who accepts the invitation, being no friend of the actor's). */
const addMember = (actor: TestUser, roomId: string, target: TestUser, role?: string) =>
  addMemberAs(suite.api, actor, roomId, target, role);
const removeMember = (actor: TestUser, roomId: string, target: TestUser) =>
  suite.api.del(actor, `/rooms/${roomId}/members/${target.id}`);
const framesOf = (type: string, roomId: string) => (frame: Frame) =>
  frame.type === type && (frame.data.chat_room_id === roomId || frame.data.id === roomId);

/** A room with an owner, an admin and a plain member. */
async function staffedRoom(): Promise<{ owner: TestUser; admin: TestUser; member: TestUser; roomId: string }> {
  const [owner, admin, member] = await suite.api.users(3, 'staff');
  const room = await groupRoom(suite.api, owner!, [member!]);
  expectStatus(await addMember(owner!, room.id, admin!, 'admin'), 201);
  return { owner: owner!, admin: admin!, member: member!, roomId: room.id };
}

describe('renaming and the topic', () => {
  test('the owner and an admin set name and topic → 200 with the room; members get ROOM_UPDATED; everyone reads it', async () => {
    const { owner, admin, member, roomId } = await staffedRoom();
    const memberWs = await connect(member);
    const ownerWs = await connect(owner);

    const renamed = expectStatus(await suite.api.patch(owner, `/rooms/${roomId}`, { name: 'Renamed 🚀' }), 200);
    expect(renamed).toMatchObject({ id: roomId, name: 'Renamed 🚀', type: 'group' });
    const frame = await memberWs.next((f) => f.type === 'ROOM_UPDATED' && f.data.id === roomId && f.data.name === 'Renamed 🚀');
    expect(frame.data).toMatchObject({ id: roomId, type: 'group', name: 'Renamed 🚀' });
    await ownerWs.next((f) => f.type === 'ROOM_UPDATED' && f.data.name === 'Renamed 🚀');

    const topical = expectStatus(await suite.api.patch(admin, `/rooms/${roomId}`, { topic: 'Plans for Q3' }), 200);
    expect(topical).toMatchObject({ name: 'Renamed 🚀', topic: 'Plans for Q3' });
    const topicFrame = await memberWs.next((f) => f.type === 'ROOM_UPDATED' && f.data.topic === 'Plans for Q3');
    expect(topicFrame.data).toMatchObject({ id: roomId, name: 'Renamed 🚀', topic: 'Plans for Q3' });

    const both = expectStatus(await suite.api.patch(owner, `/rooms/${roomId}`, { name: 'Final', topic: '' }), 200);
    expect(both).toMatchObject({ name: 'Final', topic: '' });
    expect(await getRoom(member, roomId)).toMatchObject({ name: 'Final', topic: '' });
    const listed = expectStatus(await suite.api.get<{ rooms: RoomSummary[] }>(member, '/rooms'), 200).rooms.find(
      (r) => r.id === roomId,
    );
    expect(listed!.name).toBe('Final');
  });

  test('a plain member renaming → 403 forbidden, a non-member → 404; nothing changes and no ROOM_UPDATED is sent', async () => {
    const { owner, member, roomId } = await staffedRoom();
    const [stranger] = await suite.api.users(1, 'stranger');
    const ownerWs = await connect(owner);
    const before = await getRoom(owner, roomId);
    expectError(await suite.api.patch(member, `/rooms/${roomId}`, { name: 'mine now' }), 403, 'forbidden');
    expectError(await suite.api.patch(member, `/rooms/${roomId}`, { topic: 'mine now' }), 403, 'forbidden');
    expectError(await suite.api.patch(stranger!, `/rooms/${roomId}`, { name: 'mine now' }), 404, 'room_not_found');
    expect(await getRoom(owner, roomId)).toEqual(before);
    // A later change as a barrier: only its frame arrives.
    expectStatus(await suite.api.patch(owner, `/rooms/${roomId}`, { topic: 'barrier' }), 200);
    await ownerWs.next((f) => f.type === 'ROOM_UPDATED' && f.data.topic === 'barrier');
    expect(ownerWs.frames.filter(framesOf('ROOM_UPDATED', roomId))).toHaveLength(1);
  });

  test('bad PATCH bodies → 400 (nothing to change, empty or 101-character name, unknown fields such as owner_id), room unchanged', async () => {
    const { owner, roomId } = await staffedRoom();
    const before = await getRoom(owner, roomId);
    for (const body of [
      {},
      { name: '  ' },
      { name: 'x'.repeat(101) },
      { topic: 5 },
      { name: 'ok', owner_id: owner.id },
      { type: 'direct' },
    ]) {
      expectError(await suite.api.patch(owner, `/rooms/${roomId}`, body), 400, 'validation_failed');
    }
    expect(await getRoom(owner, roomId)).toEqual(before);
  });
});

describe('adding members with a role', () => {
  test('the owner adds an owner and an admin; members get MEMBER_ADDED naming user, role and who added', async () => {
    const [owner, member, newOwner, newAdmin] = await suite.api.users(4, 'addrole');
    const room = await groupRoom(suite.api, owner!, [member!]);
    const memberWs = await connect(member!);
    const added = expectStatus(await addMember(owner!, room.id, newOwner!, 'owner'), 201);
    expect(roleIn(added, newOwner!.id)).toBe('owner');
    expectStatus(await addMember(owner!, room.id, newAdmin!, 'admin'), 201);

    const frames = await memberWs.waitForCount(framesOf('MEMBER_ADDED', room.id), 2);
    expect(frames.map((f) => f.data)).toEqual([
      { chat_room_id: room.id, user_id: newOwner!.id, role: 'owner', added_by: owner!.id },
      { chat_room_id: room.id, user_id: newAdmin!.id, role: 'admin', added_by: owner!.id },
    ]);
    const seen = await getRoom(newAdmin!, room.id);
    expect(roleIn(seen, newOwner!.id)).toBe('owner');
    expect(roleIn(seen, newAdmin!.id)).toBe('admin');
  });

  test("the added user hears MEMBER_ADDED too and gets the room's NEW_MESSAGE frames from then on", async () => {
    const [owner, dave] = await suite.api.users(2, 'addws');
    const room = await groupRoom(suite.api, owner!);
    const daveWs = await connect(dave!);
    expectStatus(await addMember(owner!, room.id, dave!), 201);
    await daveWs.next((f) => framesOf('MEMBER_ADDED', room.id)(f) && f.data.user_id === dave!.id);
    const message = await say(suite.api, owner!, room.id, 'welcome dave');
    const frame = await daveWs.next((f) => f.type === 'NEW_MESSAGE' && f.data.id === message.id);
    expect(frame.data).toMatchObject({ room_id: room.id, content: 'welcome dave' });
  });
});

describe('changing roles (PATCH /rooms/:id/members/:user_id)', () => {
  test('the owner makes a member admin → 200 with the room; the new admin can then manage the room', async () => {
    const { owner, member, roomId } = await staffedRoom();
    const [erin] = await suite.api.users(1, 'erin');
    const body = expectStatus(await setRole(owner, roomId, member, 'admin'), 200);
    expect(roleIn(body, member.id)).toBe('admin');
    expect(roleIn(await getRoom(member, roomId), member.id)).toBe('admin');
    expectStatus(await addMember(member, roomId, erin!), 201);
    expectStatus(await suite.api.patch(member, `/rooms/${roomId}`, { topic: 'by the new admin' }), 200);
    // And back to member: the rights go with the role.
    expectStatus(await setRole(owner, roomId, member, 'member'), 200);
    expectError(await suite.api.patch(member, `/rooms/${roomId}`, { topic: 'not any more' }), 403, 'forbidden');
  });

  test('an admin cannot change an owner or another admin, nor make anyone owner (403); a member cannot change roles at all', async () => {
    const { owner, admin, member, roomId } = await staffedRoom();
    const [admin2] = await suite.api.users(1, 'admin2');
    expectStatus(await addMember(owner, roomId, admin2!, 'admin'), 201);
    const before = await getRoom(owner, roomId);

    expectError(await setRole(admin, roomId, owner, 'member'), 403, 'forbidden');
    expectError(await setRole(admin, roomId, admin2!, 'member'), 403, 'forbidden');
    expectError(await setRole(admin, roomId, member, 'owner'), 403, 'forbidden');
    expectError(await setRole(admin, roomId, admin, 'owner'), 403, 'forbidden');
    expectError(await setRole(member, roomId, member, 'admin'), 403, 'forbidden');
    expectError(await setRole(member, roomId, admin, 'member'), 403, 'forbidden');
    expect(await getRoom(owner, roomId)).toEqual(before);
  });

  test('the last owner cannot be demoted (409 last_owner); after handing over, the old owner can step down and leave', async () => {
    const { owner, admin, member, roomId } = await staffedRoom();
    expectError(await setRole(owner, roomId, owner, 'admin'), 409, 'last_owner');
    expectError(await setRole(owner, roomId, owner, 'member'), 409, 'last_owner');
    expectError(await removeMember(owner, roomId, owner), 409, 'last_owner');
    expect(roleIn(await getRoom(owner, roomId), owner.id)).toBe('owner');

    expectStatus(await setRole(owner, roomId, admin, 'owner'), 200);
    const stepped = expectStatus(await setRole(owner, roomId, owner, 'member'), 200);
    expect(roleIn(stepped, owner.id)).toBe('member');
    expect(roleIn(stepped, admin.id)).toBe('owner');
    expect((await removeMember(owner, roomId, owner)).status).toBe(204);
    expectError(await suite.api.get(owner, `/rooms/${roomId}`), 404, 'room_not_found');
    const left = await getRoom(member, roomId);
    expect(left.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([admin.id, member.id].sort());
    // The new owner is now the last one.
    expectError(await setRole(admin, roomId, admin, 'member'), 409, 'last_owner');
  });

  test('changing the role of a non-member → refused (403/404/409); a bad role or body → 400; a non-member acting → 404', async () => {
    const { owner, member, roomId } = await staffedRoom();
    const [stranger] = await suite.api.users(1, 'rolex');
    expect([403, 404, 409]).toContain((await setRole(owner, roomId, stranger!, 'admin')).status);
    expectError(await setRole(owner, roomId, member, 'superuser'), 400, 'validation_failed');
    expectError(
      await suite.api.patch(owner, `/rooms/${roomId}/members/${member.id}`, { role: 'admin', user_id: owner.id }),
      400,
      'validation_failed',
    );
    expectError(await suite.api.patch(owner, `/rooms/${roomId}/members/not-a-uuid`, { role: 'admin' }), 400);
    expectError(await setRole(stranger!, roomId, member, 'admin'), 404, 'room_not_found');
    expect(roleIn(await getRoom(owner, roomId), member.id)).toBe('member');
  });

  test('concurrent: two owners demoting each other at once → exactly one succeeds; the room always keeps one owner', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b, m] = await suite.api.users(3, 'duel');
      const room = await groupRoom(suite.api, a!, [m!]);
      expectStatus(await addMember(a!, room.id, b!, 'owner'), 201);
      const [ab, ba] = await Promise.all([setRole(a!, room.id, b!, 'member'), setRole(b!, room.id, a!, 'member')]);
      const statuses = [ab.status, ba.status];
      expect(
        statuses.filter((s) => s === 200),
        `round ${round}: ${JSON.stringify([ab.body, ba.body])}`,
      ).toHaveLength(1);
      for (const response of [ab, ba].filter((r) => r.status !== 200)) expect([403, 409]).toContain(response.status);
      const final = await getRoom(m!, room.id);
      const owners = final.members.filter((x: { role: string }) => x.role === 'owner').map((x: { user_id: string }) => x.user_id);
      expect(owners).toEqual([ab.status === 200 ? a!.id : b!.id]);
    }
  });

  test('concurrent: 10 role changes of one member (admin/member) → every 200 is a real state; the final role is one of them and the room reads consistently', async () => {
    const { owner, member, roomId } = await staffedRoom();
    const roles = range1(10).map((i) => (i % 2 === 0 ? 'admin' : 'member'));
    const responses = await Promise.all(roles.map((role) => setRole(owner, roomId, member, role)));
    for (const response of responses) expect(response.status, JSON.stringify(response.body)).toBe(200);
    const final = roleIn(await getRoom(owner, roomId), member.id);
    expect(['admin', 'member']).toContain(final);
    expect(roleIn(await getRoom(member, roomId), member.id)).toBe(final);
    expect((await getRoom(owner, roomId)).members).toHaveLength(3);
  });
});

describe('removing members', () => {
  test('MEMBER_REMOVED reaches the members and the removed user, who then gets 404 on the room and no further NEW_MESSAGE', async () => {
    const { owner, admin, member, roomId } = await staffedRoom();
    const adminWs = await connect(admin);
    const memberWs = await connect(member);
    const before = await say(suite.api, owner, roomId, 'before');
    await memberWs.next((f) => f.type === 'NEW_MESSAGE' && f.data.id === before.id);

    expect((await removeMember(admin, roomId, member)).status).toBe(204);
    const expected = { chat_room_id: roomId, user_id: member.id, removed_by: admin.id };
    expect((await adminWs.next(framesOf('MEMBER_REMOVED', roomId))).data).toEqual(expected);
    expect((await memberWs.next(framesOf('MEMBER_REMOVED', roomId))).data).toEqual(expected);

    expectError(await suite.api.get(member, `/rooms/${roomId}`), 404, 'room_not_found');
    expectError(await suite.api.get(member, `/rooms/${roomId}/messages`), 404, 'room_not_found');
    const after = await say(suite.api, owner, roomId, 'after');
    await adminWs.next((f) => f.type === 'NEW_MESSAGE' && f.data.id === after.id);
    await barrier(memberWs);
    expect(newMessagesIn(memberWs, roomId).map((f) => f.data.id)).toEqual([before.id]);
    expect(memberWs.frames.filter(framesOf('MEMBER_REMOVED', roomId))).toHaveLength(1);
  });

  test('an admin cannot remove the owner or another admin (403); the owner can remove an admin', async () => {
    const { owner, admin, roomId } = await staffedRoom();
    const [admin2] = await suite.api.users(1, 'adm2');
    expectStatus(await addMember(owner, roomId, admin2!, 'admin'), 201);
    expectError(await removeMember(admin, roomId, owner), 403, 'forbidden');
    expectError(await removeMember(admin, roomId, admin2!), 403, 'forbidden');
    expect((await getRoom(owner, roomId)).members).toHaveLength(4);
    expect((await removeMember(owner, roomId, admin2!)).status).toBe(204);
    expectError(await suite.api.get(admin2!, `/rooms/${roomId}`), 404, 'room_not_found');
  });

  test('20 posts in parallel while the poster is removed: every 201 is in history, every refusal is 404 and stored nothing, none of theirs follows the removal, seqs gapless', async () => {
    for (let round = 0; round < 3; round++) {
      const [owner, poster, watcher] = await suite.api.users(3, `rmpost${round}`);
      const room = await groupRoom(suite.api, owner!, [poster!, watcher!]);
      const roomId = room.id;
      const watcherWs = await connect(watcher!);
      const posterWs = await connect(poster!);
      await say(suite.api, owner!, roomId, 'start');

      const posts = range1(20).map((i) => ({ client_msg_id: `p-${i}-${randomUUID().slice(0, 6)}`, content: `post ${i}` }));
      // The posts go out as a stream and the removal is sent once the first of
      // them is accepted, so it lands among the rest (which posts win is up to the server).
      const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const sending = posts.map((body, i) => later(i * 3).then(() => postMessage(suite.api, poster!, roomId, body)));
      const removing = Promise.race(sending).then(() => removeMember(owner!, roomId, poster!));
      const [removal, responses] = await Promise.all([removing, Promise.all(sending)]);
      expect(removal.status).toBe(204);
      for (const response of responses) {
        if (response.status !== 201) expectError(response, 404, 'room_not_found');
      }
      const accepted = responses.filter((r) => r.status === 201).map((r) => r.body.id as string);
      expect(accepted.length).toBeGreaterThanOrEqual(1); // the removal waited for the first one
      const closing = await say(suite.api, owner!, roomId, 'end');

      const history = await messagesOf(suite.api, owner!, roomId);
      expect(history.map((m) => m.seq)).toEqual(range1(history.length));
      const fromPoster = history.filter((m) => m.sender_id === poster!.id);
      expect(fromPoster.map((m) => m.id).sort()).toEqual([...accepted].sort());
      expect(history.length).toBe(accepted.length + 2);

      // The watcher's stream gives the removal its place among the messages.
      await watcherWs.next((f) => f.type === 'NEW_MESSAGE' && f.data.id === closing.id);
      const removedAt = watcherWs.frames.findIndex(framesOf('MEMBER_REMOVED', roomId));
      expect(removedAt).toBeGreaterThanOrEqual(0);
      const afterRemoval = watcherWs.frames.slice(removedAt).filter((f) => f.type === 'NEW_MESSAGE' && f.data.room_id === roomId);
      expect(afterRemoval.filter((f) => f.data.sender_id === poster!.id)).toEqual([]);
      const lastPosterSeq = Math.max(0, ...fromPoster.map((m) => m.seq));
      for (const frame of afterRemoval) expect(frame.data.seq).toBeGreaterThan(lastPosterSeq);
      // The removed poster's own socket saw nothing after its MEMBER_REMOVED.
      await barrier(posterWs);
      const posterRemovedAt = posterWs.frames.findIndex(framesOf('MEMBER_REMOVED', roomId));
      expect(posterRemovedAt).toBeGreaterThanOrEqual(0);
      expect(posterWs.frames.slice(posterRemovedAt).filter((f) => f.type === 'NEW_MESSAGE')).toEqual([]);
      suite.closeSockets();
    }
  });
});
