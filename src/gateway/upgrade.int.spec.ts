// Load shedding at the gateway's door: while PARLEY_WS_MAX_CONNECTING sockets
// are being set up, the next one is refused with 503 + Retry-After (token on
// the URL) or ERROR server_busy + close 1013 (token in an AUTH frame), and a
// socket is accepted again as soon as a setup finishes. A real HTTP server and
// real ws clients; the connection setup (connections.ts, which reads the read
// model) is held open by the test so "being set up" lasts as long as it needs.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { commandInputs } from '../commands/inputs.ts';
import { loadConfig } from '../config.ts';
import type { Identity } from './connections.ts';
import { clientFrameSchemas } from './frames.ts';
import { SessionRegistry, type Session } from './sessions.ts';
import { acceptUpgrades } from './upgrade.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A gateway door whose connection setups wait until the test lets them finish. */
async function door(maxConnecting: number) {
  const config = loadConfig({ PARLEY_WS_MAX_CONNECTING: String(maxConnecting), PARLEY_WS_BUSY_RETRY_AFTER_S: '3' });
  const held: (() => void)[] = [];
  let shed = 0;
  const opened: string[] = [];
  const upgrades = acceptUpgrades({
    config,
    schemas: clientFrameSchemas(commandInputs(config)),
    sessions: new SessionRegistry(),
    verifyToken: (token): Promise<Identity> =>
      Promise.resolve({ userId: token, sessionId: null, expiresAt: Infinity, rooms: null }),
    connect: (socket, _stream, identity) =>
      new Promise<Session>((resolve) => held.push(() => resolve({ userId: identity.userId, socket } as unknown as Session))),
    receive: () => undefined,
    send: () => undefined,
    open: (session, firstFrame) => {
      opened.push(session.userId);
      session.socket.send(firstFrame);
    },
    onShed: () => shed++,
    logger: pino({ level: 'silent' }),
  });
  const server = http.createServer();
  server.on('upgrade', upgrades.onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  const clients: WebSocket[] = [];
  cleanups.push(async () => {
    for (const client of clients) client.terminate();
    upgrades.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const open = (query = '') => {
    const client = new WebSocket(`${url}${query}`);
    clients.push(client);
    return client;
  };
  /** Resolves when the server has started `count` setups (each waits in `held`). */
  const setupsStarted = async (count: number) => {
    while (held.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { open, held, setupsStarted, opened, shedCount: () => shed };
}

/** How an upgrade ended: the HTTP answer when refused, or 101. */
function handshake(client: WebSocket): Promise<{ status: number; retryAfter?: string; body?: string }> {
  return new Promise((resolve, reject) => {
    client.once('upgrade', () => resolve({ status: 101 }));
    client.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string, body }),
      );
    });
    client.once('error', reject);
  });
}

const firstMessage = (client: WebSocket) =>
  new Promise<Record<string, unknown>>((resolve) =>
    client.once('message', (raw: Buffer) => resolve(JSON.parse(raw.toString()) as Record<string, unknown>)),
  );
const closed = (client: WebSocket) => new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));

describe('a gateway sheds sockets beyond PARLEY_WS_MAX_CONNECTING being set up', () => {
  it('refuses the next upgrade with 503 and Retry-After, and accepts again once a setup finishes', async () => {
    const gateway = await door(2);
    const first = gateway.open('?token=alice');
    const second = gateway.open('?token=bob');
    await gateway.setupsStarted(2);

    const refused = gateway.open('?token=carol');
    const answer = await handshake(refused);
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('3');
    expect(JSON.parse(answer.body!)).toMatchObject({ error: { code: 'server_busy' } });
    expect(gateway.shedCount()).toBe(1);

    // The two being set up are not disturbed: they finish and get AUTH_SUCCESS.
    const firstFrame = firstMessage(first);
    gateway.held[0]!();
    expect(await firstFrame).toMatchObject({ type: 'AUTH_SUCCESS', data: { user_id: 'alice' } });

    // One setup finished: the door opens again for one more.
    const retried = gateway.open('?token=carol');
    expect((await handshake(retried)).status).toBe(101);
    await gateway.setupsStarted(3);
    const retriedFrame = firstMessage(retried);
    gateway.held[2]!();
    expect(await retriedFrame).toMatchObject({ type: 'AUTH_SUCCESS', data: { user_id: 'carol' } });
    const secondFrame = firstMessage(second);
    gateway.held[1]!();
    expect(await secondFrame).toMatchObject({ type: 'AUTH_SUCCESS', data: { user_id: 'bob' } });
    expect(gateway.opened).toEqual(['alice', 'carol', 'bob']);
  });

  it('answers an AUTH frame that comes while the door is full with ERROR server_busy and close 1013', async () => {
    const gateway = await door(1);
    gateway.open('?token=alice');
    await gateway.setupsStarted(1);

    const late = gateway.open();
    expect((await handshake(late)).status).toBe(101);
    const reply = firstMessage(late);
    const code = closed(late);
    late.send(JSON.stringify({ type: 'AUTH', ref: 'a1', data: { token: 'bob' } }));
    expect(await reply).toMatchObject({
      type: 'ERROR',
      ref: 'a1',
      data: { code: 'server_busy', details: { retry_after: 3 } },
    });
    expect(await code).toBe(1013);
    expect(gateway.shedCount()).toBe(1);
    expect(gateway.held).toHaveLength(1); // bob's setup never started
  });
});
