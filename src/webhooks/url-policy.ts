// Which URLs a webhook may POST to. An admin chooses them, but an admin's
// account can be stolen, and a webhook is a server-side request: nothing may
// reach a loopback, private or reserved address unless the deployment says so
// (PARLEY_WEBHOOK_ALLOW_PRIVATE). Checked here on the URL itself (an IP
// literal, `localhost`, credentials), and again at each delivery on the
// addresses its host resolves to (infra/outbound-http.ts).

import { isIP } from 'node:net';
import { isAllowListed, isPublicAddress } from '../infra/outbound-http.ts';

export type WebhookUrlVerdict = { ok: true; allowListed: boolean } | { ok: false; reason: string };

export function checkWebhookUrl(raw: string, allowPrivate: readonly string[], maxLength: number): WebhookUrlVerdict {
  if (raw.length > maxLength) return { ok: false, reason: `longer than ${maxLength} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'not an http(s) URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'credentials in the URL' };
  if (isAllowListed(url, allowPrivate)) return { ok: true, allowListed: true };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) return { ok: false, reason: 'a private or reserved address' };
  if (host === 'localhost' || host.endsWith('.localhost')) return { ok: false, reason: 'a private or reserved address' };
  return { ok: true, allowListed: false };
}
