// Bots (issue 15): a global admin makes a bot account — no email, no password,
// `bot: true` in its profile — and gives it API tokens (`pbt_…`, shown once),
// optionally limited to some rooms. With a token the bot is a member like any
// other: owners add it to their rooms, it posts over REST and hears its rooms
// on a socket. A room-scoped token reaches nothing outside its rooms (REST
// 403, no frames of other rooms nor addressed to the user, client frames
// about other rooms refused). A revoked token stops at once — REST, new
// sockets and sockets already open — and a suspension stops all of a bot's
// tokens until it is lifted. Every admin act is in the audit; the token
// itself never enters the log. Over real HTTP and WebSocket against a running
// Parley process, in the mode of the vitest project.

import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { BotTokenView } from '../../src/auth/bot-tokens.ts';
import { barrier, eventually } from '../support/chat.ts';
import { parleyOutput } from '../support/cli.ts';
import { registerNamedUser, request, WsClient, wsHandshake, type Frame, type TestUser } from '../support/client.ts';
import { modeEnv } from '../support/modes.ts';
import { tinyPng } from '../support/uploads.ts';
import {
  addMember,
  expectError,
  expectStatus,
  groupRoom,
  isErrorFrame,
  messagesOf,
  pendingIds,
  say,
  sendFriendRequest,
  useParley,
} from '../support/social.ts';
import type { Message, Room, User } from '../support/wire.ts';

const adminName = `bots_${randomUUID().slice(0, 8)}`;
// Three live tokens per bot, so that the limit is cheap to reach.
const suite = useParley({ PARLEY_ADMINS: adminName, PARLEY_BOT_TOKENS_MAX: '3' });

let admin: TestUser | undefined;
/** The admin's account, registered once under the name PARLEY_ADMINS gives. */
const theAdmin = async (): Promise<TestUser> => (admin ??= await registerNamedUser(suite.parley.url, adminName));

/** What issuing a token answers: its view, and the token itself (this once). */
type IssuedToken = BotTokenView & { token: string };
interface AuditEntry {
  action_id: string;
  action: string;
  admin_id: string;
  target_user_id: string | null;
  at: number;
}

const BOT_TOKEN = /^pbt_[A-Za-z0-9_-]{43}$/;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A token as the admins' list shows it: the issued one without the token. */
const viewOf = ({ token: _token, ...view }: IssuedToken): BotTokenView => view;
const tokensPath = (bot: User) => `/bots/${bot.id}/tokens`;
const suspensionPath = (userId: string) => `/admin/users/${userId}/suspension`;

/** A bot made by the admin, under a fresh name. */
async function makeBot(prefix = 'bot'): Promise<User> {
  const username = `${prefix}_${randomUUID().slice(0, 8)}`;
  return expectStatus(await suite.api.post<User>(await theAdmin(), '/bots', { username }), 201);
}

async function issueToken(bot: User, body: { name: string; room_ids?: string[] }): Promise<IssuedToken> {
  return expectStatus(await suite.api.post<IssuedToken>(await theAdmin(), tokensPath(bot), body), 201);
}

async function tokensOf(bot: User): Promise<BotTokenView[]> {
  return expectStatus(await suite.api.get<{ tokens: BotTokenView[] }>(await theAdmin(), tokensPath(bot)), 200).tokens;
}

/** The bot as the test clients' user, authenticated by one of its tokens (REST Bearer, socket ?token=). */
const holding = (bot: User, issued: { token: string }): TestUser => ({
  id: bot.id,
  username: bot.username,
  email: '',
  password: '',
  token: issued.token,
  refreshToken: '',
});

/** Adds the bot to the room as its owner does anyone; the bot (acting with `as`, an unscoped token) accepts. */
async function addBot(owner: TestUser, room: Room, as: TestUser): Promise<Room> {
  const added = expectStatus(await addMember(suite.api, owner, room.id, as), 201);
  expect(added.members.map((member) => member.user_id)).toContain(as.id);
  return added;
}

/** Opens a socket with ?token=; 'opened', or the rejection ("handshake refused: 401"). */
const handshake = (token: string): Promise<string> => wsHandshake(suite.parley.wsUrl, token);

/** Opens a socket without a token and sends AUTH with this one; the first answer, and how the socket ended. */
async function authFrame(token: string): Promise<{ type: string; data: Frame['data'] | undefined; closeCode: number }> {
  const client = new WsClient(suite.parley.wsUrl);
  client.socket.on('error', () => undefined);
  try {
    await client.opened;
    client.send({ type: 'AUTH', ref: 'auth-1', timestamp: Date.now(), data: { token } });
    const reply = await client.next((frame) => frame.type === 'ERROR' || frame.type === 'AUTH_SUCCESS');
    const closeCode = reply.type === 'ERROR' ? await client.closed : await client.close();
    return { type: reply.type, data: reply.data, closeCode };
  } finally {
    client.socket.terminate();
  }
}

const newMessage = (messageId: string) => (frame: Frame) => frame.type === 'NEW_MESSAGE' && frame.data.id === messageId;
const roomsOfFrames = (client: WsClient, type: string) =>
  client.frames.filter((frame) => frame.type === type).map((frame) => frame.data.room_id);

describe('making bots', () => {
  test('an admin makes a bot: its profile says bot, it is listed, nobody signs in as it; others get 403; usernames follow the registration rules', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'person');

    const username = `helper_${randomUUID().slice(0, 8)}`;
    expectError(await suite.api.post(alice!, '/bots', { username }), 403, 'forbidden');
    expectError(await suite.api.get(alice!, '/bots'), 403, 'forbidden');

    // The refused attempt made nothing: the name is still free.
    const bot = expectStatus(await suite.api.post<User>(boss, '/bots', { username, display_name: 'Deploy Helper' }), 201);
    expect(bot).toEqual({
      id: expect.any(String),
      username,
      display_name: 'Deploy Helper',
      avatar_url: null,
      bio: '',
      created_at: expect.any(Number),
      deleted: false,
      bot: true,
    });
    // Without a display name, the username stands for it.
    const plain = await makeBot('plain');
    expect(plain).toMatchObject({ display_name: plain.username, bot: true });

    // Anyone sees who is a bot and who is not (the profile comes with a presence only friends see).
    expect(expectStatus(await suite.api.get<User>(alice!, `/users/${bot.id}`), 200)).toEqual({ ...bot, status: null });
    expect(expectStatus(await suite.api.get<User>(alice!, `/users/${alice!.id}`), 200).bot).toBe(false);
    expect(expectStatus(await suite.api.get<User & { email: string }>(alice!, '/users/me'), 200).bot).toBe(false);

    // The admins' list: the bots, and nobody else.
    const { bots } = expectStatus(await suite.api.get<{ bots: User[] }>(boss, '/bots'), 200);
    expect(bots.filter((listed) => listed.id === bot.id || listed.id === plain.id)).toEqual([bot, plain]);
    expect(bots.every((listed) => listed.bot)).toBe(true);
    expect(bots.some((listed) => listed.id === alice!.id || listed.id === boss.id)).toBe(false);

    // A bot has no password: signing in as it fails whatever is typed, as for a wrong password.
    for (const password of ['correct horse battery staple', 'x']) {
      const login = await request(suite.parley.url, 'POST', '/api/v1/auth/login', { body: { login: username, password } });
      expectError(login, 401, 'invalid_credentials');
    }

    // The username rules are registration's; a bot's name is taken for everyone, and a person's for bots.
    for (const bad of ['ab', 'has space', 'admin', 'x'.repeat(33)]) {
      expectError(await suite.api.post(boss, '/bots', { username: bad }), 400, 'validation_failed');
    }
    expectError(await suite.api.post(boss, '/bots', { username: `extra_${randomUUID().slice(0, 6)}`, email: 'a@b.c' }), 400);
    expectError(await suite.api.post(boss, '/bots', { username: username.toUpperCase() }), 409, 'username_taken');
    expectError(await suite.api.post(boss, '/bots', { username: alice!.username }), 409, 'username_taken');
    const register = await request(suite.parley.url, 'POST', '/api/v1/auth/register', {
      body: { username, email: `${username}@example.com`, password: 'correct horse battery staple' },
    });
    expectError(register, 409, 'username_taken');

    // Tokens are for bots only, and for admins only.
    expectError(await suite.api.post(alice!, tokensPath(bot), { name: 'mine' }), 403, 'forbidden');
    expectError(await suite.api.get(alice!, tokensPath(bot)), 403, 'forbidden');
    expectError(await suite.api.post(boss, `/bots/${alice!.id}/tokens`, { name: 'a person' }), 404, 'user_not_found');
    expectError(await suite.api.post(boss, `/bots/${randomUUID()}/tokens`, { name: 'nobody' }), 404, 'user_not_found');
    expectError(await suite.api.get(boss, `/bots/${alice!.id}/tokens`), 404, 'user_not_found');
    for (const body of [{}, { name: '' }, { name: 'x', room_ids: [] }, { name: 'x', room_ids: ['not-a-uuid'] }]) {
      expectError(await suite.api.post(boss, tokensPath(bot), body), 400, 'validation_failed');
    }
    expect(await tokensOf(bot)).toEqual([]);
  });
});

describe('a bot with a token', () => {
  test('an unscoped token: the bot, added to a room as anyone, posts over REST and a socket; members hear it as the bot; its socket hears them', async () => {
    const boss = await theAdmin();
    const [alice, bob] = await suite.api.users(2, 'member');
    const bot = await makeBot('notifier');
    const issued = await issueToken(bot, { name: 'ci pipeline' });
    const { token, ...view } = issued;
    expect(view).toEqual({
      id: expect.any(String),
      bot_id: bot.id,
      name: 'ci pipeline',
      room_ids: null,
      created_by: boss.id,
      created_at: expect.any(Number),
      revoked_at: null,
      last_used_at: null,
    });
    expect(token).toMatch(BOT_TOKEN);
    // Shown this once: the list has the token's view, never the token nor its hash.
    const listed = await tokensOf(bot);
    expect(listed).toEqual([view]);
    expect(JSON.stringify(listed)).not.toContain(token);
    expect(JSON.stringify(listed)).not.toContain(sha256(token));

    const asBot = holding(bot, issued);
    const beforeUse = Date.now();
    const me = expectStatus(await suite.api.get<User & { email: string }>(asBot, '/users/me'), 200);
    expect(me).toMatchObject({ id: bot.id, username: bot.username, bot: true, email: '' });
    // Its use is on record (to a resolution), for admins looking for tokens nobody uses.
    const [used] = await tokensOf(bot);
    expect(used!.last_used_at).toBeGreaterThanOrEqual(beforeUse);

    const room = await groupRoom(suite.api, alice!, [bob!]);
    await addBot(alice!, room, asBot);

    const aliceWs = await suite.connect(alice!);
    const botWs = await suite.connect(asBot);
    expect(botWs.frames.find((frame) => frame.type === 'AUTH_SUCCESS')!.data.user_id).toBe(bot.id);

    // The bot posts over REST: every member's socket hears it from the bot.
    const posted = await say(suite.api, asBot, room.id, 'build #42 is green');
    expect(posted).toMatchObject({ room_id: room.id, sender_id: bot.id, content: 'build #42 is green' });
    const heard = await aliceWs.next(newMessage(posted.id));
    expect(heard.data).toMatchObject({ room_id: room.id, sender_id: bot.id, content: 'build #42 is green' });

    // A member speaks: the bot's socket hears it.
    const question = await say(suite.api, bob!, room.id, '@bot deploy?');
    const toBot = await botWs.next(newMessage(question.id));
    expect(toBot.data).toMatchObject({ room_id: room.id, sender_id: bob!.id, content: '@bot deploy?' });

    // The bot answers on its socket: ACK, and the members hear it from the bot.
    const ack = await botWs.call<{ message: Message }>('SEND_MESSAGE', {
      chat_room_id: room.id,
      content: 'deploying',
      client_msg_id: randomUUID(),
    });
    expect(ack.type).toBe('ACK');
    expect(ack.data.message).toMatchObject({ room_id: room.id, sender_id: bot.id, content: 'deploying' });
    expect((await aliceWs.next(newMessage(ack.data.message.id))).data.sender_id).toBe(bot.id);

    // The token works as a first AUTH frame as well.
    const byFrame = await authFrame(token);
    expect(byFrame).toMatchObject({ type: 'AUTH_SUCCESS', data: { user_id: bot.id } });

    const history = await messagesOf(suite.api, alice!, room.id);
    expect(history.map((message) => [message.sender_id, message.content])).toEqual([
      [bot.id, 'build #42 is green'],
      [bob!.id, '@bot deploy?'],
      [bot.id, 'deploying'],
    ]);
  });
});

describe('room-scoped tokens', () => {
  /** A bot in two rooms of alice's, with an unscoped token and one limited to the first room. */
  async function scopedSetUp() {
    const [alice, carol] = await suite.api.users(2, 'scope');
    const bot = await makeBot('scoped');
    const full = holding(bot, await issueToken(bot, { name: 'everything' }));
    const roomA = await groupRoom(suite.api, alice!, [], 'room A');
    const roomB = await groupRoom(suite.api, alice!, [], 'room B');
    await addBot(alice!, roomA, full);
    await addBot(alice!, roomB, full);
    const scopedToken = await issueToken(bot, { name: 'room A only', room_ids: [roomA.id] });
    expect(scopedToken.room_ids).toEqual([roomA.id]);
    return { alice: alice!, carol: carol!, bot, full, scoped: holding(bot, scopedToken), roomA, roomB };
  }

  test('over REST it acts in its rooms only: anything else is 403 forbidden, and does nothing', async () => {
    const { alice, carol, bot, full, scoped, roomA, roomB } = await scopedSetUp();

    const me = expectStatus(await suite.api.get<User & { email: string }>(scoped, '/users/me'), 200);
    expect(me).toMatchObject({ id: bot.id, bot: true, email: '' });
    expect(expectStatus(await suite.api.get<Room>(scoped, `/rooms/${roomA.id}`), 200).id).toBe(roomA.id);
    const posted = await say(suite.api, scoped, roomA.id, 'in my room');
    expect(posted.sender_id).toBe(bot.id);
    expect((await messagesOf(suite.api, scoped, roomA.id)).map((message) => message.id)).toEqual([posted.id]);

    const outside: [string, string, unknown?][] = [
      ['GET', '/rooms'],
      ['GET', `/rooms/${roomB.id}`],
      ['GET', `/rooms/${roomB.id}/messages`],
      ['POST', `/rooms/${roomB.id}/messages`, { client_msg_id: randomUUID(), content: 'not here' }],
      ['GET', '/sync'],
      ['POST', '/friends/requests', { user_id: carol.id }],
      ['GET', '/friends'],
      ['GET', `/users/${alice.id}`],
      ['PATCH', '/users/me', { display_name: 'renamed' }],
      ['POST', '/rooms', { name: 'a room of its own', member_ids: [] }],
    ];
    for (const [method, path, body] of outside) {
      const response = await request(suite.parley.url, method, `/api/v1${path}`, { token: scoped.token, body });
      expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(403);
      expect(response.body).toEqual({ error: expect.objectContaining({ code: 'forbidden', message: expect.any(String) }) });
    }

    // Nothing of that happened…
    expect(await messagesOf(suite.api, alice, roomB.id)).toEqual([]);
    expect(await pendingIds(suite.api, carol, 'incoming')).toEqual([]);
    expect(expectStatus(await suite.api.get<User>(alice, `/users/${bot.id}`), 200).display_name).toBe(bot.display_name);
    // …and the same bot's unscoped token goes everywhere: the limit is the token's.
    const rooms = expectStatus(await suite.api.get<{ rooms: { id: string }[] }>(full, '/rooms'), 200).rooms;
    expect(rooms.map((room) => room.id).sort()).toEqual([roomA.id, roomB.id].sort());
    expect((await say(suite.api, full, roomB.id, 'from the unscoped token')).sender_id).toBe(bot.id);
  });

  test('a bot holding only a scoped token hears the invitation to its room and joins by accepting; another room’s invitation stays out of reach', async () => {
    const [alice] = await suite.api.users(1, 'invite');
    const bot = await makeBot('invited');
    const roomC = await groupRoom(suite.api, alice!, [], 'room C');
    const roomD = await groupRoom(suite.api, alice!, [], 'room D');
    const scoped = holding(bot, await issueToken(bot, { name: 'room C only', room_ids: [roomC.id] }));
    const scopedWs = await suite.connect(scoped);
    // An unscoped socket of the same bot, to know when both invitations have gone out.
    const fullWs = await suite.connect(holding(bot, await issueToken(bot, { name: 'everything' })));

    expectStatus(await suite.api.post(alice!, `/rooms/${roomD.id}/members`, { user_id: bot.id }), 201);
    expectStatus(await suite.api.post(alice!, `/rooms/${roomC.id}/members`, { user_id: bot.id }), 201);
    const inviteTo = (roomId: string) => (frame: Frame) => frame.type === 'ROOM_INVITE' && frame.data.chat_room_id === roomId;
    await fullWs.next(inviteTo(roomD.id));
    await fullWs.next(inviteTo(roomC.id));
    const invite = await scopedWs.next(inviteTo(roomC.id));
    expect(invite.data).toMatchObject({ room_name: 'room C', invited_by: alice!.id });
    // Both sockets are served by one delivery loop: once the unscoped one has room D's, the scoped one would too.
    await barrier(scopedWs);
    expect(scopedWs.frames.filter((frame) => frame.type === 'ROOM_INVITE')).toHaveLength(1);

    expectError(await suite.api.post(scoped, `/invitations/${roomD.id}/accept`, {}), 403, 'forbidden');
    expectStatus(await suite.api.post(scoped, `/invitations/${roomC.id}/accept`, {}), 200);
    const members = expectStatus(await suite.api.get<Room>(alice!, `/rooms/${roomC.id}`), 200).members;
    expect(members.map((member) => member.user_id)).toContain(bot.id);
    const hello = await say(suite.api, alice!, roomC.id, 'welcome, bot');
    await scopedWs.next(newMessage(hello.id));
  });

  test('its socket hears only its rooms and nothing addressed to the user, and may act only in its rooms; an unscoped socket of the same bot hears everything', async () => {
    const { alice, carol, bot, full, scoped, roomA, roomB } = await scopedSetUp();
    const aliceWs = await suite.connect(alice);
    const fullWs = await suite.connect(full);
    const scopedWs = await suite.connect(scoped);
    expect(scopedWs.frames.find((frame) => frame.type === 'AUTH_SUCCESS')!.data.user_id).toBe(bot.id);

    // A message in room B reaches the unscoped socket; the gateway handed it to
    // the bot's sockets together, so once it is there and the scoped socket's
    // PING is answered, the scoped socket would have it if it were sent.
    const inB = await say(suite.api, alice, roomB.id, 'room B news');
    await fullWs.next(newMessage(inB.id));
    await barrier(scopedWs);
    const inA = await say(suite.api, alice, roomA.id, 'room A news');
    await scopedWs.next(newMessage(inA.id));
    await fullWs.next(newMessage(inA.id));
    expect(roomsOfFrames(scopedWs, 'NEW_MESSAGE')).toEqual([roomA.id]);
    expect(roomsOfFrames(fullWs, 'NEW_MESSAGE')).toEqual([roomB.id, roomA.id]);

    // A friend request to the bot: the unscoped socket hears of it, the scoped one does not.
    const friendRequest = await sendFriendRequest(suite.api, carol, full);
    const heard = await fullWs.next((frame) => frame.type === 'FRIEND_REQUEST' && frame.data.id === friendRequest.id);
    expect(heard.data).toMatchObject({ from_user_id: carol.id, to_user_id: bot.id, status: 'pending' });
    await barrier(scopedWs);
    expect(scopedWs.frames.filter((frame) => frame.type.startsWith('FRIEND_'))).toEqual([]);

    // Frames about another room, and SYNC (every room, and the user's own changes): ERROR forbidden.
    const aboutB: [string, Record<string, unknown>][] = [
      ['SEND_MESSAGE', { chat_room_id: roomB.id, content: 'sneaky', client_msg_id: randomUUID() }],
      ['JOIN_ROOM', { chat_room_id: roomB.id }],
      ['TYPING', { chat_room_id: roomB.id, is_typing: true }],
    ];
    for (const [type, data] of aboutB) {
      const reply = await scopedWs.call(type, data);
      expect(reply, type).toMatchObject({ type: 'ERROR', data: { code: 'forbidden' } });
    }
    const sync = await scopedWs.call('SYNC', {});
    expect(isErrorFrame('forbidden')(sync)).toBe(true);
    // The socket stays open and usable in its own room.
    const joined = await scopedWs.call('JOIN_ROOM', { chat_room_id: roomA.id });
    expect(joined.type).toBe('JOIN_SUCCESS');
    const ack = await scopedWs.call<{ message: Message }>('SEND_MESSAGE', {
      chat_room_id: roomA.id,
      content: 'room A reply',
      client_msg_id: randomUUID(),
    });
    expect(ack.type).toBe('ACK');
    expect((await aliceWs.next(newMessage(ack.data.message.id))).data).toMatchObject({
      room_id: roomA.id,
      sender_id: bot.id,
      content: 'room A reply',
    });
    // Nothing the scoped socket asked of room B happened.
    expect((await messagesOf(suite.api, alice, roomB.id)).map((message) => message.content)).toEqual(['room B news']);

    // The unscoped socket may do all of it.
    expect((await fullWs.call('JOIN_ROOM', { chat_room_id: roomB.id })).type).toBe('JOIN_SUCCESS');
    expect((await fullWs.call('SYNC', {})).type).toBe('SYNC');
    const fromFull = await fullWs.call<{ message: Message }>('SEND_MESSAGE', {
      chat_room_id: roomB.id,
      content: 'room B reply',
      client_msg_id: randomUUID(),
    });
    expect(fromFull.type).toBe('ACK');
    await aliceWs.next(newMessage(fromFull.data.message.id));
    // The scoped socket never heard of room B, even of the bot's own message there.
    await barrier(scopedWs);
    expect(scopedWs.frames.some((frame) => JSON.stringify(frame.data).includes(roomB.id))).toBe(false);
  });

  // Uploads sit outside /api/v1/rooms: the sign route checks the room its body names
  // (an avatar names none — it is the bot's profile, which a scoped token may not change).
  test('uploads: a scoped token can neither change the bot’s avatar nor sign an attachment for a room outside it', async () => {
    const { alice, bot, scoped, roomA, roomB } = await scopedSetUp();
    const sign = (body: Record<string, unknown>) =>
      request<{ upload_url: string; fields: Record<string, string> }>(suite.parley.url, 'POST', '/api/v1/uploads/sign', {
        token: scoped.token,
        body: { mime_type: 'image/png', bytes: tinyPng.length, ...body },
      });
    // Its own room's attachment: allowed.
    expect((await sign({ purpose: 'attachment', room_id: roomA.id })).status).toBe(200);

    expectError(await sign({ purpose: 'avatar', set_avatar: true }), 403, 'forbidden');
    expect(expectStatus(await suite.api.get<User>(alice, `/users/${bot.id}`), 200).avatar_url).toBeNull();
    expectError(await sign({ purpose: 'attachment', room_id: roomB.id }), 403, 'forbidden');
  });
});

describe('revoking and suspending', () => {
  test('a revoked token is refused at once — REST 401, open sockets closed, no new socket — while the bot’s other tokens still work; revoking twice → 404', async () => {
    const boss = await theAdmin();
    const [alice, eve] = await suite.api.users(2, 'rev');
    const otherBot = await makeBot('other');
    const bot = await makeBot('revoked');
    const doomed = await issueToken(bot, { name: 'leaked' });
    const kept = await issueToken(bot, { name: 'kept' });
    const [asDoomed, asKept] = [holding(bot, doomed), holding(bot, kept)];
    const room = await groupRoom(suite.api, alice!);
    await addBot(alice!, room, asKept);
    const doomedWs = await suite.connect(asDoomed);
    const keptWs = await suite.connect(asKept);

    expectError(await suite.api.del(eve!, `${tokensPath(bot)}/${doomed.id}`), 403, 'forbidden');
    // A token is revoked under its own bot only.
    expectError(await suite.api.del(boss, `${tokensPath(otherBot)}/${doomed.id}`), 404, 'not_found');
    expectStatus(await suite.api.get(asDoomed, '/users/me'), 200);

    expectStatus(await suite.api.del(boss, `${tokensPath(bot)}/${doomed.id}`), 204);
    expect(await doomedWs.closed).toBe(1008);
    expectError(await suite.api.get(asDoomed, '/users/me'), 401, 'invalid_token');
    expectError(
      await suite.api.post(asDoomed, `/rooms/${room.id}/messages`, { client_msg_id: randomUUID(), content: 'still here?' }),
      401,
      'invalid_token',
    );
    expect(await handshake(doomed.token)).toBe('handshake refused: 401');
    expect(await authFrame(doomed.token)).toMatchObject({ type: 'ERROR', data: { code: 'invalid_token' }, closeCode: 1008 });

    // The other token, and its socket, are untouched.
    expectStatus(await suite.api.get(asKept, '/users/me'), 200);
    const after = await say(suite.api, alice!, room.id, 'still listening?');
    await keptWs.next(newMessage(after.id));
    expect(keptWs.closeCode).toBeNull();
    expect(await handshake(kept.token)).toBe('opened');

    // The list keeps the revoked token, saying when; newest first.
    const listed = await tokensOf(bot);
    const used = { last_used_at: expect.any(Number) };
    expect(listed).toEqual([
      { ...viewOf(kept), ...used },
      { ...viewOf(doomed), ...used, revoked_at: expect.any(Number) },
    ]);
    expect(listed[1]!.revoked_at).toBeGreaterThanOrEqual(doomed.created_at);
    expect(JSON.stringify(listed)).not.toMatch(/pbt_/);

    expectError(await suite.api.del(boss, `${tokensPath(bot)}/${doomed.id}`), 404, 'not_found');
    expectError(await suite.api.del(boss, `${tokensPath(bot)}/${randomUUID()}`), 404, 'not_found');
  });

  test('a bot holds at most PARLEY_BOT_TOKENS_MAX live tokens: one more → 409 invalid_state; revoked ones do not count', async () => {
    const boss = await theAdmin();
    const bot = await makeBot('limited');
    const issued: IssuedToken[] = [];
    for (let i = 1; i <= 3; i++) issued.push(await issueToken(bot, { name: `token ${i}` }));
    expectError(await suite.api.post(boss, tokensPath(bot), { name: 'one too many' }), 409, 'invalid_state');
    // The refused one is nowhere: three tokens, and none named so.
    expect((await tokensOf(bot)).map((token) => token.name)).toEqual(['token 3', 'token 2', 'token 1']);

    expectStatus(await suite.api.del(boss, `${tokensPath(bot)}/${issued[0]!.id}`), 204);
    const fourth = await issueToken(bot, { name: 'token 4' });
    expectStatus(await suite.api.get(holding(bot, fourth), '/users/me'), 200);
    expectError(await suite.api.post(boss, tokensPath(bot), { name: 'one too many again' }), 409, 'invalid_state');
    // The limit is per bot.
    await issueToken(await makeBot('unlimited'), { name: 'first' });
  });

  test('a suspended bot: its tokens answer 403 account_suspended and its sockets close; lifted, the same token works again', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'susp');
    const bot = await makeBot('suspended');
    const issued = await issueToken(bot, { name: 'prod' });
    const asBot = holding(bot, issued);
    const room = await groupRoom(suite.api, alice!);
    await addBot(alice!, room, asBot);
    const botWs = await suite.connect(asBot);

    const suspension = await suite.api.put(boss, suspensionPath(bot.id), { until: null, reason: 'runaway loop' });
    expect(expectStatus(suspension, 200)).toMatchObject({ user_id: bot.id, until: null, reason: 'runaway loop' });
    expect(await botWs.closed).toBe(1008);
    expectError(await suite.api.get(asBot, '/users/me'), 403, 'account_suspended');
    expectError(
      await suite.api.post(asBot, `/rooms/${room.id}/messages`, { client_msg_id: randomUUID(), content: 'spam' }),
      403,
      'account_suspended',
    );
    expect(await handshake(issued.token)).toBe('handshake refused: 401');
    expect(await authFrame(issued.token)).toMatchObject({ type: 'ERROR', data: { code: 'invalid_token' }, closeCode: 1008 });
    expect(await messagesOf(suite.api, alice!, room.id)).toEqual([]);
    // The token is not revoked: a suspension stops it only while it lasts.
    expect((await tokensOf(bot)).map((token) => token.revoked_at)).toEqual([null]);

    expectStatus(await suite.api.del(boss, suspensionPath(bot.id)), 204);
    expect(expectStatus(await suite.api.get<User>(asBot, '/users/me'), 200).id).toBe(bot.id);
    const back = await suite.connect(asBot);
    const posted = await say(suite.api, asBot, room.id, 'back online');
    expect(posted.sender_id).toBe(bot.id);
    const fromAlice = await say(suite.api, alice!, room.id, 'welcome back');
    await back.next(newMessage(fromAlice.id));
  });
});

describe('deleting a bot', () => {
  test('an admin deletes a bot: its tokens stop and its sockets close, its profile reads deleted, its messages stay as tombstones; the act is in the audit', async () => {
    const boss = await theAdmin();
    const [alice, eve] = await suite.api.users(2, 'del');
    const bot = await makeBot('deleted');
    const issued = await issueToken(bot, { name: 'doomed' });
    const asBot = holding(bot, issued);
    const room = await groupRoom(suite.api, alice!);
    await addBot(alice!, room, asBot);
    const posted = await say(suite.api, asBot, room.id, 'a bot was here');
    const botWs = await suite.connect(asBot);

    expectError(await suite.api.del(eve!, `/bots/${bot.id}`), 403, 'forbidden');
    expectError(await suite.api.del(boss, `/bots/${alice!.id}`), 404, 'user_not_found');
    expectStatus(await suite.api.del(boss, `/bots/${bot.id}`), 204);

    expect(await botWs.closed).toBe(1008);
    expectError(await suite.api.get(asBot, '/users/me'), 401, 'invalid_token');
    expect(await handshake(issued.token)).toBe('handshake refused: 401');
    expectError(await suite.api.get(boss, tokensPath(bot)), 404, 'user_not_found');
    expect(expectStatus(await suite.api.get<User>(alice!, `/users/${bot.id}`), 200)).toMatchObject({
      deleted: true,
      username: '',
      bot: true,
    });
    const bots = expectStatus(await suite.api.get<{ bots: User[] }>(boss, '/bots'), 200).bots;
    expect(bots.map((listed) => listed.id)).not.toContain(bot.id);
    const history = await messagesOf(suite.api, alice!, room.id);
    expect(history.find((message) => message.id === posted.id)).toMatchObject({ sender_id: bot.id, content: null, erased: true });
    expectError(await suite.api.del(boss, `/bots/${bot.id}`), 404, 'user_not_found');

    let deletion: AuditEntry | undefined;
    await eventually(async () => {
      const page = expectStatus(await suite.api.get<{ actions: AuditEntry[] }>(boss, '/admin/audit?limit=100'), 200);
      deletion = page.actions.find((entry) => entry.target_user_id === bot.id && entry.action === 'delete_bot');
      return deletion !== undefined;
    }, 'the deletion in the audit');
    expect(deletion).toMatchObject({ admin_id: boss.id, target_user_id: bot.id });
  });
});

describe('what the audit and the log keep', () => {
  test('making a bot, issuing and revoking a token are in the admin audit, by the admin, about the bot', async () => {
    const boss = await theAdmin();
    const bot = await makeBot('audited');
    const issued = await issueToken(bot, { name: 'audited token' });
    expectStatus(await suite.api.del(boss, `${tokensPath(bot)}/${issued.id}`), 204);

    let entries: AuditEntry[] = [];
    await eventually(async () => {
      const page = expectStatus(await suite.api.get<{ actions: AuditEntry[] }>(boss, '/admin/audit?limit=100'), 200);
      entries = page.actions.filter((entry) => entry.target_user_id === bot.id);
      return entries.length >= 3;
    }, 'three audit entries about the bot');
    expect(entries).toHaveLength(3);
    const byAction = new Map(entries.map((entry) => [entry.action, entry]));
    expect([...byAction.keys()].sort()).toEqual(['create_bot', 'issue_bot_token', 'revoke_bot_token']);
    expect(byAction.get('create_bot')).toMatchObject({ action_id: bot.id, admin_id: boss.id, at: bot.created_at });
    expect(byAction.get('issue_bot_token')).toMatchObject({ admin_id: boss.id });
    expect(byAction.get('issue_bot_token')!.at).toBeGreaterThanOrEqual(issued.created_at);
    expect(byAction.get('revoke_bot_token')).toMatchObject({ admin_id: boss.id });
    expect(byAction.get('revoke_bot_token')!.at).toBeGreaterThanOrEqual(issued.created_at);
    // Newest first, as the audit always is.
    expect(entries.map((entry) => entry.at)).toEqual([...entries.map((entry) => entry.at)].sort((a, b) => b - a));
  });

  test('the token never enters the log, neither itself nor its hash, even with personal data opened; its issue and revocation do, by id', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'logged');
    const bot = await makeBot('logged');
    const room = await groupRoom(suite.api, alice!);
    const setup = await issueToken(bot, { name: 'setup' });
    await addBot(alice!, room, holding(bot, setup));
    const issued = await issueToken(bot, { name: 'secret keeper', room_ids: [room.id] });
    // The token in use: a REST command and a socket command with it, before it is revoked.
    const asBot = holding(bot, issued);
    await say(suite.api, asBot, room.id, 'posted with the token');
    const botWs = await suite.connect(asBot);
    const ack = await botWs.call('SEND_MESSAGE', {
      chat_room_id: room.id,
      content: 'sent with the token',
      client_msg_id: randomUUID(),
    });
    expect(ack.type).toBe('ACK');
    expectStatus(await suite.api.del(boss, `${tokensPath(bot)}/${issued.id}`), 204);

    const env = { LOG_LEVEL: 'warn', PARLEY_DATA_DIR: suite.parley.dataDir, ...(await modeEnv(suite.parley.dataDir)) };
    const replayOf = (topic: string) => parleyOutput(['replay', '--no-progress', '--topic', topic, '--with-personal-data'], env);
    const events = await replayOf('events');
    const commands = await replayOf('commands');
    for (const secret of [issued.token, sha256(issued.token), setup.token, sha256(setup.token)]) {
      expect(events).not.toContain(secret);
      expect(commands).not.toContain(secret);
    }

    const lines = events
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { type: string | null; data: Record<string, unknown> });
    const about = (type: string) => lines.filter((line) => line.type === type && line.data.token_id === issued.id);
    expect(about('bot_token_issued')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({ user_id: bot.id, name: 'secret keeper', room_ids: [room.id], issued_by: boss.id }),
      }),
    ]);
    expect(about('bot_token_revoked')).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ user_id: bot.id, revoked_by: boss.id }) }),
    ]);
  }, 60_000);
});
