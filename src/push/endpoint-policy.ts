// Push endpoints are URLs chosen by clients, which the server then POSTs to:
// a server-side request forgery vector. Two gates:
// - at subscription, the URL itself: https on the default port to a host of a
//   known push service, or an entry of PARLEY_PUSH_ENDPOINT_ALLOW (tests,
//   private deployments) — never credentials in the URL, never an IP literal;
// - at each request, the addresses its host resolves to: only public ones
//   (a known host's DNS could still be made to answer 127.0.0.1), unless the
//   endpoint is allow-listed.

import { BlockList, isIP } from 'node:net';

/** Hosts of the push services browsers use (Chrome/Edge's FCM, Firefox's autopush, Windows' WNS, Safari's APNs). */
export const knownPushHosts: readonly string[] = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  '*.notify.windows.com',
  '*.push.apple.com',
];

/** The longest endpoint accepted (FCM's are ~200 characters). */
export const MAX_ENDPOINT_LENGTH = 2048;

export type EndpointVerdict = { ok: true; allowListed: boolean } | { ok: false; reason: string };

const hostMatches = (host: string, pattern: string): boolean =>
  pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;

/** An allow-list entry is a host (any port, http or https) or an origin. */
function allowListed(url: URL, allow: readonly string[]): boolean {
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return allow.some((entry) =>
    entry.includes('://') ? entry === url.origin.toLowerCase() : entry.replace(/^\[|\]$/g, '') === host,
  );
}

export function checkPushEndpoint(endpoint: string, allow: readonly string[]): EndpointVerdict {
  if (endpoint.length > MAX_ENDPOINT_LENGTH) return { ok: false, reason: `longer than ${MAX_ENDPOINT_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'not an http(s) URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials in the URL' };
  if (allowListed(url, allow)) return { ok: true, allowListed: true };
  if (url.protocol !== 'https:') return { ok: false, reason: 'not https' };
  if (url.port !== '') return { ok: false, reason: 'not the default https port' };
  const host = url.hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return { ok: false, reason: 'an IP address, not a push service' };
  if (!knownPushHosts.some((pattern) => hostMatches(host, pattern))) return { ok: false, reason: 'not a known push service' };
  return { ok: true, allowListed: false };
}

/** Addresses no push may reach unless allow-listed: private, loopback, link-local, reserved, multicast. */
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
