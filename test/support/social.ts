// Helpers for the end-to-end suites on friends, blocks, direct and group rooms,
// messages, receipts and search: a REST client bound to one server, error
// assertions, and the few multi-step flows (befriend, wait for a room state)
// that many tests need. Built on the plain clients in client.ts.

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { eventually, Sockets } from './chat.ts';
import { registerUser, request, type ApiResponse, type Frame, type TestUser, type WsClient } from './client.ts';
import { startParley, type ParleyProcess } from './server.ts';

export interface Api {
  readonly url: string;
  get(user: TestUser, path: string): Promise<ApiResponse>;
  post(user: TestUser, path: string, body?: unknown): Promise<ApiResponse>;
  patch(user: TestUser, path: string, body?: unknown): Promise<ApiResponse>;
  put(user: TestUser, path: string, body?: unknown): Promise<ApiResponse>;
  del(user: TestUser, path: string): Promise<ApiResponse>;
  /** `count` fresh users, registered one after another. */
  users(count: number, prefix?: string): Promise<TestUser[]>;
}

/** A REST client for `/api/v1` of one server; every call is authenticated as `user`. */
export function apiOf(baseUrl: string): Api {
  const call = (method: string) => (user: TestUser, path: string, body?: unknown) =>
    request(baseUrl, method, `/api/v1${path}`, body === undefined ? { token: user.token } : { token: user.token, body });
  return {
    url: baseUrl,
    get: call('GET'),
    post: call('POST'),
    patch: call('PATCH'),
    put: call('PUT'),
    del: call('DELETE'),
    async users(count, prefix = 'u') {
      const made: TestUser[] = [];
      for (let i = 0; i < count; i++) made.push(await registerUser(baseUrl, prefix));
      return made;
    },
  };
}

/** Asserts the status (showing the body when it differs) and returns the body. */
export function expectStatus(response: ApiResponse, status: number): any {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body;
}

/** Asserts an API.md error: the status and `{error: {code, message}}`. */
export function expectError(response: ApiResponse, status: number, code?: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({
    error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String) }),
  });
}

/** An ERROR frame with this code. */
export const isErrorFrame = (code: string) => (frame: Frame) => frame.type === 'ERROR' && frame.data.code === code;

// ── friends ─────────────────────────────────────────────────────────────────

export async function sendFriendRequest(api: Api, from: TestUser, to: TestUser): Promise<any> {
  return expectStatus(await api.post(from, '/friends/requests', { user_id: to.id }), 201).request;
}

/** `a` asks, `b` accepts; returns the accept response body (`{request, friendship}`). */
export async function befriend(api: Api, a: TestUser, b: TestUser): Promise<any> {
  const sent = await sendFriendRequest(api, a, b);
  return expectStatus(await api.post(b, `/friends/requests/${sent.id}/accept`), 200);
}

export async function friendIds(api: Api, user: TestUser): Promise<string[]> {
  const body = expectStatus(await api.get(user, '/friends'), 200);
  return body.friends.map((friend: { id: string }) => friend.id);
}

export async function pendingIds(api: Api, user: TestUser, direction: 'incoming' | 'outgoing'): Promise<string[]> {
  const body = expectStatus(await api.get(user, `/friends/requests?direction=${direction}`), 200);
  return body.requests.map((r: { id: string }) => r.id);
}

// ── rooms and messages ──────────────────────────────────────────────────────

/** Creates a group room; returns the created room (with members). */
export async function groupRoom(
  api: Api,
  owner: TestUser,
  members: TestUser[] = [],
  name = `room ${randomUUID().slice(0, 6)}`,
): Promise<any> {
  return expectStatus(await api.post(owner, '/rooms', { name, member_ids: members.map((m) => m.id) }), 201);
}

/** POST /rooms/direct as `user` with `other`; returns the room. */
export async function openDirect(api: Api, user: TestUser, other: TestUser): Promise<any> {
  return expectStatus(await api.post(user, '/rooms/direct', { user_id: other.id }), 201);
}

export const postMessage = (api: Api, user: TestUser, roomId: string, body: unknown) =>
  api.post(user, `/rooms/${roomId}/messages`, body);

/** Posts a message that must be accepted; returns the stored message. */
export async function say(
  api: Api,
  user: TestUser,
  roomId: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  return expectStatus(await postMessage(api, user, roomId, { client_msg_id: randomUUID(), content, ...extra }), 201);
}

/** The room's whole (short) history as `user` sees it. */
export async function messagesOf(api: Api, user: TestUser, roomId: string): Promise<any[]> {
  return expectStatus(await api.get(user, `/rooms/${roomId}/messages?limit=100`), 200).messages;
}

export const roleIn = (room: any, userId: string): string | undefined =>
  room.members.find((m: { user_id: string }) => m.user_id === userId)?.role;

/** Polls GET /rooms/:id as `user` until `check` holds (for effects of the process manager). */
export async function roomWhen(
  api: Api,
  user: TestUser,
  roomId: string,
  check: (room: any) => boolean,
  what: string,
): Promise<any> {
  let room: any;
  await eventually(async () => {
    const response = await api.get(user, `/rooms/${roomId}`);
    room = response.body;
    return response.status === 200 && check(room);
  }, what);
  return room;
}

/**
 * The usual suite set-up: one Parley process for the file (registration limit
 * lifted), a REST client for it, and sockets closed after each test.
 */
export function useParley(env: Record<string, string> = {}) {
  let parley: ParleyProcess | undefined;
  let api: Api | undefined;
  const sockets = new Sockets();
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_REGISTER_MAX_PER_IP: '100000', ...env } });
    api = apiOf(parley.url);
  });
  afterEach(async () => {
    await sockets.closeAll();
  });
  afterAll(async () => {
    await parley?.stop();
  });
  return {
    get parley(): ParleyProcess {
      return parley!;
    },
    get api(): Api {
      return api!;
    },
    connect: (who: TestUser): Promise<WsClient> => sockets.connect(parley!.wsUrl, who),
    closeSockets: () => sockets.closeAll(),
  };
}
