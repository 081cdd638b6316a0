// How a receiver knows a request came from this server: outgoing webhooks and
// the pre-send hook sign their body as `X-Parley-Signature: t=<unix seconds>,
// v1=<hex HMAC-SHA256 of "<t>.<body>">` under a secret the receiver shares
// (Stripe's scheme: the timestamp inside the MAC lets a receiver refuse a
// replayed request by its age). One verifier serves both.

import crypto from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Parley-Signature';

/** `t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: what a receiver recomputes to trust the call. */
export function signature(secret: string, body: string, at = Date.now()): string {
  const t = Math.floor(at / 1000);
  const v1 = crypto.createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${v1}`;
}
