// A socket too slow for what it is sent: once more than the limit waits for it,
// the gateway closes it (1013) instead of buffering without bound, and the
// metrics count the drop and every frame that was written. A real TCP
// connection whose client stops reading, through a real ws server socket.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createMetrics } from '../infra/metrics.ts';
import { parseExposition, valueOf } from '../../test/support/metrics.ts';
import { createDelivery } from './delivery.ts';
import type { Membership } from './membership.ts';
import { SessionRegistry, type Session } from './sessions.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A server-side ws socket whose client has stopped reading (its TCP socket paused). */
async function stalledSocket(): Promise<{ socket: WebSocket; stream: Duplex }> {
  const server = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const upgraded = new Promise<{ socket: WebSocket; stream: Duplex }>((resolve) => {
    server.on('upgrade', (request, stream, head) =>
      wss.handleUpgrade(request, stream, head, (socket) => resolve({ socket, stream })),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http.request({
    port: (server.address() as AddressInfo).port,
    host: '127.0.0.1',
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    },
  });
  client.on('upgrade', (_response, tcp) => {
    tcp.pause(); // reads nothing more: the kernel's buffers fill, then the server's
    cleanups.push(() => tcp.destroy());
  });
  client.end();
  cleanups.push(() => {
    wss.close();
    server.closeAllConnections();
    server.close();
  });
  return upgraded;
}

describe('delivery to a slow socket', () => {
  it('closes it (1013) once more than the limit waits, counting the drop once and every frame written', async () => {
    const { socket, stream } = await stalledSocket();
    const metrics = createMetrics({ lagCacheMs: 1_000, onLagError: () => undefined });
    const sessions = new SessionRegistry();
    const session: Session = {
      id: 's1',
      socket,
      stream,
      userId: 'u1',
      login: null,
      rooms: null,
      joined: new Set(),
      cursors: new Map(),
      logEnd: [],
      held: null,
      bucket: { tokens: 0, updatedAt: 0 },
      strikes: 0,
    };
    sessions.add(session);
    // toUsers reaches sockets through the registry alone; room membership plays no part here.
    const limit = 256 * 1024;
    const delivery = createDelivery({
      sessions,
      membership: {} as Membership,
      maxBufferedBytes: limit,
      metrics: metrics.gateway,
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const frame = 'x'.repeat(60_000);
    let written = 0;
    // Bounded: loopback buffers hold a few MiB; 200 MB would mean the limit is not applied.
    for (let i = 0; i < 3_500 && socket.readyState === socket.OPEN; i++) {
      // Written unless this is the send that finds more than the limit waiting.
      if (socket.bufferedAmount <= limit) written++;
      delivery.toUsers(['u1'], frame);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(socket.readyState).not.toBe(socket.OPEN);
    // Later frames to the closing socket are dropped without counting again.
    delivery.toUsers(['u1'], frame);
    const exposition = parseExposition(await metrics.render());
    expect(valueOf(exposition, 'parley_ws_slow_socket_drops_total')).toBe(1);
    expect(valueOf(exposition, 'parley_ws_deliveries_total')).toBe(written);
    expect(written).toBeGreaterThan(4); // the limit was reached by frames that did go out
    stream.destroy();
    expect(await closed).toBe(1006); // the client never read the close frame; the server gave up on it
  });
});
