// How long a client may hold the HTTP server's attention, and how many
// connections one address may open: the bounds that keep a trickled body, a
// slow header or a pile of idle connections from tying the server up.

import type http from 'node:http';
import type { Config } from '../config.ts';

type ServerLimits = Pick<
  Config,
  | 'PARLEY_HTTP_HEADERS_TIMEOUT_MS'
  | 'PARLEY_HTTP_REQUEST_TIMEOUT_MS'
  | 'PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS'
  | 'PARLEY_MAX_CONNECTIONS_PER_IP'
  | 'PARLEY_TRUST_PROXY'
>;

/**
 * Options for `http.createServer`. Node checks the header and request timeouts
 * only every `connectionsCheckingInterval` (30 s by default), which would let a
 * request outlive a short timeout by that much: it is checked at a tenth of the
 * shortest timeout instead. An upgraded socket (WebSocket) leaves the HTTP
 * server's hands and none of these apply to it.
 */
export function serverOptions(config: ServerLimits): http.ServerOptions {
  const shortest = Math.min(config.PARLEY_HTTP_HEADERS_TIMEOUT_MS, config.PARLEY_HTTP_REQUEST_TIMEOUT_MS);
  return {
    headersTimeout: config.PARLEY_HTTP_HEADERS_TIMEOUT_MS,
    requestTimeout: config.PARLEY_HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(shortest / 10))),
  };
}

/**
 * Cuts a connection at once when its address already holds the maximum. Behind
 * a proxy every connection comes from the proxy, so nothing is counted there:
 * the proxy limits its own clients (deploy/nginx.conf).
 */
export function limitConnectionsPerIp(server: http.Server, config: ServerLimits): void {
  if (config.PARLEY_TRUST_PROXY) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > config.PARLEY_MAX_CONNECTIONS_PER_IP) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
