// The server's side of liveness: every socket is pinged at an interval, and one
// that has not answered for `maxMissed` pings in a row is dropped. A client
// whose network vanished (a phone in a tunnel) sends no close; without this its
// socket — and its "online" presence — would linger until TCP gave up or its
// token expired. Dropping it runs the usual close path, so presence follows.
// One timer serves every socket; a socket costs a map entry.

import type { WebSocket } from 'ws';

export interface Heartbeat {
  /** Starts watching a socket; it is forgotten when it closes. */
  watch(socket: WebSocket): void;
  stop(): void;
}

export function startHeartbeat(options: { intervalMs: number; maxMissed: number }): Heartbeat {
  /** socket → pings sent since its last pong. */
  const missed = new Map<WebSocket, number>();
  const timer = setInterval(() => {
    for (const [socket, count] of missed) {
      if (count >= options.maxMissed) {
        missed.delete(socket);
        socket.terminate(); // no close handshake: the peer is not there to answer it
        continue;
      }
      missed.set(socket, count + 1);
      socket.ping();
    }
  }, options.intervalMs);
  timer.unref();
  return {
    watch(socket) {
      missed.set(socket, 0);
      socket.on('pong', () => {
        if (missed.has(socket)) missed.set(socket, 0);
      });
      socket.once('close', () => missed.delete(socket));
    },
    stop: () => clearInterval(timer),
  };
}
