// Helpers for the end-to-end suites on friends, blocks, direct and group rooms,
// messages, receipts and search: a REST client bound to one server, error
// assertions, and the few multi-step flows (befriend, wait for a room state)
// that many tests need. Built on the plain clients in client.ts.

import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { acceptInvitations, eventually, Sockets } from './chat.ts';
import { registerUser, request, type ApiResponse, type Frame, type TestUser, type WsClient } from './client.ts';
import { startParley, type ParleyProcess } from './server.ts';
import type { Friend, FriendRequest, Friendship, JsonObject, Message, Room } from './wire.ts';

/** Each call answers the body the caller expects (`T`), a JSON object when it says nothing. */
export interface Api {
  readonly url: string;
  get<T = JsonObject>(user: TestUser, path: string): Promise<ApiResponse<T>>;
  post<T = JsonObject>(user: TestUser, path: string, body?: unknown): Promise<ApiResponse<T>>;
  patch<T = JsonObject>(user: TestUser, path: string, body?: unknown): Promise<ApiResponse<T>>;
  put<T = JsonObject>(user: TestUser, path: string, body?: unknown): Promise<ApiResponse<T>>;
  del<T = JsonObject>(user: TestUser, path: string, body?: unknown): Promise<ApiResponse<T>>;
  /** `count` fresh users, registered one after another. */
  users(count: number, prefix?: string): Promise<TestUser[]>;
}

/** A REST client for `/api/v1` of one server; every call is authenticated as `user`. */
export function apiOf(baseUrl: string): Api {
  const call =
    (method: string) =>
    <T>(user: TestUser, path: string, body?: unknown) =>
      request<T>(baseUrl, method, `/api/v1${path}`, body === undefined ? { token: user.token } : { token: user.token, body });
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
export function expectStatus<T>(response: ApiResponse<T>, status: number): T {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  return response.body;
}

/** Asserts an API.md error: the status and `{error: {code, message}}`. */
export function expectError(response: ApiResponse<unknown>, status: number, code?: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({
    error: expect.objectContaining({ code: code ?? expect.any(String), message: expect.any(String) }),
  });
}

/** An ERROR frame with this code. */
export const isErrorFrame = (code: string) => (frame: Frame) => frame.type === 'ERROR' && frame.data.code === code;

// ── friends ─────────────────────────────────────────────────────────────────

export async function sendFriendRequest(api: Api, from: TestUser, to: TestUser): Promise<FriendRequest> {
  return expectStatus(await api.post<{ request: FriendRequest }>(from, '/friends/requests', { user_id: to.id }), 201).request;
}

/** `a` asks, `b` accepts; returns the accept response body (`{request, friendship}`). */
export async function befriend(api: Api, a: TestUser, b: TestUser): Promise<{ request: FriendRequest; friendship: Friendship }> {
  const sent = await sendFriendRequest(api, a, b);
  return expectStatus(
    await api.post<{ request: FriendRequest; friendship: Friendship }>(b, `/friends/requests/${sent.id}/accept`),
    200,
  );
}

export async function friendIds(api: Api, user: TestUser): Promise<string[]> {
  const body = expectStatus(await api.get<{ friends: Friend[] }>(user, '/friends'), 200);
  return body.friends.map((friend) => friend.id);
}

export async function pendingIds(api: Api, user: TestUser, direction: 'incoming' | 'outgoing'): Promise<string[]> {
  const body = expectStatus(await api.get<{ requests: FriendRequest[] }>(user, `/friends/requests?direction=${direction}`), 200);
  return body.requests.map((r) => r.id);
}

// ── rooms and messages ──────────────────────────────────────────────────────

/**
 * Creates a group room; returns the room as its owner then sees it (with
 * members). Members who are not the owner's friends are invited and accept,
 * so all are members when this returns.
 */
export async function groupRoom(
  api: Api,
  owner: TestUser,
  members: TestUser[] = [],
  name = `room ${randomUUID().slice(0, 6)}`,
): Promise<Room> {
  const room = expectStatus(await api.post<Room>(owner, '/rooms', { name, member_ids: members.map((m) => m.id) }), 201);
  if (room.invitations.length === 0) return room;
  await acceptInvitations(api.url, room.id, members);
  return expectStatus(await api.get<Room>(owner, `/rooms/${room.id}`), 200);
}

/**
 * POST /rooms/:id/members as `actor`; when that invites `target` (no friend of
 * the actor's), `target` accepts, and the answer carries the room after the join.
 * Refusals come back as they are.
 */
export async function addMember(
  api: Api,
  actor: TestUser,
  roomId: string,
  target: TestUser,
  role?: string,
): Promise<ApiResponse<Room>> {
  const response = await api.post<Room>(actor, `/rooms/${roomId}/members`, { user_id: target.id, ...(role && { role }) });
  if (response.status !== 201 || !response.body.invitations.some((i) => i.user_id === target.id)) return response;
  await acceptInvitations(api.url, roomId, [target]);
  return { ...response, body: expectStatus(await api.get<Room>(actor, `/rooms/${roomId}`), 200) };
}

/** POST /rooms/direct as `user` with `other`; returns the room. */
export async function openDirect(api: Api, user: TestUser, other: TestUser): Promise<Room> {
  return expectStatus(await api.post<Room>(user, '/rooms/direct', { user_id: other.id }), 201);
}

export const postMessage = <T = JsonObject>(api: Api, user: TestUser, roomId: string, body: unknown) =>
  api.post<T>(user, `/rooms/${roomId}/messages`, body);

/** Posts a message that must be accepted; returns the stored message. */
export async function say(
  api: Api,
  user: TestUser,
  roomId: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<Message> {
  return expectStatus(await postMessage<Message>(api, user, roomId, { client_msg_id: randomUUID(), content, ...extra }), 201);
}

/** The room's whole (short) history as `user` sees it. */
export async function messagesOf(api: Api, user: TestUser, roomId: string): Promise<Message[]> {
  const page = expectStatus(
    await api.get<{ messages: (Message & { thread: unknown })[] }>(user, `/rooms/${roomId}/messages?limit=100`),
    200,
  );
  // As the message objects elsewhere (POST, frames): history adds each one's thread summary (tested with threads).
  return page.messages.map(({ thread: _thread, ...message }) => message);
}

export const roleIn = (room: Room, userId: string): string | undefined => room.members.find((m) => m.user_id === userId)?.role;

/**
 * Polls GET /rooms/:id as `user` until `check` holds (for effects of the
 * process manager). `check` reads the room as it came off the wire, so a wait
 * for `closed === false` does not end on a missing field.
 */
export async function roomWhen(
  api: Api,
  user: TestUser,
  roomId: string,
  check: (room: JsonObject) => boolean,
  what: string,
): Promise<Room> {
  let room: Room | undefined;
  await eventually(async () => {
    const response = await api.get<Room & JsonObject>(user, `/rooms/${roomId}`);
    room = response.body;
    return response.status === 200 && check(response.body);
  }, what);
  return room!;
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
  afterEach(() => {
    sockets.closeAll();
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
