// The key of every per-IP limit: the TCP peer, or — behind trusted proxies —
// the X-Forwarded-For entry that names the client, whatever the client put
// before it (PARLEY_TRUST_PROXY: false, a hop count, or the proxies' addresses).

import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isTrustedProxy, parseTrustedProxies } from '../trusted-proxies.ts';
import { clientIpOf } from './client-ip.ts';

const requestFrom = (peer: string, forwardedFor?: string | string[]) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  }) as unknown as IncomingMessage;

const trust = parseTrustedProxies;

describe('clientIpOf', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIpOf(requestFrom('203.0.113.9', '198.51.100.1'), trust('false'))).toBe('203.0.113.9');
    expect(clientIpOf(requestFrom('::ffff:203.0.113.9', '198.51.100.1'), trust(''))).toBe('203.0.113.9');
  });

  it('behind one trusted proxy (true = 1 hop), is the last entry: the one the proxy appended', () => {
    expect(clientIpOf(requestFrom('10.0.0.2', '198.51.100.1'), trust('true'))).toBe('198.51.100.1');
    // A client that sends its own header cannot choose the key: the proxy's entry comes last.
    expect(clientIpOf(requestFrom('10.0.0.2', '1.2.3.4, 5.6.7.8 , 198.51.100.1'), trust('true'))).toBe('198.51.100.1');
    expect(clientIpOf(requestFrom('10.0.0.2', ['1.2.3.4', '198.51.100.1']), trust('1'))).toBe('198.51.100.1');
  });

  it('behind two proxies in a chain (2 hops), is the entry the outer one appended', () => {
    // client → CDN (appends the client) → nginx (appends the CDN) → Parley
    expect(clientIpOf(requestFrom('10.0.0.2', '6.6.6.6, 198.51.100.1, 192.0.2.50'), trust('2'))).toBe('198.51.100.1');
  });

  it('behind a trusted proxy without the header (a health check from the proxy itself), is the peer', () => {
    expect(clientIpOf(requestFrom('10.0.0.2'), trust('true'))).toBe('10.0.0.2');
    expect(clientIpOf(requestFrom('10.0.0.2', ' , '), trust('true'))).toBe('10.0.0.2');
  });

  describe('trusting proxy addresses', () => {
    const proxies = trust('10.0.0.0/8, 192.0.2.50');

    it('believes the header only from a trusted peer', () => {
      expect(clientIpOf(requestFrom('10.1.2.3', '1.1.1.1, 198.51.100.1'), proxies)).toBe('198.51.100.1');
      // Straight to Parley, past the proxies: the forged header is ignored.
      expect(clientIpOf(requestFrom('203.0.113.9', '198.51.100.1'), proxies)).toBe('203.0.113.9');
    });

    it('skips every trusted hop from the right, and stops at the first it does not trust', () => {
      expect(clientIpOf(requestFrom('10.1.2.3', '6.6.6.6, 198.51.100.1, 192.0.2.50'), proxies)).toBe('198.51.100.1');
      // A client cannot pass for a proxy by writing one's address left of its own.
      expect(clientIpOf(requestFrom('10.1.2.3', '10.9.9.9, 198.51.100.1'), proxies)).toBe('198.51.100.1');
    });

    it('is the leftmost entry when every hop is trusted (a call between internal services)', () => {
      expect(clientIpOf(requestFrom('10.1.2.3', '10.0.0.7'), proxies)).toBe('10.0.0.7');
    });

    it('reads IPv4-mapped IPv6 peers as IPv4', () => {
      expect(clientIpOf(requestFrom('::ffff:10.1.2.3', '198.51.100.1'), proxies)).toBe('198.51.100.1');
    });
  });
});

describe('parseTrustedProxies', () => {
  it('reads false, a hop count, and address lists with named networks', () => {
    expect(trust('false')).toEqual({ kind: 'none' });
    expect(trust('0')).toEqual({ kind: 'none' });
    expect(trust('true')).toEqual({ kind: 'hops', hops: 1 });
    expect(trust('3')).toEqual({ kind: 'hops', hops: 3 });
    const named = trust('loopback, private');
    expect(isTrustedProxy('127.0.0.1', named)).toBe(true);
    expect(isTrustedProxy('::1', named)).toBe(true);
    expect(isTrustedProxy('172.20.1.1', named)).toBe(true);
    expect(isTrustedProxy('fd00::5', named)).toBe(true);
    expect(isTrustedProxy('8.8.8.8', named)).toBe(false);
    expect(isTrustedProxy('not-an-ip', named)).toBe(false);
  });

  it('refuses an entry that is no address or network, naming it', () => {
    expect(() => trust('10.0.0.0/8, nginx')).toThrow(/'nginx'/);
    expect(() => trust('10.0.0.0/33')).toThrow(/'10.0.0.0\/33'/);
    expect(() => trust('yes')).toThrow(/'yes'/);
  });
});
