// The demo web client at `/` (web/demo/: plain HTML, JavaScript and CSS, no
// build step), for the first hour with Parley: register, rooms, live chat,
// typing, presence, receipts, an upload — through the public API only.
// PARLEY_DEMO=false leaves `/` empty for deployments that serve their own app.

import { fileURLToPath } from 'node:url';
import Router from '@koa/router';
import type { ParameterizedContext } from 'koa';
import type { AppState } from './auth-middleware.ts';
import { cachedFiles } from './cached-files.ts';
import { notFound } from './errors.ts';

/**
 * The page's scripts and styles come from this origin only; it talks to this
 * origin (REST, the socket) and to Cloudinary's upload API; images may come
 * from the storage's host (an upload's URL names the server's public origin,
 * which need not be the page's).
 */
export const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' http: https: data:",
  "connect-src 'self' https://api.cloudinary.com",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const demoDir = fileURLToPath(new URL('../../web/demo/', import.meta.url));

/** The files of the page, by the name it is served under, with their types. */
export const DEMO_ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

export function demoRoutes(): Router<AppState> {
  const router = new Router<AppState>();
  const file = cachedFiles(demoDir);
  const serve = async (ctx: ParameterizedContext<AppState>, name: string) => {
    const type = DEMO_ASSETS[name];
    if (type === undefined) throw notFound('no such file');
    ctx.set('Content-Security-Policy', DEMO_CSP);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = type;
    // A Buffer, not a string: app.ts turns string bodies that look like HTML into text/plain.
    ctx.body = await file(name);
  };
  router.get('/', (ctx) => serve(ctx, 'index.html'));
  router.get('/demo/:asset', (ctx) => serve(ctx, String(ctx.params.asset)));
  return router;
}
