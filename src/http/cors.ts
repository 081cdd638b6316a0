// Which web pages may read Parley's answers (CORS). Parley's credentials are
// bearer tokens a page must attach itself — no cookies — so a foreign page
// cannot act as a user; CORS decides only whether a page on another origin may
// call the API at all. Unset, nothing is allowed cross-origin: no CORS headers
// are sent, and browsers keep other sites' scripts from reading the answers.

import type { Middleware } from 'koa';
import { ApiError } from './errors.ts';

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, x-request-id';
/** Headers a page may read from an answer (besides the CORS-safelisted ones). */
const EXPOSED_HEADERS = 'retry-after, x-request-id, location';
/** How long a browser may cache a preflight's answer. */
const PREFLIGHT_MAX_AGE_S = 600;

/** True when `origin` may use the API from a browser: it is on the allow-list. */
export const originAllowed = (allowed: readonly string[], origin: string): boolean => allowed.includes(origin);

export function corsMiddleware(allowedOrigins: readonly string[]): Middleware {
  return async (ctx, next) => {
    const origin = ctx.get('Origin');
    // The answer depends on the Origin: caches must not give one origin's to another.
    ctx.vary('Origin');
    const preflight = ctx.method === 'OPTIONS' && ctx.get('Access-Control-Request-Method') !== '';
    if (origin === '' || !originAllowed(allowedOrigins, origin)) {
      if (preflight && origin !== '') throw new ApiError(403, 'origin_not_allowed', 'this origin may not call the API');
      await next();
      return;
    }
    ctx.set('Access-Control-Allow-Origin', origin);
    if (preflight) {
      ctx.set('Access-Control-Allow-Methods', ALLOWED_METHODS);
      ctx.set('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      ctx.set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S));
      ctx.status = 204;
      return;
    }
    ctx.set('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    await next();
  };
}
