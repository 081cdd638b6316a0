// Requests this server makes to URLs others chose (Web Push endpoints, webhook
// receivers) are a server-side request forgery vector: a URL whose host
// resolves to 127.0.0.1 or a private network would let a client reach what
// only the server can. Every such connection checks the addresses its host
// resolves to, after DNS (so a hostname cannot smuggle a private address
// past a check of the URL), unless the deployment allow-listed the target.

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Whether a URL chosen by others may be requested: allow-listed (private addresses allowed), or why not. */
export type OutboundUrlVerdict = { ok: true; allowListed: boolean } | { ok: false; reason: string };

/**
 * The checks every outbound URL passes first: a length, an http(s) URL, no
 * credentials. Answers the parsed URL, or the verdict that refuses it.
 */
export function parseOutboundUrl(raw: string, maxLength: number): URL | OutboundUrlVerdict {
  if (raw.length > maxLength) return { ok: false, reason: `longer than ${maxLength} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'not an http(s) URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials in the URL' };
  return url;
}

/** An allow-list entry is a host (any port, http or https) or an origin. */
export function isAllowListed(url: URL, allow: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((entry) =>
    entry.includes('://') ? entry === url.origin.toLowerCase() : entry.replace(/^\[|\]$/g, '') === host,
  );
}

/** Addresses no outgoing request may reach unless allow-listed: private, loopback, link-local, reserved, multicast. */
const nonPublic = (() => {
  const list = new BlockList();
  for (const [network, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.0.2.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['198.51.100.0', 24],
    ['203.0.113.0', 24],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['64:ff9b::', 96],
    ['100::', 64],
    ['2001:db8::', 32],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
})();

/** Whether a resolved address is on the public internet (an IPv4-mapped IPv6 address is judged as its IPv4). */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return !nonPublic.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** dns.lookup that answers only public addresses; a host with none fails to connect. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) {
      callback(error, '', 0);
      return;
    }
    const usable = addresses.filter((entry) => isPublicAddress(entry.address));
    if (usable.length === 0) {
      const refused = Object.assign(new Error(`${hostname} resolves to no public address`), { code: 'EPRIVATEADDRESS' });
      callback(refused, '', 0);
      return;
    }
    if (options.all === true) callback(null, usable);
    else callback(null, usable[0]!.address, usable[0]!.family);
  });
};

/** What a POST got: the receiver's answer (its body cut to `maxBodyBytes`), or why there was none. */
export type PostResult =
  { answered: true; status: number; body: string; headers: http.IncomingHttpHeaders } | { answered: false; error: string };

/** POSTs `body` to `url`; never throws (no answer, a refused address or a timeout is `answered: false`). */
export function postOutbound(
  url: URL,
  request: { headers: Record<string, string>; body: Buffer },
  options: { timeoutMs: number; allowPrivate: boolean; maxBodyBytes: number; agent?: http.Agent | undefined },
): Promise<PostResult> {
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve) => {
    const outgoing = client.request(
      url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(request.body.length) },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.agent === undefined ? {} : { agent: options.agent }),
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < options.maxBodyBytes) chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8').slice(0, options.maxBodyBytes);
          resolve({ answered: true, status: response.statusCode ?? 0, body, headers: response.headers });
        });
        response.on('error', (error) => resolve({ answered: false, error: error.message }));
      },
    );
    outgoing.on('error', (error) => resolve({ answered: false, error: error.message }));
    outgoing.end(request.body);
  });
}
