// Chat-level helpers for end-to-end tests, built on the plain clients in
// client.ts: rooms, full history, per-room frame views and socket barriers.

import { request, WsClient, type Frame, type TestUser } from './client.ts';

/**
 * Creates a group room owned by `owner` with the given members; returns its id.
 * Members who are not the owner's friends are invited (API.md "Invitations"):
 * each accepts, so all are members when this returns.
 */
export async function createRoom(baseUrl: string, owner: TestUser, members: TestUser[] = [], name = 'room'): Promise<string> {
  const response = await request(baseUrl, 'POST', '/api/v1/rooms', {
    token: owner.token,
    body: { name, member_ids: members.map((member) => member.id) },
  });
  if (response.status !== 201) throw new Error(`create room failed: ${response.status} ${JSON.stringify(response.body)}`);
  const roomId = response.body.id as string;
  await acceptInvitations(baseUrl, roomId, members);
  return roomId;
}

/** Each of `invitees` accepts their invitation to `roomId` (a no-op for one who is a member already). */
export async function acceptInvitations(baseUrl: string, roomId: string, invitees: TestUser[]): Promise<void> {
  for (const invitee of invitees) {
    const accepted = await request(baseUrl, 'POST', `/api/v1/invitations/${roomId}/accept`, { token: invitee.token });
    if (accepted.status !== 200) throw new Error(`accept invitation failed: ${accepted.status} ${JSON.stringify(accepted.body)}`);
  }
}

export interface StoredMessage {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  content: string;
  [key: string]: unknown;
}

/** The newest `limit` messages of a room as `user` sees them over REST (no cursor). */
export async function latestHistory(baseUrl: string, user: TestUser, roomId: string, limit = 100): Promise<StoredMessage[]> {
  const page = await request(baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?limit=${limit}`, { token: user.token });
  if (page.status !== 200) throw new Error(`history failed: ${page.status} ${JSON.stringify(page.body)}`);
  return page.body.messages as StoredMessage[];
}

/**
 * The whole history of a room as `user` sees it over REST. One page when it
 * fits; otherwise paged forward with `after_seq` from the start.
 */
export async function fullHistory(baseUrl: string, user: TestUser, roomId: string): Promise<StoredMessage[]> {
  const newest = await latestHistory(baseUrl, user, roomId, 100);
  if (newest.length < 100) return newest;
  const all: StoredMessage[] = [];
  let after = 0;
  for (;;) {
    const page = await request(baseUrl, 'GET', `/api/v1/rooms/${roomId}/messages?after_seq=${after}&limit=100`, {
      token: user.token,
    });
    if (page.status !== 200) throw new Error(`history (after_seq=${after}) failed: ${page.status} ${JSON.stringify(page.body)}`);
    const messages = page.body.messages as StoredMessage[];
    all.push(...messages);
    if (messages.length < 100) return all;
    after = messages[messages.length - 1]!.seq;
  }
}

/** `[1, 2, …, n]`. */
export const range1 = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** NEW_MESSAGE frames of one room that a socket has received so far, in arrival order. */
export const newMessagesIn = (client: WsClient, roomId: string): Frame[] =>
  client.frames.filter((frame) => frame.type === 'NEW_MESSAGE' && frame.data.room_id === roomId);

/** Seqs of the NEW_MESSAGE frames of one room received so far, in arrival order. */
export const seqsIn = (client: WsClient, roomId: string): number[] =>
  newMessagesIn(client, roomId).map((frame) => frame.data.seq as number);

/**
 * The room's history once the read model holds at least `count` messages. A
 * WebSocket ACK says the message is in the log; the read model follows within
 * milliseconds (REST answers are read-your-writes, WS ACKs are not).
 */
export async function historyWith(baseUrl: string, user: TestUser, roomId: string, count: number): Promise<StoredMessage[]> {
  let history: StoredMessage[] = [];
  await eventually(
    async () => (history = await fullHistory(baseUrl, user, roomId)).length >= count,
    `history of ${count} messages`,
  );
  return history;
}

/**
 * A round trip on the socket: the server answers PING in order with every
 * frame it has already written to this socket, so once the PONG is here,
 * anything the server sent before it has arrived too.
 */
export async function barrier(client: WsClient): Promise<void> {
  const pong = await client.call('PING');
  if (pong.type !== 'PONG') throw new Error(`expected PONG, got ${JSON.stringify(pong)}`);
}

/** Polls `check` until it returns true, or fails after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Tracks the sockets a test opens so they can all be closed afterwards. */
export class Sockets {
  readonly #open: WsClient[] = [];

  add(client: WsClient): WsClient {
    this.#open.push(client);
    return client;
  }

  async connect(wsUrl: string, user: TestUser): Promise<WsClient> {
    const client = new WsClient(wsUrl, { token: user.token });
    this.#open.push(client);
    await client.opened;
    await client.next((frame) => frame.type === 'AUTH_SUCCESS');
    return client;
  }

  /** Drops every socket still open (no close handshake: nothing to wait for). */
  closeAll(): void {
    for (const client of this.#open.splice(0)) {
      if (client.closeCode !== null) continue;
      client.socket.on('error', () => undefined); // aborting a pending handshake reports one
      client.socket.terminate();
    }
  }
}
