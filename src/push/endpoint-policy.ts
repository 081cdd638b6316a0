// Push endpoints are URLs chosen by clients, which the server then POSTs to:
// a server-side request forgery vector. Two gates:
// - at subscription, the URL itself: https on the default port to a host of a
//   known push service, or an entry of PARLEY_PUSH_ENDPOINT_ALLOW (tests,
//   private deployments) — never credentials in the URL, never an IP literal;
// - at each request, the addresses its host resolves to: only public ones
//   (a known host's DNS could still be made to answer 127.0.0.1), unless the
//   endpoint is allow-listed.

import { isIP } from 'node:net';
import { isAllowListed, parseOutboundUrl, type OutboundUrlVerdict } from '../infra/outbound-http.ts';

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

export type EndpointVerdict = OutboundUrlVerdict;

const hostMatches = (host: string, pattern: string): boolean =>
  pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;

export function checkPushEndpoint(endpoint: string, allow: readonly string[]): EndpointVerdict {
  const url = parseOutboundUrl(endpoint, MAX_ENDPOINT_LENGTH);
  if (!(url instanceof URL)) return url;
  if (isAllowListed(url, allow)) return { ok: true, allowListed: true };
  if (url.protocol !== 'https:') return { ok: false, reason: 'not https' };
  if (url.port !== '') return { ok: false, reason: 'not the default https port' };
  const host = url.hostname.toLowerCase();
  if (isIP(host.replace(/^\[|\]$/g, '')) !== 0) return { ok: false, reason: 'an IP address, not a push service' };
  if (!knownPushHosts.some((pattern) => hostMatches(host, pattern))) return { ok: false, reason: 'not a known push service' };
  return { ok: true, allowListed: false };
}
