// `parley rebuild chat` against the data dir of a running server, as an
// operator runs it: the server keeps answering (and taking messages) during
// the rebuild, follows the swap to the new version, and nothing is lost.

import { setTimeout as delay } from 'node:timers/promises';
import { beforeAll, expect, test } from 'vitest';
import { createRoom, eventually, fullHistory, range1 } from '../support/chat.ts';
import { runParley, type CliResult } from '../support/cli.ts';
import { registerUser, request, type TestUser } from '../support/client.ts';
import { modeEnv } from '../support/modes.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { Message, RoomSummary } from '../support/wire.ts';

/** `parley …args` on the server's data dir (and adapters). */
async function parley(dataDir: string, args: string[]): Promise<CliResult> {
  return runParley(args, { PARLEY_DATA_DIR: dataDir, LOG_LEVEL: 'info', ...(await modeEnv(dataDir)) });
}

let server: ParleyProcess;
let alice: TestUser;
let bob: TestUser;
let roomId: string;
let sent = 0;

const send = async (author: TestUser) => {
  sent++;
  const response = await request(server.url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
    token: author.token,
    body: { content: `message ${sent} café 👍`, client_msg_id: `m-${sent}` },
  });
  if (response.status !== 201) {
    // The server's own account of a 500, which the response does not carry.
    const errors = server.logs.filter((entry) => typeof entry.level === 'number' && entry.level >= 50).slice(-5);
    throw new Error(`send failed: ${response.status} ${JSON.stringify(response.body)}; server errors: ${JSON.stringify(errors)}`);
  }
  return response.body as { seq: number };
};

beforeAll(async () => {
  server = await startParley();
  return () => server.stop();
});
beforeAll(async () => {
  alice = await registerUser(server.url, 'alice');
  bob = await registerUser(server.url, 'bob');
  roomId = await createRoom(server.url, alice, [bob], 'rebuilt');
  for (let i = 0; i < 40; i++) await send(i % 2 === 0 ? alice : bob);
}, 60_000);

test('the server keeps answering during `parley rebuild chat`, follows the swap, and loses nothing', async () => {
  const before = await fullHistory(server.url, alice, roomId);
  expect(before.map((m) => m.seq)).toEqual(range1(40));

  const rebuilding = parley(server.dataDir, ['rebuild', 'chat', '--handover-ms', '1500']);
  // Set by the callback; `as boolean` keeps TypeScript from narrowing it to
  // `false` for the loop below (it does not see the callback's write).
  let done = false as boolean;
  void rebuilding.then(() => (done = true));
  // Reads and writes go on meanwhile; every one of them must succeed.
  let reads = 0;
  while (!done) {
    const history = await request(server.url, 'GET', `/api/v1/rooms/${roomId}/messages?limit=100`, { token: bob.token });
    expect(history.status).toBe(200);
    const rooms = await request(server.url, 'GET', '/api/v1/rooms', { token: bob.token });
    expect(rooms.status).toBe(200);
    reads++;
    if (reads % 3 === 0) await send(bob);
    await delay(20);
  }
  const result = await rebuilding;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toMatch(/rebuild chat: [\d,]+\/[\d,]+ \(100%\) [\d,]+\/s ETA/);
  expect(result.stderr).toContain('rebuild chat: v2 active (was v1)');
  expect(reads).toBeGreaterThan(0);

  await eventually(
    () => server.logs.some((entry) => entry.msg === 'projector switched version' && entry.to === 2),
    'the server projects into v2',
  );
  // Reads move once v2 holds everything v1 does.
  await eventually(
    () => server.logs.some((entry) => entry.msg === 'read model version switched' && entry.to === 2),
    'the server reads v2',
  );

  // Written after the swap: read-your-writes now waits on v2's projector.
  const last = await send(alice);
  expect(last.seq).toBe(sent);
  const after = await fullHistory(server.url, alice, roomId);
  expect(after.map((m) => m.seq)).toEqual(range1(sent));
  expect(after.slice(0, 40)).toEqual(before);
  const rooms = await request<{ rooms: RoomSummary[] }>(server.url, 'GET', '/api/v1/rooms', { token: alice.token });
  expect(rooms.body.rooms.find((room) => room.id === roomId)).toMatchObject({ last_seq: sent });

  const status = await parley(server.dataDir, ['rebuild', 'chat', '--status']);
  expect(status.stderr).toContain('chat: active v2; tables of v1, v2');

  // The old version goes once the server has moved off it.
  const dropped = await parley(server.dataDir, ['rebuild', 'chat', '--drop-only']);
  expect(dropped.stderr).toContain('chat: dropped v1');
  expect((await fullHistory(server.url, bob, roomId)).map((m) => m.seq)).toEqual(range1(sent));
  // Full-text search reads v2's own FTS table.
  const search = await request<{ messages: Message[] }>(server.url, 'GET', `/api/v1/search/messages?q=caf&limit=20`, {
    token: bob.token,
  });
  expect(search.status).toBe(200);
  expect(search.body.messages.length).toBe(20);
}, 120_000);
