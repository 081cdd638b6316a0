// Which URLs a webhook may POST to. An admin chooses them, but an admin's
// account can be stolen, and a webhook is a server-side request: nothing may
// reach a loopback, private or reserved address unless the deployment says so
// (PARLEY_WEBHOOK_ALLOW_PRIVATE). Checked here on the URL itself (an IP
// literal, `localhost`, credentials), and again at each delivery on the
// addresses its host resolves to (infra/outbound-http.ts).

import { isIP } from 'node:net';
import { isAllowListed, isPublicAddress, parseOutboundUrl, type OutboundUrlVerdict } from '../infra/outbound-http.ts';

export function checkWebhookUrl(raw: string, allowPrivate: readonly string[], maxLength: number): OutboundUrlVerdict {
  const url = parseOutboundUrl(raw, maxLength);
  if (!(url instanceof URL)) return url;
  if (isAllowListed(url, allowPrivate)) return { ok: true, allowListed: true };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) return { ok: false, reason: 'a private or reserved address' };
  if (host === 'localhost' || host.endsWith('.localhost')) return { ok: false, reason: 'a private or reserved address' };
  return { ok: true, allowListed: false };
}
