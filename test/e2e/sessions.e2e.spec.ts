// Sessions end when the user says so, not when their tokens expire: a password
// change ends every other session of the account — its refresh tokens, its
// access tokens and its open sockets, on whichever instance they are — and a
// logout ends its own. In both modes: the embedded server (one process, the
// revocations in memory) and a two-instance cluster (revocations in Redis, the
// socket on one instance, the change made through the other).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/chat.ts';
import { registerUser, request, WsClient, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import type { Session } from '../support/wire.ts';

interface Node {
  url: string;
  wsUrl: string;
}

async function login(node: Node, user: TestUser, password = user.password): Promise<Session> {
  const response = await request<Session>(node.url, 'POST', '/api/v1/auth/login', { body: { login: user.username, password } });
  expect(response.status).toBe(200);
  return response.body;
}

const me = (node: Node, token: string) => request(node.url, 'GET', '/api/v1/users/me', { token });
const refresh = (node: Node, refreshToken: string) =>
  request(node.url, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: refreshToken } });

/** `here` changes the password; `there` (the same instance or another) holds the other session's socket. */
async function passwordChangeEndsOtherSessions(here: Node, there: Node): Promise<void> {
  const user = await registerUser(here.url, 'sess'); // session A: the registration's
  const other = await login(there, user); // session B
  const socket = await WsClient.connect(there.wsUrl, other.access_token);
  const change = (body: unknown) => request(here.url, 'POST', '/api/v1/users/me/password', { token: user.token, body });

  const wrong = await change({ current_password: 'not it', new_password: 'a brand new passphrase' });
  expect(wrong.status).toBe(401);
  expect(wrong.body).toMatchObject({ error: { code: 'invalid_credentials' } });
  const weak = await change({ current_password: user.password, new_password: 'short' });
  expect(weak.status).toBe(400);
  expect(socket.closeCode).toBeNull(); // nothing happened yet

  const done = await change({ current_password: user.password, new_password: 'a brand new passphrase' });
  expect(done.status).toBe(204);
  // B: its socket is closed, its tokens refused, wherever they are used.
  expect(await socket.closed).toBe(1008);
  expect((await me(there, other.access_token)).status).toBe(401);
  expect((await me(here, other.access_token)).status).toBe(401);
  expect((await refresh(there, other.refresh_token)).status).toBe(401);
  // A, the session that changed it, goes on.
  expect((await me(here, user.token)).status).toBe(200);
  const renewed = await refresh(here, user.refreshToken);
  expect(renewed.status).toBe(200);
  // The old password no longer opens the account; the new one does.
  expect(
    (await request(here.url, 'POST', '/api/v1/auth/login', { body: { login: user.username, password: user.password } })).status,
  ).toBe(401);
  const fresh = await login(here, user, 'a brand new passphrase');

  // A logout ends its own session at once: access token and socket too.
  const socketOfFresh = await WsClient.connect(there.wsUrl, fresh.access_token);
  expect((await request(here.url, 'POST', '/api/v1/auth/logout', { body: { refresh_token: fresh.refresh_token } })).status).toBe(
    204,
  );
  expect(await socketOfFresh.closed).toBe(1008);
  await eventually(async () => (await me(there, fresh.access_token)).status === 401, 'the logged-out token refused');
  expect((await me(here, (renewed.body as unknown as Session).access_token)).status).toBe(200); // A untouched
}

describe('sessions on the embedded server', () => {
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley();
  });
  afterAll(() => server.stop());

  it('a password change ends every other session (tokens and sockets); a logout ends its own', async () => {
    await passwordChangeEndsOtherSessions(server, server);
  });
});

describe.runIf(await stackAvailable('sessions'))('sessions on a two-instance cluster', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('sessions', 2);
  }, 120_000);
  afterAll(() => cluster.stop());

  it('a password change through one instance closes the other session’s socket on the other', async () => {
    await passwordChangeEndsOtherSessions(cluster.nodes[0]!, cluster.nodes[1]!);
  });
});
