// One push request on the wire, and what its answer means (RFC 8030 §5, and
// the push services' documented codes). web-push builds the request (payload
// encryption, VAPID signature); this module sends it, because web-push only
// speaks https and cannot refuse private addresses: here every connection's
// addresses are checked after DNS (infra/outbound-http.ts), unless allow-listed.

import { postOutbound } from '../infra/outbound-http.ts';

export interface PushRequest {
  endpoint: string;
  headers: Record<string, string>;
  body: Buffer;
}

export type PushOutcome =
  /** Accepted by the push service (201). */
  | { kind: 'delivered' }
  /** The subscription no longer exists (404, 410): forget it. */
  | { kind: 'gone'; status: number }
  /** Try again later: throttled (429), the service's trouble (5xx), or no answer. */
  | { kind: 'retry'; status: number | null; retryAfterMs: number | null; error: string | null }
  /** The service refused this request (400, 401, 403, 413…): retrying would not help. */
  | { kind: 'refused'; status: number; body: string };

/** What of a refusal's body is kept for the log. */
const MAX_BODY_LOGGED = 512;

/** The Retry-After header (seconds or an HTTP date) in ms, if it says something usable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | null {
  if (header === undefined) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

export function outcomeOf(status: number, body: string, retryAfter: string | undefined): PushOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 404 || status === 410) return { kind: 'gone', status };
  if (status === 429 || status >= 500) return { kind: 'retry', status, retryAfterMs: retryAfterMs(retryAfter), error: null };
  return { kind: 'refused', status, body: body.slice(0, MAX_BODY_LOGGED) };
}

/** POSTs one push; never throws (a failure to connect or a timeout is `retry`). */
export async function sendPush(
  request: PushRequest,
  options: { timeoutMs: number; allowPrivate: boolean },
): Promise<PushOutcome> {
  const result = await postOutbound(new URL(request.endpoint), request, { ...options, maxBodyBytes: MAX_BODY_LOGGED });
  if (!result.answered) return { kind: 'retry', status: null, retryAfterMs: null, error: result.error };
  const retryAfter = result.headers['retry-after'];
  return outcomeOf(result.status, result.body, typeof retryAfter === 'string' ? retryAfter : undefined);
}
