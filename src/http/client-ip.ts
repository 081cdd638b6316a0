// The client's IP, the key of every per-IP limit. Directly connected, it is the
// TCP peer. Behind the one reverse proxy Parley trusts (PARLEY_TRUST_PROXY), it
// is the last X-Forwarded-For entry: the one that proxy appended. Entries
// before it are whatever the client sent, so a forged header cannot pick the
// key a limit counts (Koa is set the same way: `maxIpsCount = 1`, http/app.ts).

import type { IncomingMessage } from 'node:http';

export function clientIpOf(request: IncomingMessage, trustProxy: boolean): string {
  const peer = request.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return peer;
  const header = request.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : header;
  const last = value
    ?.split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .at(-1);
  return last ?? peer;
}
