// How long a client may hold the HTTP server's attention, and how many
// connections one address may open: the bounds that keep a trickled body, a
// slow header or a pile of idle connections from tying the server up.

import type http from 'node:http';
import type { Config } from '../config.ts';
import { isTrustedProxy } from '../trusted-proxies.ts';

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
 * Cuts a connection at once when its address already holds the maximum.
 * Connections from the trusted proxies are not counted: they carry many
 * clients, and the proxy limits its own (deploy/nginx.conf). Trusted by hop
 * count, no peer can be told from a proxy, so nothing is counted.
 */
export function limitConnectionsPerIp(server: http.Server, config: ServerLimits): void {
  const trusted = config.PARLEY_TRUST_PROXY;
  if (trusted.kind === 'hops') return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (isTrustedProxy(address, trusted)) return;
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
