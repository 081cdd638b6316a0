// A local receiver for Parley's outgoing webhooks, started in-process by the
// webhook end-to-end suite: an HTTP server on 127.0.0.1 that takes deliveries
// on `/hooks/<name>`, checks each one's X-Parley-Signature as an integrator's
// endpoint would, and answers as a test scripts it (fail the first n, fail
// forever), so the suite sees exactly what a real receiver would see.

import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request to a hook, as it came off the wire. */
export interface WebhookAttempt {
  headers: http.IncomingHttpHeaders;
  raw: string;
  /** What the receiver answered. */
  status: number;
  at: number;
}

/** A delivery the receiver accepted (answered 2xx). */
export interface WebhookDelivery<B = Record<string, unknown>> {
  headers: http.IncomingHttpHeaders;
  body: B;
  raw: string;
  /** The signature checked out under the secret given to `verify` (false when none was). */
  signatureValid: boolean;
  at: number;
}

export interface WebhookReceiver {
  /** Where deliveries for `name` go: `http://127.0.0.1:<port>/hooks/<name>`. */
  url(name: string): string;
  /** The deliveries `name` accepted, in arrival order. */
  received<B = Record<string, unknown>>(name: string): WebhookDelivery<B>[];
  /** Every request `name` got, whatever it was answered (retries and failures included). */
  attempts(name: string): WebhookAttempt[];
  /** How `name` answers its n-th request (1-based, counting every request); 200 when unscripted. */
  respondWith(name: string, status: (n: number) => number): void;
  /** Check `name`'s deliveries against this secret (the one POST /webhooks returned). */
  verify(name: string, secret: string): void;
  close(): Promise<void>;
}

/**
 * `X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * The timestamp is signed too and must be recent, as receivers are told to
 * check, so that a captured delivery cannot be replayed later.
 */
export function signatureValid(header: string | undefined, raw: string, secret: string, toleranceSeconds = 300): boolean {
  const fields = new Map((header ?? '').split(',').map((part) => part.trim().split('=', 2) as [string, string]));
  const t = fields.get('t');
  const v1 = fields.get('v1');
  if (t === undefined || v1 === undefined || !/^\d+$/.test(t) || !/^[0-9a-f]{64}$/.test(v1)) return false;
  if (Math.abs(Date.now() / 1000 - Number(t)) > toleranceSeconds) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${t}.${raw}`).digest();
  // Constant-time, as a receiver must compare, so the check does not leak how much of a guess was right.
  return crypto.timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}

interface Hook {
  attempts: WebhookAttempt[];
  received: WebhookDelivery<unknown>[];
  script: (n: number) => number;
  secret: string | undefined;
}

const PREFIX = '/hooks/';

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hooks = new Map<string, Hook>();
  const hook = (name: string): Hook => {
    let found = hooks.get(name);
    if (found === undefined) {
      found = { attempts: [], received: [], script: () => 200, secret: undefined };
      hooks.set(name, found);
    }
    return found;
  };

  function handle(request: http.IncomingMessage, raw: string): number {
    const path = request.url ?? '';
    if (request.method !== 'POST' || !path.startsWith(PREFIX)) return 404;
    const target = hook(decodeURIComponent(path.slice(PREFIX.length)));
    const at = Date.now();
    let status = target.script(target.attempts.length + 1);
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      // A body that is not JSON is the sender's bug: refused, so it never counts as received.
      status = 400;
    }
    target.attempts.push({ headers: request.headers, raw, status, at });
    if (status >= 200 && status < 300) {
      const header = request.headers['x-parley-signature'];
      const valid =
        target.secret !== undefined && signatureValid(typeof header === 'string' ? header : undefined, raw, target.secret);
      target.received.push({ headers: request.headers, body, raw, signatureValid: valid, at });
    }
    return status;
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // The raw text, byte for byte: the signature is over it, not over a re-serialisation.
      const status = handle(request, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(status, { 'content-type': 'text/plain' }).end(String(status));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: (name) => `${base}${PREFIX}${encodeURIComponent(name)}`,
    received: <B>(name: string) => [...hook(name).received] as WebhookDelivery<B>[],
    attempts: (name) => [...hook(name).attempts],
    respondWith(name, status) {
      hook(name).script = status;
    },
    verify(name, secret) {
      hook(name).secret = secret;
    },
    close: () =>
      new Promise<void>((resolve) => {
        // The sender keeps connections alive between deliveries: drop them, or close waits for their idle timeout.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
