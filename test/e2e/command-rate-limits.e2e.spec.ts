// Per-user command budgets (API.md "Rate limits") against a real `parley start`:
// a user over a budget gets 429 `rate_limited` with Retry-After over REST and
// an ERROR with the frame's ref over WebSocket; REST and every socket of the
// user draw on one budget; other users and other kinds of command are not
// touched. Budgets here are small and their window an hour, so no test
// depends on when a window happens to turn.

import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { barrier, eventually } from '../support/chat.ts';
import type { ApiResponse, TestUser, WsClient } from '../support/client.ts';
import { expectError, expectStatus, groupRoom, messagesOf, postMessage, say, useParley } from '../support/social.ts';
import type { Message, Room } from '../support/wire.ts';

const MESSAGES = 6;
const BUDGET = 3; // every other class
const suite = useParley({
  PARLEY_RATE_MESSAGES_MAX: String(MESSAGES),
  PARLEY_RATE_MESSAGES_WINDOW_S: '3600',
  ...Object.fromEntries(
    ['EDITS', 'REACTIONS', 'ROOMS', 'FRIEND_REQUESTS', 'OTHER'].flatMap((rateClass) => [
      [`PARLEY_RATE_${rateClass}_MAX`, String(BUDGET)],
      [`PARLEY_RATE_${rateClass}_WINDOW_S`, '3600'],
    ]),
  ),
});

const message = () => ({ client_msg_id: randomUUID(), content: 'hello' });

/** A 429 as API.md promises it: `rate_limited`, and a Retry-After within the window that the details repeat. */
function expectRateLimited(response: ApiResponse<unknown>): void {
  expectError(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(3600);
  expect((response.body as { error: { details: unknown } }).error.details).toEqual({ retry_after_s: retryAfter });
}

describe('the message budget', () => {
  test('a user who sends more messages than the budget gets 429 with Retry-After; what fit is stored', async () => {
    const [alice] = await suite.api.users(1, 'flood');
    const room = await groupRoom(suite.api, alice!);
    for (let i = 0; i < MESSAGES; i++) expectStatus(await postMessage(suite.api, alice!, room.id, message()), 201);

    expectRateLimited(await postMessage(suite.api, alice!, room.id, message()));
    expect(await messagesOf(suite.api, alice!, room.id)).toHaveLength(MESSAGES);
  });

  test('another user is unaffected by one who spent the budget, even in the same room', async () => {
    const [alice, bob] = await suite.api.users(2, 'pair');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    for (let i = 0; i < MESSAGES; i++) await say(suite.api, alice!, room.id, `alice ${i}`);
    expectRateLimited(await postMessage(suite.api, alice!, room.id, message()));

    const fromBob = await say(suite.api, bob!, room.id, 'bob is still heard');
    expect(fromBob.sender_id).toBe(bob!.id);
  });

  test('REST and two sockets of one user share one budget: exactly the budget is accepted, the rest refused', async () => {
    const [carol] = await suite.api.users(1, 'spread');
    const room = await groupRoom(suite.api, carol!);
    const sockets = [await suite.connect(carol!), await suite.connect(carol!)];
    const perPath = MESSAGES; // three paths of this many each: three times the budget
    const send = (socket: WsClient) =>
      socket.call<{ code?: string; message?: Message }>('SEND_MESSAGE', { chat_room_id: room.id, ...message() });

    const [rest, ...viaSockets] = await Promise.all([
      Promise.all(Array.from({ length: perPath }, () => postMessage(suite.api, carol!, room.id, message()))),
      ...sockets.map((socket) => Promise.all(Array.from({ length: perPath }, () => send(socket)))),
    ]);
    const frames = viaSockets.flat();

    const accepted = rest.filter((r) => r.status === 201).length + frames.filter((f) => f.type === 'ACK').length;
    expect(accepted).toBe(MESSAGES);
    for (const refused of rest.filter((r) => r.status !== 201)) expectRateLimited(refused);
    const refusedFrames = frames.filter((f) => f.type !== 'ACK');
    // Each refusal is an ERROR answering its own frame (call() waits for the frame's ref).
    for (const frame of refusedFrames)
      expect({ type: frame.type, code: frame.data.code }).toEqual({ type: 'ERROR', code: 'rate_limited' });
    expect(rest.length + frames.length - accepted).toBe(3 * perPath - MESSAGES);
    // The sockets stay open and answer.
    for (const socket of sockets) await barrier(socket);
    expect(sockets.map((socket) => socket.closeCode)).toEqual([null, null]);
    // An ACK means in the log; history has it once projected: wait for the accepted, then nothing more.
    const stored = async () => (await messagesOf(suite.api, carol!, room.id)).length;
    await eventually(async () => (await stored()) >= MESSAGES, 'the accepted messages in history');
    expect(await stored()).toBe(MESSAGES);
  });
});

describe('every kind of command has its own budget, which the others do not spend', () => {
  /** A kind of command: `setup` prepares what it acts on and answers the i-th command of the kind. */
  interface Kind {
    name: string;
    /** Commands of this kind the test's set-up gives (the user's first room, for rooms). */
    spentBySetup?: number;
    setup(user: TestUser, home: Room): Promise<(i: number) => Promise<ApiResponse<unknown>>>;
  }
  const kinds: Kind[] = [
    {
      name: 'rooms (create, rename, add a member)',
      spentBySetup: 1,
      async setup(user, home) {
        const [other] = await suite.api.users(1, 'member');
        const steps = [
          () => suite.api.patch(user, `/rooms/${home.id}`, { name: 'renamed' }),
          () => suite.api.post(user, `/rooms/${home.id}/members`, { user_id: other!.id }),
          () => suite.api.post(user, '/rooms', { name: 'one too many', member_ids: [] }),
        ];
        return (i) => steps[i]!();
      },
    },
    {
      name: 'reactions',
      async setup(user, home) {
        const said = await say(suite.api, user, home.id, 'react to me');
        const emojis = ['👍', '🎉', '❤️', '😂'];
        return (i) => suite.api.put(user, `/rooms/${home.id}/messages/${said.id}/reactions/${encodeURIComponent(emojis[i]!)}`);
      },
    },
    {
      name: 'edits',
      async setup(user, home) {
        const said = await say(suite.api, user, home.id, 'draft');
        return (i) => suite.api.patch(user, `/rooms/${home.id}/messages/${said.id}`, { content: `edit ${i}` });
      },
    },
    {
      name: 'friend requests',
      async setup(user) {
        const others = await suite.api.users(BUDGET + 1, 'friend');
        return (i) => suite.api.post(user, '/friends/requests', { user_id: others[i]!.id });
      },
    },
    {
      name: 'the other commands (read receipts, profile)',
      async setup(user, home) {
        await say(suite.api, user, home.id, 'read me');
        return (i) =>
          i % 2 === 0
            ? suite.api.post(user, `/rooms/${home.id}/read`, { seq: 1 })
            : suite.api.patch(user, '/users/me', { bio: `${i}` });
      },
    },
  ];

  test.each(kinds)('$name: the budget is accepted, the next is 429, and messages still go', async (kind) => {
    const [dave] = await suite.api.users(1, 'kinds');
    const home = await groupRoom(suite.api, dave!);
    const command = await kind.setup(dave!, home);
    const left = BUDGET - (kind.spentBySetup ?? 0);
    for (let i = 0; i < left; i++) {
      const response = await command(i);
      expect(response.status, JSON.stringify(response.body)).toBeLessThan(300);
    }
    expectRateLimited(await command(left));

    await say(suite.api, dave!, home.id, 'messages have their own budget');
  });

  test('a READ_RECEIPT frame draws on the same budget as POST /rooms/:id/read, and is refused with its ref', async () => {
    const [erin] = await suite.api.users(1, 'receipt');
    const room = await groupRoom(suite.api, erin!);
    await say(suite.api, erin!, room.id, 'read me');
    const socket = await suite.connect(erin!);
    for (let i = 0; i < BUDGET; i++) expectStatus(await suite.api.post(erin!, `/rooms/${room.id}/read`, { seq: 1 }), 200);

    const reply = await socket.call('READ_RECEIPT', { chat_room_id: room.id, seq: 1 });
    expect(reply.type).toBe('ERROR');
    expect(reply.data).toMatchObject({ code: 'rate_limited', details: { retry_after_s: expect.any(Number) } });
    await barrier(socket);
    expect(socket.closeCode).toBeNull();
  });
});
