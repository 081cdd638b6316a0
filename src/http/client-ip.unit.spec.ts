// The key of every per-IP limit: the TCP peer, or — behind the one trusted
// proxy — the X-Forwarded-For entry that proxy appended, whatever the client
// put before it.

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIpOf } from './client-ip.ts';

const requestFrom = (peer: string, forwardedFor?: string | string[]) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

describe('clientIpOf', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIpOf(requestFrom('203.0.113.9', '198.51.100.1'), false)).toBe('203.0.113.9');
  });

  it('behind the trusted proxy, is the last entry: the one the proxy appended', () => {
    expect(clientIpOf(requestFrom('10.0.0.2', '198.51.100.1'), true)).toBe('198.51.100.1');
    // A client that sends its own header cannot choose the key: the proxy's entry comes last.
    expect(clientIpOf(requestFrom('10.0.0.2', '1.2.3.4, 5.6.7.8 , 198.51.100.1'), true)).toBe('198.51.100.1');
    expect(clientIpOf(requestFrom('10.0.0.2', ['1.2.3.4', '198.51.100.1']), true)).toBe('198.51.100.1');
  });

  it('behind the trusted proxy without the header (a health check from the proxy itself), is the peer', () => {
    expect(clientIpOf(requestFrom('10.0.0.2'), true)).toBe('10.0.0.2');
    expect(clientIpOf(requestFrom('10.0.0.2', ' , '), true)).toBe('10.0.0.2');
  });
});
