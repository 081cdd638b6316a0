// One push request on the wire, and what its answer means (RFC 8030 §5, and
// the push services' documented codes). web-push builds the request (payload
// encryption, VAPID signature); this module sends it, because web-push only
// speaks https and cannot refuse private addresses: here every connection's
// addresses are checked after DNS (endpoint-policy.ts), unless allow-listed.

import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPublicAddress } from './endpoint-policy.ts';

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

/** dns.lookup that answers only public addresses; a host with none fails to connect. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) {
      callback(error, '', 0);
      return;
    }
    const usable = addresses.filter((entry) => isPublicAddress(entry.address));
    if (usable.length === 0) {
      const refused = Object.assign(new Error(`${hostname} resolves to no public address`), { code: 'EPUSHPRIVATE' });
      callback(refused, '', 0);
      return;
    }
    if (options.all === true) callback(null, usable);
    else callback(null, usable[0]!.address, usable[0]!.family);
  });
};

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
export function sendPush(request: PushRequest, options: { timeoutMs: number; allowPrivate: boolean }): Promise<PushOutcome> {
  const url = new URL(request.endpoint);
  const client = url.protocol === 'http:' ? http : https;
  return new Promise((resolve) => {
    const outgoing = client.request(
      url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(request.body.length) },
        signal: AbortSignal.timeout(options.timeoutMs),
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on('data', (chunk: Buffer) => {
          if (kept < MAX_BODY_LOGGED) chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve(outcomeOf(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), retryAfter));
        });
        response.on('error', (error) =>
          resolve({ kind: 'retry', status: response.statusCode ?? null, retryAfterMs: null, error: error.message }),
        );
      },
    );
    outgoing.on('error', (error) => resolve({ kind: 'retry', status: null, retryAfterMs: null, error: error.message }));
    outgoing.end(request.body);
  });
}
