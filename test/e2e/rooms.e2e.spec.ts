// Rooms, members and messages end to end, over real HTTP against a running Parley
// process (API.md "Rooms and messages", "Users"; reliability plan H and I).
// Every test makes its own users and rooms, so tests don't depend on each other.

import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { acceptInvitations } from '../support/chat.ts';
import { registerUser, request, type ApiResponse, type TestUser } from '../support/client.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { uploadAttachment, uploadAvatar } from '../support/uploads.ts';
import type { ErrorBody, JsonObject, Message, Room, RoomSummary } from '../support/wire.ts';

let parley: ParleyProcess;
let url: string;
beforeAll(async () => {
  // Every test registers users from 127.0.0.1; the per-IP registration cap is not under test here.
  parley = await startParley({ env: { PARLEY_REGISTER_MAX_PER_IP: '10000' } });
  url = parley.url;
  return () => parley.stop();
});

// ── helpers ─────────────────────────────────────────────────────────────────

async function users(count: number, prefix = 'u'): Promise<TestUser[]> {
  const made: TestUser[] = [];
  for (let i = 0; i < count; i++) made.push(await registerUser(url, prefix));
  return made;
}

/** A group room with `members` in it: those who are not the owner's friends are invited, and accept. */
async function createRoom(owner: TestUser, members: TestUser[] = [], name = `room ${randomUUID().slice(0, 6)}`): Promise<Room> {
  const response = await request<Room>(url, 'POST', '/api/v1/rooms', {
    token: owner.token,
    body: { name, member_ids: members.map((m) => m.id) },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  await acceptInvitations(url, response.body.id, members);
  return (await getRoom(owner, response.body.id)).body;
}

const post = <T = JsonObject>(user: TestUser, roomId: string, body: unknown) =>
  request<T>(url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: user.token, body });

const say = async (user: TestUser, roomId: string, content: string, clientMsgId: string = randomUUID()): Promise<Message> => {
  const response = await post<Message>(user, roomId, { client_msg_id: clientMsgId, content });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
};

const history = (user: TestUser, roomId: string, query = '') =>
  request<{ messages: Message[] }>(url, 'GET', `/api/v1/rooms/${roomId}/messages${query}`, { token: user.token });

async function seqs(user: TestUser, roomId: string, query = ''): Promise<number[]> {
  const response = await history(user, roomId, query);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.messages.map((m) => m.seq);
}

async function allMessages(user: TestUser, roomId: string): Promise<Message[]> {
  const response = await history(user, roomId, '?limit=100');
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.messages;
}

const myRooms = async (user: TestUser): Promise<RoomSummary[]> => {
  const response = await request<{ rooms: RoomSummary[] }>(url, 'GET', '/api/v1/rooms', { token: user.token });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.rooms;
};

const getRoom = (user: TestUser, roomId: string) => request<Room>(url, 'GET', `/api/v1/rooms/${roomId}`, { token: user.token });

const addMember = (actor: TestUser, roomId: string, userId: string, role?: string) =>
  request<Room>(url, 'POST', `/api/v1/rooms/${roomId}/members`, {
    token: actor.token,
    body: role === undefined ? { user_id: userId } : { user_id: userId, role },
  });

/** `actor` adds `user` (invited, as they are no friend), who accepts; answers the add's status with the room after the join. */
async function admit(actor: TestUser, roomId: string, user: TestUser, role?: string): Promise<ApiResponse<Room>> {
  const response = await addMember(actor, roomId, user.id, role);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  expect(response.body.invitations.map((i) => i.user_id)).toContain(user.id);
  await acceptInvitations(url, roomId, [user]);
  return { ...response, body: (await getRoom(actor, roomId)).body };
}

const removeMember = (actor: TestUser, roomId: string, userId: string) =>
  request(url, 'DELETE', `/api/v1/rooms/${roomId}/members/${userId}`, { token: actor.token });

function expectError(response: ApiResponse<unknown>, status: number, code?: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({
    error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String) }),
  });
}

const fieldsOf = (response: ApiResponse<unknown>): string[] => {
  const details = (response.body as Partial<ErrorBody> | undefined)?.error?.details;
  return Array.isArray(details) ? details.map((d) => d.path) : [];
};

const roleOf = (room: Room, userId: string): string | undefined => room.members.find((m) => m.user_id === userId)?.role;

// ── rooms ───────────────────────────────────────────────────────────────────

describe('creating and reading rooms', () => {
  it('POST /rooms with members → 201 group room with members and roles once they accept; the creator is owner', async () => {
    const [alice, bob, carol] = await users(3, 'create');
    const room = await createRoom(alice!, [bob!, carol!], 'Project X');
    expect(room).toMatchObject({ id: expect.any(String), type: 'group', name: 'Project X', invitations: [] });
    expect(room.members).toHaveLength(3);
    for (const member of room.members) {
      expect(member).toEqual(
        expect.objectContaining({ user_id: expect.any(String), role: expect.any(String), joined_at: expect.any(Number) }),
      );
    }
    expect(roleOf(room, alice!.id)).toBe('owner');
    expect(roleOf(room, bob!.id)).toBe('member');
    expect(roleOf(room, carol!.id)).toBe('member');
  });

  it('listing yourself among member_ids, or a member twice, still makes one membership each', async () => {
    const [alice, bob] = await users(2, 'dupmem');
    const room = await createRoom(alice!, [bob!, bob!, alice!]);
    expect(room.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([alice!.id, bob!.id].sort());
    expect(roleOf(room, alice!.id)).toBe('owner');
  });

  it('an unknown member id → 404 user_not_found and no room is created', async () => {
    const [alice, bob] = await users(2, 'unknown');
    const before = await myRooms(alice!);
    const ghost = randomUUID();
    const response = await request(url, 'POST', '/api/v1/rooms', {
      token: alice!.token,
      body: { name: 'never', member_ids: [bob!.id, ghost] },
    });
    expectError(response, 404, 'user_not_found');
    expect(await myRooms(alice!)).toEqual(before);
    expect(await myRooms(bob!)).toEqual([]);
  });

  it('bad room input → 400 validation_failed naming the field (no name, blank or zero-width name, 101 characters, role fields)', async () => {
    const [alice] = await users(1, 'badroom');
    const cases: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '   ' }, 'name'],
      [{ name: '\u200b \u200d\ufeff' }, 'name'],
      [{ name: 'x'.repeat(101) }, 'name'],
      [{ name: 5 }, 'name'],
      [{ name: 'ok', member_ids: ['not-a-uuid'] }, 'member_ids.0'],
      [{ name: 'ok', owner_id: randomUUID() }, 'owner_id'],
      [{ name: 'ok', role: 'owner' }, 'role'],
    ];
    for (const [body, field] of cases) {
      const response = await request(url, 'POST', '/api/v1/rooms', { token: alice!.token, body });
      expectError(response, 400, 'validation_failed');
      expect(fieldsOf(response), JSON.stringify(body)).toContain(field);
    }
    expect(await myRooms(alice!)).toEqual([]);
  });

  it('GET /rooms lists my rooms with unread_count, last_read_seq and last_message', async () => {
    const [alice, bob, outsider] = await users(3, 'list');
    const quiet = await createRoom(alice!, [bob!], 'quiet');
    const busy = await createRoom(alice!, [bob!], 'busy');
    await say(alice!, busy.id, 'first');
    await say(alice!, busy.id, 'second');

    const bobs = await myRooms(bob!);
    expect(bobs.map((r) => r.id).sort()).toEqual([quiet.id, busy.id].sort());
    const bobBusy = bobs.find((r) => r.id === busy.id);
    expect(bobBusy).toMatchObject({ id: busy.id, type: 'group', name: 'busy', unread_count: 2, last_read_seq: 0 });
    expect(bobBusy!.last_message).toMatchObject({ seq: 2, content: 'second', sender_id: alice!.id, room_id: busy.id });
    const bobQuiet = bobs.find((r) => r.id === quiet.id);
    expect(bobQuiet).toMatchObject({
      id: quiet.id,
      type: 'group',
      name: 'quiet',
      unread_count: 0,
      last_read_seq: 0,
      last_message: null,
    });

    expect(await myRooms(outsider!)).toEqual([]);
  });

  it('GET /rooms/:id → the room with its members and their roles', async () => {
    const [alice, bob] = await users(2, 'detail');
    const created = await createRoom(alice!, [bob!], 'details');
    for (const viewer of [alice!, bob!]) {
      const response = await getRoom(viewer, created.id);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ id: created.id, type: 'group', name: 'details' });
      expect(response.body.members).toHaveLength(2);
      expect(roleOf(response.body, alice!.id)).toBe('owner');
      expect(roleOf(response.body, bob!.id)).toBe('member');
    }
  });

  it('read-your-writes ×20: a room created is at once readable and listed; a message posted is at once in history', async () => {
    const [alice, bob] = await users(2, 'ryw');
    for (let i = 0; i < 20; i++) {
      const room = await createRoom(alice!, [bob!], `ryw ${i}`);
      const read = await getRoom(alice!, room.id);
      expect(read.status, `iteration ${i}`).toBe(200);
      expect(read.body.name).toBe(`ryw ${i}`);
      expect(
        (await myRooms(alice!)).some((r) => r.id === room.id),
        `iteration ${i}: listed`,
      ).toBe(true);
      const message = await say(alice!, room.id, `hello ${i}`);
      const page = await history(alice!, room.id);
      expect(
        page.body.messages.map((m: { id: string }) => m.id),
        `iteration ${i}: history`,
      ).toEqual([message.id]);
    }
  });
});

// ── messages ────────────────────────────────────────────────────────────────

describe('posting messages', () => {
  it('mime_type text/markdown is accepted and kept; text/plain is the default', async () => {
    const [alice] = await users(1, 'markdown');
    const room = await createRoom(alice!);
    const response = await post(alice!, room.id, { client_msg_id: 'md-1', content: '**bold**', mime_type: 'text/markdown' });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(response.body.mime_type).toBe('text/markdown');
    expect((await allMessages(alice!, room.id)).map((m) => m.mime_type)).toEqual(['text/markdown']);
  });

  it('POST /rooms/:id/messages → 201 with the stored message; seq counts 1, 2, 3', async () => {
    const [alice, bob] = await users(2, 'post');
    const room = await createRoom(alice!, [bob!]);
    const first = await post(alice!, room.id, { client_msg_id: 'c-1', content: 'one' });
    expect(first.status).toBe(201);
    // API.md's message fields (the server may add more: the contract is extensible).
    expect(first.body).toMatchObject({
      id: expect.any(String),
      room_id: room.id,
      seq: 1,
      sender_id: alice!.id,
      client_msg_id: 'c-1',
      content: 'one',
      mime_type: 'text/plain',
      reply_to: null,
      attachments: [],
      reactions: {},
      created_at: expect.any(Number),
      edited_at: null,
      deleted: false,
    });
    const second = await say(bob!, room.id, 'two', 'c-2');
    const third = await say(alice!, room.id, 'three', 'c-3');
    expect([second.seq, third.seq]).toEqual([2, 3]);
    expect(second.sender_id).toBe(bob!.id);
    const messages = await allMessages(bob!, room.id);
    expect(messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    // History shows the stored message as POST answered it, with its thread summary (none here).
    expect(messages[0]).toEqual({ ...first.body, thread: null });
  });

  it('the same client_msg_id again → the same message (same id and seq), stored once', async () => {
    const [alice] = await users(1, 'dedup');
    const room = await createRoom(alice!);
    const first = await post(alice!, room.id, { client_msg_id: 'retry-me', content: 'only once' });
    expect(first.status).toBe(201);
    await say(alice!, room.id, 'in between');
    const again = await post(alice!, room.id, { client_msg_id: 'retry-me', content: 'only once' });
    expect([200, 201]).toContain(again.status);
    expect(again.body).toEqual(first.body);
    // A retry whose content differs is still the retry: the first message stands.
    const changed = await post(alice!, room.id, { client_msg_id: 'retry-me', content: 'something else' });
    expect([200, 201]).toContain(changed.status);
    expect(changed.body).toEqual(first.body);
    const messages = await allMessages(alice!, room.id);
    expect(messages.map((m) => m.content)).toEqual(['only once', 'in between']);
    expect(messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('concurrent retries of one client_msg_id → one message', async () => {
    const [alice] = await users(1, 'dedup2');
    const room = await createRoom(alice!);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => post(alice!, room.id, { client_msg_id: 'burst', content: 'once' })),
    );
    for (const response of responses) expect([200, 201]).toContain(response.status);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await seqs(alice!, room.id)).toEqual([1]);
  });

  it('two members using the same client_msg_id each get their own message', async () => {
    const [alice, bob] = await users(2, 'cmid');
    const room = await createRoom(alice!, [bob!]);
    const a = await say(alice!, room.id, 'from alice', 'shared-id');
    const b = await say(bob!, room.id, 'from bob', 'shared-id');
    expect(b.id).not.toBe(a.id);
    expect((await allMessages(alice!, room.id)).map((m) => m.content)).toEqual(['from alice', 'from bob']);
  });

  it('30 concurrent posts from 3 members → seqs exactly 1..30, no gaps, no duplicates, every message stored', async () => {
    const members = await users(3, 'burst');
    const room = await createRoom(members[0]!, [members[1]!, members[2]!]);
    const sent = Array.from({ length: 30 }, (_, i) => ({
      user: members[i % 3]!,
      content: `burst ${i}`,
      client_msg_id: `b-${i}`,
    }));
    const responses = await Promise.all(
      sent.map((m) => post<Message>(m.user, room.id, { client_msg_id: m.client_msg_id, content: m.content })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(30).fill(201));
    expect(responses.map((r) => r.body.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const messages = await allMessages(members[1]!, room.id);
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(messages.map((m) => m.content).sort()).toEqual(sent.map((m) => m.content).sort());
    for (const [i, response] of responses.entries()) {
      const stored = messages.find((m) => m.id === response.body.id);
      expect(stored).toMatchObject({ content: sent[i]!.content, sender_id: sent[i]!.user.id, seq: response.body.seq });
    }
  });
});

describe('history pagination', () => {
  let alice: TestUser;
  let roomId: string;
  beforeAll(async () => {
    [alice] = (await users(1, 'pages')) as [TestUser];
    roomId = (await createRoom(alice)).id;
    for (let i = 1; i <= 10; i++) await say(alice, roomId, `m${i}`);
  });

  it('no parameters → all of a short history in ascending seq', async () => {
    expect(await seqs(alice, roomId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('limit alone → the newest page, ascending', async () => {
    expect(await seqs(alice, roomId, '?limit=3')).toEqual([8, 9, 10]);
    expect(await seqs(alice, roomId, '?limit=1')).toEqual([10]);
    expect(await seqs(alice, roomId, '?limit=100')).toHaveLength(10);
  });

  it('before_seq → the page just below it, ascending', async () => {
    expect(await seqs(alice, roomId, '?before_seq=8&limit=3')).toEqual([5, 6, 7]);
    expect(await seqs(alice, roomId, '?before_seq=3&limit=5')).toEqual([1, 2]);
    expect(await seqs(alice, roomId, '?before_seq=1')).toEqual([]);
  });

  it('after_seq → the page just above it, ascending', async () => {
    expect(await seqs(alice, roomId, '?after_seq=2&limit=3')).toEqual([3, 4, 5]);
    expect(await seqs(alice, roomId, '?after_seq=0&limit=2')).toEqual([1, 2]);
    expect(await seqs(alice, roomId, '?after_seq=10')).toEqual([]);
    expect(await seqs(alice, roomId, '?after_seq=2&before_seq=6')).toEqual([3, 4, 5]);
  });

  it('walking back with before_seq visits every message exactly once', async () => {
    const seen: number[] = [];
    let page = await seqs(alice, roomId, '?limit=3');
    while (page.length > 0) {
      seen.unshift(...page);
      page = await seqs(alice, roomId, `?limit=3&before_seq=${page[0]}`);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('walking forward with after_seq visits every message exactly once', async () => {
    const seen: number[] = [];
    let page = await seqs(alice, roomId, '?limit=4&after_seq=0');
    while (page.length > 0) {
      seen.push(...page);
      page = await seqs(alice, roomId, `?limit=4&after_seq=${page.at(-1)}`);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it.each([
    'limit=0',
    'limit=101',
    'limit=abc',
    'limit=1.5',
    'limit=-1',
    'limit=',
    'limit=1e2',
    'limit=9007199254740993',
    'limit=10&limit=20',
    'before_seq=abc',
    'before_seq=-1',
    'after_seq=1.5',
    'after_seq=1&after_seq=2',
  ])('?%s → 400 validation_failed', async (query) => {
    const response = await history(alice, roomId, `?${query}`);
    expectError(response, 400, 'validation_failed');
  });
});

// ── membership and authorization ───────────────────────────────────────────

describe('who may see and post in a room', () => {
  it('a non-member gets 404 room_not_found on GET room, GET messages and POST messages, and nothing is stored', async () => {
    const [alice, bob, mallory] = await users(3, 'idor');
    const room = await createRoom(alice!, [bob!]);
    await say(alice!, room.id, 'secret');
    expectError(await getRoom(mallory!, room.id), 404, 'room_not_found');
    expectError(await history(mallory!, room.id), 404, 'room_not_found');
    expectError(await post(mallory!, room.id, { client_msg_id: 'intrude', content: 'let me in' }), 404, 'room_not_found');
    expectError(await addMember(mallory!, room.id, mallory!.id), 404, 'room_not_found');
    expectError(await removeMember(mallory!, room.id, bob!.id), 404, 'room_not_found');
    const messages = await allMessages(alice!, room.id);
    expect(messages.map((m) => m.content)).toEqual(['secret']);
    expect((await getRoom(alice!, room.id)).body.members).toHaveLength(2);
    expect(await myRooms(mallory!)).toEqual([]);
  });

  it('a room that does not exist → the same 404 as a room you are not in', async () => {
    const [alice] = await users(1, 'nothere');
    const ghost = randomUUID();
    expectError(await getRoom(alice!, ghost), 404, 'room_not_found');
    expectError(await history(alice!, ghost), 404, 'room_not_found');
    expectError(await post(alice!, ghost, { client_msg_id: 'x', content: 'anyone?' }), 404, 'room_not_found');
  });

  it('a room id that is not a UUID → 400 on every room route', async () => {
    const [alice] = await users(1, 'badid');
    for (const bad of ['abc', '42', "1'%20OR%20'1'='1", `${randomUUID()}0`]) {
      expectError(await getRoom(alice!, bad), 400);
      expectError(await history(alice!, bad), 400);
      expectError(await post(alice!, bad, { client_msg_id: 'x', content: 'y' }), 400);
      expectError(await addMember(alice!, bad, alice!.id), 400);
      expectError(await removeMember(alice!, bad, alice!.id), 400);
    }
  });

  it('the owner adds a member → 201 with the member; the new member can read and post at once', async () => {
    const [alice, dave] = await users(2, 'add');
    const room = await createRoom(alice!);
    await say(alice!, room.id, 'before dave');
    const response = await admit(alice!, room.id, dave!);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    expect(roleOf(response.body, dave!.id)).toBe('member');
    expect((await getRoom(dave!, room.id)).status).toBe(200);
    expect((await allMessages(dave!, room.id)).map((m) => m.content)).toEqual(['before dave']);
    expect((await say(dave!, room.id, 'hi from dave')).seq).toBe(2);
    expect((await myRooms(dave!)).map((r) => r.id)).toEqual([room.id]);
  });

  it('an admin may add members; a plain member adding → 403 and the user stays out', async () => {
    const [alice, admin, member, erin, frank] = await users(5, 'roles');
    const room = await createRoom(alice!, [member!]);
    const promoted = await admit(alice!, room.id, admin!, 'admin');
    expect(promoted.status).toBe(201);
    expect(roleOf(promoted.body, admin!.id)).toBe('admin');

    expectError(await addMember(member!, room.id, erin!.id), 403, 'forbidden');
    expectError(await getRoom(erin!, room.id), 404, 'room_not_found');

    const byAdmin = await admit(admin!, room.id, frank!);
    expect(byAdmin.status, JSON.stringify(byAdmin.body)).toBe(201);
    expect(roleOf(byAdmin.body, frank!.id)).toBe('member');
  });

  it('no role escalation: a member cannot add an admin, an admin cannot add an owner', async () => {
    const [alice, admin, member, x, y] = await users(5, 'escal');
    const room = await createRoom(alice!, [member!]);
    expect((await admit(alice!, room.id, admin!, 'admin')).status).toBe(201);
    expectError(await addMember(member!, room.id, x!.id, 'admin'), 403, 'forbidden');
    expectError(await addMember(admin!, room.id, y!.id, 'owner'), 403, 'forbidden');
    const room2 = await getRoom(alice!, room.id);
    expect(room2.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [alice!.id, admin!.id, member!.id].sort(),
    );
  });

  it('adding someone already in the room → 409 already_member; an unknown user → 404 user_not_found', async () => {
    const [alice, bob] = await users(2, 'addbad');
    const room = await createRoom(alice!, [bob!]);
    expectError(await addMember(alice!, room.id, bob!.id), 409, 'already_member');
    expectError(await addMember(alice!, room.id, randomUUID()), 404, 'user_not_found');
    expectError(await addMember(alice!, room.id, bob!.id, 'superuser'), 400, 'validation_failed');
    expect((await getRoom(alice!, room.id)).body.members).toHaveLength(2);
  });

  it('the owner removes a member → 204; the removed member can no longer read or post (404) and the room leaves their list', async () => {
    const [alice, bob, carol] = await users(3, 'remove');
    const room = await createRoom(alice!, [bob!, carol!]);
    await say(bob!, room.id, 'bob was here');
    const response = await removeMember(alice!, room.id, bob!.id);
    expect(response.status).toBe(204);
    expectError(await getRoom(bob!, room.id), 404, 'room_not_found');
    expectError(await history(bob!, room.id), 404, 'room_not_found');
    expectError(await post(bob!, room.id, { client_msg_id: 'after-kick', content: 'still here?' }), 404, 'room_not_found');
    expect(await myRooms(bob!)).toEqual([]);
    const seenByAlice = await getRoom(alice!, room.id);
    expect(seenByAlice.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([alice!.id, carol!.id].sort());
    expect((await allMessages(alice!, room.id)).map((m) => m.content)).toEqual(['bob was here']);
  });

  it('a plain member removing someone else → 403, and both stay in', async () => {
    const [alice, bob, carol] = await users(3, 'memrm');
    const room = await createRoom(alice!, [bob!, carol!]);
    expectError(await removeMember(bob!, room.id, carol!.id), 403, 'forbidden');
    expectError(await removeMember(bob!, room.id, alice!.id), 403, 'forbidden');
    expect((await getRoom(carol!, room.id)).status).toBe(200);
    expect((await getRoom(alice!, room.id)).body.members).toHaveLength(3);
  });

  it('removing someone not in the room → 409 or 404, never a success', async () => {
    const [alice, stranger] = await users(2, 'rmnon');
    const room = await createRoom(alice!);
    const response = await removeMember(alice!, room.id, stranger!.id);
    expect([403, 404, 409]).toContain(response.status);
  });

  it('a member leaves (removes themself) → 204 and is out', async () => {
    const [alice, bob] = await users(2, 'leave');
    const room = await createRoom(alice!, [bob!]);
    expect((await removeMember(bob!, room.id, bob!.id)).status).toBe(204);
    expectError(await getRoom(bob!, room.id), 404, 'room_not_found');
    expect(await myRooms(bob!)).toEqual([]);
    expect((await getRoom(alice!, room.id)).body.members.map((m: { user_id: string }) => m.user_id)).toEqual([alice!.id]);
  });

  it('the last owner cannot leave while others remain (409 last_owner); after adding another owner they can', async () => {
    const [alice, bob, olivia] = await users(3, 'owner');
    const room = await createRoom(alice!, [bob!]);
    expectError(await removeMember(alice!, room.id, alice!.id), 409, 'last_owner');
    expect(roleOf((await getRoom(alice!, room.id)).body, alice!.id)).toBe('owner');
    expect((await admit(alice!, room.id, olivia!, 'owner')).status).toBe(201);
    expect((await removeMember(alice!, room.id, alice!.id)).status).toBe(204);
    expectError(await getRoom(alice!, room.id), 404, 'room_not_found');
    const left = await getRoom(bob!, room.id);
    expect(left.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual([bob!.id, olivia!.id].sort());
    expect(roleOf(left.body, olivia!.id)).toBe('owner');
  });
});

// ── input validation on POST messages ───────────────────────────────────────

describe('bad input on POST /rooms/:id/messages is refused and stores nothing', () => {
  let alice: TestUser;
  let roomId: string;
  let baseline: Message[];
  beforeAll(async () => {
    [alice] = (await users(1, 'badin')) as [TestUser];
    roomId = (await createRoom(alice)).id;
    await say(alice, roomId, 'the only message');
    baseline = await allMessages(alice, roomId);
  });

  const raw = (rawBody: string, headers: Record<string, string> = {}) =>
    request(url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: alice.token, rawBody, headers });

  const unchanged = async () => expect(await allMessages(alice, roomId)).toEqual(baseline);

  it.each([
    ['truncated JSON', '{"client_msg_id": "j1", "content": "x",'],
    ['trailing garbage', '{"client_msg_id": "j2", "content": "x"} yes'],
    ['single quotes', "{'client_msg_id': 'j3', 'content': 'x'}"],
    ['NaN', '{"client_msg_id": "j4", "content": NaN}'],
    ['a duplicate key', '{"client_msg_id": "j5", "content": "x", "content": "y"}'],
    ['a lone surrogate', '{"client_msg_id": "j6", "content": "\\ud800"}'],
    ['a __proto__ key', '{"client_msg_id": "j7", "content": "x", "__proto__": {"admin": true}}'],
  ])('%s → 400 invalid_json', async (_label, body) => {
    expectError(await raw(body), 400, 'invalid_json');
    await unchanged();
  });

  it('a BOM before the JSON → 400', async () => {
    expectError(await raw('\ufeff{"client_msg_id": "bom", "content": "x"}'), 400);
    await unchanged();
  });

  it.each([
    ['content: 5', { client_msg_id: 'w1', content: 5 }, 'content'],
    ['content: null', { client_msg_id: 'w2', content: null }, 'content'],
    ['content: ["x"]', { client_msg_id: 'w3', content: ['x'] }, 'content'],
    ['content: {}', { client_msg_id: 'w4', content: {} }, 'content'],
    ['client_msg_id: 7', { client_msg_id: 7, content: 'x' }, 'client_msg_id'],
    ['a client_msg_id of 65 characters', { client_msg_id: 'x'.repeat(65), content: 'x' }, 'client_msg_id'],
    ['no content', { client_msg_id: 'w5' }, 'content'],
    ['unknown field sender_id', { client_msg_id: 'w6', content: 'x', sender_id: randomUUID() }, 'sender_id'],
    ['unknown field seq', { client_msg_id: 'w7', content: 'x', seq: 1 }, 'seq'],
    ['unknown field room_id', { client_msg_id: 'w8', content: 'x', room_id: randomUUID() }, 'room_id'],
    ['unknown field created_at', { client_msg_id: 'w9', content: 'x', created_at: 0 }, 'created_at'],
    ['empty content', { client_msg_id: 'w10', content: '' }, 'content'],
    ['whitespace-only content', { client_msg_id: 'w11', content: ' \n\t ' }, 'content'],
    // Zero-width characters show nothing either (U+200B, U+200C, U+200D, U+2060, U+FEFF).
    ['zero-width-only content', { client_msg_id: 'w18', content: '\u200b\u200c\u200d\u2060\ufeff' }, 'content'],
    ['zero-width and whitespace content', { client_msg_id: 'w19', content: ' \u200b\n\u2060 \u00a0' }, 'content'],
    ['4001 code points', { client_msg_id: 'w12', content: 'a'.repeat(4001) }, 'content'],
    ['4001 emoji', { client_msg_id: 'w13', content: '😀'.repeat(4001) }, 'content'],
    // U+0000 starts a sealed value in the log (docs/PRIVACY.md), so text never holds it.
    ['content with U+0000', { client_msg_id: 'w16', content: 'a\u0000b' }, 'content'],
    [
      'an attachment name with U+0000',
      {
        client_msg_id: 'w17',
        content: 'x',
        attachments: [{ url: 'https://x.example/a', mime_type: 'text/plain', bytes: 1, name: 'a\u0000' }],
      },
      'attachments.0.name',
    ],
    // Content is plain text or Markdown, nothing a client would render as something else.
    ['mime_type text/html', { client_msg_id: 'w20', content: '<b>x</b>', mime_type: 'text/html' }, 'mime_type'],
    ['mime_type image/svg+xml', { client_msg_id: 'w21', content: '<svg/>', mime_type: 'image/svg+xml' }, 'mime_type'],
    ['mime_type in upper case', { client_msg_id: 'w22', content: 'x', mime_type: 'TEXT/PLAIN' }, 'mime_type'],
    ['reply_to that is not a UUID', { client_msg_id: 'w14', content: 'x', reply_to: 'nope' }, 'reply_to'],
    ['an array body', [{ client_msg_id: 'w15', content: 'x' }], ''],
    ['a string body', 'hello', ''],
  ])('%s → 400 validation_failed naming the field', async (_label, body, field) => {
    const response = await post(alice, roomId, body);
    expectError(response, 400, 'validation_failed');
    expect(fieldsOf(response)).toContain(field);
    await unchanged();
  });

  it('no body at all → 400', async () => {
    expectError(await request(url, 'POST', `/api/v1/rooms/${roomId}/messages`, { token: alice.token }), 400);
    await unchanged();
  });

  it('a body that is not JSON (text/plain) → 415', async () => {
    expectError(await raw('hello', { 'content-type': 'text/plain' }), 415);
    await unchanged();
  });

  it('a body over 64 KiB → 413', async () => {
    const response = await post(alice, roomId, { client_msg_id: 'big', content: 'a'.repeat(64 * 1024) });
    expectError(response, 413);
    await unchanged();
  });

  it('a reply_to that is not a message of this room → 404 message_not_found', async () => {
    const response = await post(alice, roomId, { client_msg_id: 'reply-ghost', content: 'x', reply_to: randomUUID() });
    expectError(response, 404, 'message_not_found');
    await unchanged();
  });

  it('after all the refusals the room still works: the next message gets seq 2', async () => {
    const next = await say(alice, roomId, 'still fine');
    expect(next.seq).toBe(2);
  });
});

describe('attachments', () => {
  it('an attachment url with a script or data scheme → 400 and nothing is stored', async () => {
    const [alice] = await users(1, 'attach');
    const room = await createRoom(alice!);
    const accepted: string[] = [];
    for (const attachmentUrl of ['javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)']) {
      const response = await post(alice!, room.id, {
        client_msg_id: `att-${attachmentUrl.slice(0, 10)}`,
        content: 'see attached',
        attachments: [{ url: attachmentUrl, mime_type: 'image/png', bytes: 10 }],
      });
      if (response.status !== 400) accepted.push(`${attachmentUrl} → ${response.status}`);
    }
    expect(accepted).toEqual([]);
    expect(await allMessages(alice!, room.id)).toEqual([]);
  });

  it('an uploaded attachment round-trips with the message; type and size come from the upload', async () => {
    const [alice] = await users(1, 'attachok');
    const room = await createRoom(alice!);
    const upload = await uploadAttachment(parley.url, alice!, room.id);
    const claimed = { url: upload.url, mime_type: 'application/x-lie', bytes: 1, name: 'cat.png' };
    const response = await post(alice!, room.id, { client_msg_id: 'att-ok', content: 'a cat', attachments: [claimed] });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    const stored = { url: upload.url, mime_type: 'image/png', bytes: upload.bytes, name: 'cat.png' };
    expect(response.body.attachments).toEqual([stored]);
    expect((await allMessages(alice!, room.id))[0]!.attachments).toEqual([stored]);
  });

  it('an attachment that is not a confirmed upload of the sender for this room → 404 and nothing is stored (J6)', async () => {
    const [alice, bob] = await users(2, 'attachno');
    const room = await createRoom(alice!, [bob!]);
    const elsewhere = await createRoom(alice!);
    const bobs = await uploadAttachment(parley.url, bob!, room.id);
    const otherRoom = await uploadAttachment(parley.url, alice!, elsewhere.id);
    for (const url of ['https://cdn.example.com/f/cat.png', bobs.url, otherRoom.url]) {
      const response = await post<ErrorBody>(alice!, room.id, {
        client_msg_id: `att-${url.length}-${url.slice(-8)}`,
        content: 'see attached',
        attachments: [{ url, mime_type: 'image/png', bytes: 10 }],
      });
      expect(response.status, url).toBe(404);
      expect(response.body.error.code).toBe('attachment_not_found');
    }
    expect(await allMessages(alice!, room.id)).toEqual([]);
  });
});

describe('message content limits and Unicode', () => {
  it('4000 code points of plain text and 4000 emoji (one code point each) → 201, stored whole', async () => {
    const [alice] = await users(1, 'limits');
    const room = await createRoom(alice!);
    const plain = 'a'.repeat(4000);
    const emoji = '😀'.repeat(4000);
    expect((await say(alice!, room.id, plain)).content).toBe(plain);
    const stored = await say(alice!, room.id, emoji);
    expect(stored.content).toBe(emoji);
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- the limit is 4000 code points, which is what spreading a string counts
    expect([...stored.content!]).toHaveLength(4000);
    expect((await allMessages(alice!, room.id)).map((m) => m.content)).toEqual([plain, emoji]);
  });

  it.each([
    ['4-byte emoji with skin tone', 'thumbs 👍🏽 up 😀'],
    ['ZWJ family', '👨‍👩‍👧‍👦'],
    ['flag', '🇺🇦🇯🇵'],
    ['RTL override', 'abc\u202Edef\u202C ghi'],
    ['Arabic and Hebrew', 'مرحبا שלום'],
    ['combining marks', 'e\u0301 n\u0303 a\u030A\u0323'],
    ['many combining marks on one letter', `Z${'\u0336\u0334\u0337'.repeat(300)}`],
    ['zero-width characters', 'a\u200Bb\u200Cc\u200Dd\u2060e\uFEFFf'],
    ['CJK and supplementary ideographs', '漢字かなカナ 𠜎𠜱𠝹'],
    ['HTML and script (stored verbatim)', '<script>alert(1)</script><img src=x onerror=alert(2)>'],
    ['SQL-looking text', "'; DROP TABLE messages;-- \\' %_"],
    ['newlines and tabs', 'line 1\nline 2\r\n\tindented'],
    ['control characters (all but U+0000)', 'a\u0001b\u0007c\u001Fd\u007F'],
  ])('%s round-trips byte-exact through POST, history and the room list', async (_label, content) => {
    const [alice, bob] = await users(2, 'uni');
    const room = await createRoom(alice!, [bob!]);
    const posted = await say(alice!, room.id, content);
    expect(Buffer.from(posted.content!, 'utf8').equals(Buffer.from(content, 'utf8'))).toBe(true);
    const [stored] = await allMessages(bob!, room.id);
    expect(stored!.content).toBe(content);
    expect(Buffer.from(stored!.content!, 'utf8').toString('hex')).toBe(Buffer.from(content, 'utf8').toString('hex'));
    const listed = (await myRooms(bob!)).find((r) => r.id === room.id);
    expect(listed!.last_message!.content).toBe(content);
  });

  it('responses are JSON in UTF-8 with nosniff, so stored HTML is never rendered', async () => {
    const [alice] = await users(1, 'xss');
    const room = await createRoom(alice!);
    await say(alice!, room.id, '<script>alert(1)</script>');
    const response = await history(alice!, room.id);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('room names keep their Unicode exactly', async () => {
    const [alice] = await users(1, 'uniroom');
    const name = 'Équipe 🚀 פרויקט';
    const room = await createRoom(alice!, [], name);
    expect(room.name).toBe(name);
    expect((await getRoom(alice!, room.id)).body.name).toBe(name);
    expect((await myRooms(alice!))[0]!.name).toBe(name);
  });
});

// ── profile ─────────────────────────────────────────────────────────────────

describe('PATCH /users/me', () => {
  it("updates display_name and bio; GET /users/me and another user's GET /users/:id show it at once", async () => {
    const [alice, bob] = await users(2, 'profile');
    for (let i = 0; i < 5; i++) {
      const patch = { display_name: `Alice ✨ ${i}`, bio: `bio ${i}: I like 🍣 and <b>bold</b>` };
      const response = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: patch });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toMatchObject({ id: alice!.id, username: alice!.username, ...patch });
      const mine = await request(url, 'GET', '/api/v1/users/me', { token: alice!.token });
      expect(mine.body).toMatchObject(patch);
      const seen = await request(url, 'GET', `/api/v1/users/${alice!.id}`, { token: bob!.token });
      expect(seen.body).toMatchObject(patch);
    }
  });

  it('updating one field leaves the other as it was', async () => {
    const [alice] = await users(1, 'partial');
    await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: { display_name: 'Named', bio: 'kept' } });
    const response = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: { display_name: 'Renamed' } });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ display_name: 'Renamed', bio: 'kept' });
  });

  it('bad input → 400 and the profile is unchanged (empty patch, unknown fields, wrong types, empty name)', async () => {
    const [alice] = await users(1, 'badprofile');
    const before = (await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body;
    const cases: unknown[] = [
      {},
      { username: 'renamed_me' },
      { id: randomUUID() },
      { display_name: 5 },
      { display_name: '   ' },
      { display_name: 'x'.repeat(101) },
      { bio: null },
      { avatar_url: 'not a url' },
    ];
    for (const body of cases) {
      const response = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body });
      expectError(response, 400, 'validation_failed');
    }
    expect((await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body).toEqual(before);
  });

  it('an avatar_url with a script or data scheme → 400 and the profile is unchanged', async () => {
    const [alice] = await users(1, 'avatar');
    const before = (await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body;
    const accepted: string[] = [];
    for (const avatar_url of [
      'javascript:alert(1)',
      'JavaScript:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
    ]) {
      const response = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: { avatar_url } });
      if (response.status !== 400) accepted.push(`${avatar_url} → ${response.status}`);
    }
    expect(accepted).toEqual([]);
    expect((await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body).toEqual(before);
  });

  it('an avatar_url must be my own ready avatar upload: it is accepted and shown; null clears it', async () => {
    const [alice, bob] = await users(2, 'avatarok');
    const avatar = await uploadAvatar(parley.url, alice!);
    const response = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: { avatar_url: avatar.url } });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect((await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body.avatar_url).toBe(avatar.url);
    expect((await request(url, 'GET', `/api/v1/users/${alice!.id}`, { token: bob!.token })).body.avatar_url).toBe(avatar.url);
    const cleared = await request(url, 'PATCH', '/api/v1/users/me', { token: alice!.token, body: { avatar_url: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.avatar_url).toBeNull();
  });

  it("any other https URL (a tracking pixel), someone else's avatar, or an attachment upload → 404 upload_not_found; the profile is unchanged", async () => {
    const [alice, bob] = await users(2, 'avatarno');
    const room = await createRoom(alice!);
    const bobsAvatar = await uploadAvatar(parley.url, bob!);
    const attachment = await uploadAttachment(parley.url, alice!, room.id);
    const before = (await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body;
    for (const avatar_url of ['https://tracker.example.com/pixel.gif?u=alice', bobsAvatar.url, attachment.url]) {
      const response = await request(url, 'PATCH', '/api/v1/users/me', {
        token: alice!.token,
        body: { avatar_url, display_name: 'not applied either' },
      });
      expectError(response, 404, 'upload_not_found');
    }
    expect((await request(url, 'GET', '/api/v1/users/me', { token: alice!.token })).body).toEqual(before);
  });
});
