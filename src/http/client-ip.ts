// The client's IP, the key of every per-IP limit. Which X-Forwarded-For entries
// count is PARLEY_TRUST_PROXY's choice:
//
//   false           the TCP peer; the header is ignored (nothing in front of Parley)
//   true, or N      N proxies in a chain (true = 1): the entry the outermost one
//                   appended, N from the right. Entries further left are whatever
//                   the client sent, so a forged header cannot pick the key.
//   addresses       a list of proxy addresses and networks (10.0.0.0/8, ::1,
//                   `loopback`, `private`): the header counts only when the TCP
//                   peer is one of them, and the client is the first entry, from
//                   the right, that is not. A client reaching Parley past the
//                   proxies is keyed on its own address, whatever it sends.
//
// Both readings walk the same chain, nearest first: the peer, then the header's
// entries from right to left (as Express's `trust proxy` does).

import type { IncomingMessage } from 'node:http';
import { isTrustedProxy, unmapped, type TrustedProxies } from '../trusted-proxies.ts';

export function clientIpOf(request: IncomingMessage, trusted: TrustedProxies): string {
  const peer = unmapped(request.socket.remoteAddress ?? 'unknown');
  if (trusted.kind === 'none') return peer;
  const header = request.headers['x-forwarded-for'];
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  const forwarded = value
    .split(',')
    .map((entry) => unmapped(entry.trim()))
    .filter(Boolean);
  // Nearest first: the peer, then the header from its right end.
  const chain = [peer, ...forwarded.reverse()];
  if (trusted.kind === 'hops') return chain[Math.min(trusted.hops, chain.length - 1)]!;
  let hop = 0;
  while (hop < chain.length - 1 && isTrustedProxy(chain[hop], trusted)) hop++;
  return chain[hop]!;
}
