// The Koa application every REST route plugs into. The middleware stack, outermost
// first, and why in this order:
//   request id  → every later line of log and the response carry it
//   access log  → sees the final status, including errors turned into responses
//   metrics     → the request histogram, by route template (metrics-endpoint.ts)
//   errors      → the one place thrown errors become `{"error":{…}}` + status
//   headers     → security headers and JSON serialisation (a body that can't be
//                 serialised fails inside the error middleware, not after it)
//   CORS        → answers preflights and marks what other origins may read,
//                 before any route (errors carry its headers too)
//   probes      → /healthz and /readyz (and /metrics), before any body is read
//   raw-body routers → the few routes that read the body themselves (a direct
//                 file upload is bytes, not JSON); they parse JSON per route if at all
//   JSON body   → size, media type and I-JSON checks before any other route runs
//   routers     → the route modules, in the order given
//   fallback    → 405 with `Allow` for a known path, else 404, both as JSON

import { randomUUID } from 'node:crypto';
import Koa, { type Middleware, type ParameterizedContext } from 'koa';
import { Router } from '@koa/router';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AppState } from './auth-middleware.ts';
import { jsonBody } from './body.ts';
import type { TrustedProxies } from '../trusted-proxies.ts';
import { clientIpOf } from './client-ip.ts';
import { corsMiddleware } from './cors.ts';
import { errorBody, methodNotAllowed, notFound, toApiError } from './errors.ts';
import type { HttpMetrics } from '../infra/metrics.ts';
import { httpMetricsMiddleware, METRICS_PATH, metricsRouter, type MetricsEndpoint } from './metrics-endpoint.ts';

export interface HttpAppOptions {
  config: Pick<Config, 'PARLEY_MAX_BODY_BYTES'> & Partial<Pick<Config, 'PARLEY_TRUST_PROXY' | 'PARLEY_CORS_ORIGINS'>>;
  logger: Logger;
  /** Route modules' routers, mounted in this order. A router's state type may extend AppState. */
  // Router is invariant in its state type, so a Router<AuthedState> would not fit Router<AppState>.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  routers: readonly Router<any, any>[];
  /**
   * Routers mounted before the JSON body parser, for routes whose body is not JSON
   * (direct uploads). Each route reads and limits its own body, or applies
   * `jsonBody` itself; a request they don't answer goes on to the parser as usual.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  rawBodyRouters?: readonly Router<any, any>[];
  /** One boolean per dependency (log, store, cache…); all true → ready. */
  readiness: () => Promise<Record<string, boolean>>;
  /** The request histogram, and GET /metrics when `endpoint` is given (PARLEY_METRICS=on). */
  metrics?: { http: HttpMetrics; endpoint?: MetricsEndpoint | undefined };
  /**
   * More for /readyz's body (poison events parked, …). `degraded` keeps the
   * answer 200 — the instance serves — with status `degraded`, so an operator
   * sees it and a load balancer does not pull the instance out.
   */
  readinessDetails?: () => Promise<{ degraded: boolean; details: Record<string, unknown> }>;
}

export type HttpApp = Koa<AppState>;

/** Paths that answer probes and scrapes; logged at debug so they don't drown the access log. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', METRICS_PATH]);

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { config, logger, routers, readiness, readinessDetails, rawBodyRouters = [], metrics } = options;
  // Behind proxies, ctx.ip is the X-Forwarded-For entry PARLEY_TRUST_PROXY
  // says names the client (http/client-ip.ts), never one the client forged.
  const trusted = config.PARLEY_TRUST_PROXY ?? { kind: 'none' };
  const app = new Koa<AppState>({ proxy: trusted.kind !== 'none' });
  // Errors are all handled by errorMiddleware; what still reaches Koa (a socket
  // failing mid-response) is logged here instead of Koa's stderr default.
  app.silent = true;
  app.on('error', (err: unknown) => logger.warn({ err }, 'http error outside the middleware stack'));

  const probes = probeRouter(readiness, readinessDetails);
  const scrape = metrics?.endpoint === undefined ? [] : [metricsRouter(metrics.endpoint)];
  app.use(clientIpMiddleware(trusted));
  app.use(requestIdMiddleware(logger));
  app.use(accessLogMiddleware());
  if (metrics !== undefined) app.use(httpMetricsMiddleware(metrics.http));
  app.use(errorMiddleware());
  app.use(responseHeadersMiddleware());
  app.use(corsMiddleware(config.PARLEY_CORS_ORIGINS ?? []));
  app.use(probes.routes());
  for (const router of scrape) app.use(router.routes());
  for (const router of rawBodyRouters) app.use(router.routes());
  app.use(jsonBody({ maxBytes: config.PARLEY_MAX_BODY_BYTES }));
  for (const router of routers) app.use(router.routes());
  app.use(fallbackMiddleware([probes, ...scrape, ...rawBodyRouters, ...routers]));
  return app;
}

type Ctx = ParameterizedContext<AppState>;

/** Sets ctx.ip, which every per-IP limit keys on, before anything reads it. */
function clientIpMiddleware(trusted: TrustedProxies): Middleware<AppState> {
  return async (ctx, next) => {
    ctx.request.ip = clientIpOf(ctx.req, trusted);
    await next();
  };
}

/** A client-supplied id is kept only if it is short and plain, so it is safe in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdMiddleware(logger: Logger): Middleware<AppState> {
  return async (ctx, next) => {
    const given = ctx.get('X-Request-Id');
    const requestId = SANE_REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ req_id: requestId });
    ctx.set('X-Request-Id', requestId);
    await next();
  };
}

/** One line per request. The path is logged without its query string: tokens may travel there. */
export function accessLogMiddleware(): Middleware<AppState> {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const line = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        ...(ctx.state.userId === undefined ? {} : { user_id: ctx.state.userId }),
      };
      const log = ctx.state.log;
      if (ctx.status >= 500) log.error(line, 'request');
      else if (PROBE_PATHS.has(ctx.path)) log.debug(line, 'request');
      else log.info(line, 'request');
    }
  };
}

/** Turns whatever a later middleware throws into the API's error JSON; logs what the client must not see. */
export function errorMiddleware(): Middleware<AppState> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const error = toApiError(err);
      if (error.status >= 500) ctx.state.log.error({ err }, 'request failed');
      if (ctx.headerSent || !ctx.writable) return; // too late to answer; the log line is all we can do
      ctx.status = error.status;
      for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
      ctx.body = errorBody(error);
    }
  };
}

/**
 * Security headers on every response, `Cache-Control: no-store` on the API and
 * probes, and JSON bodies serialised here (with `application/json; charset=utf-8`)
 * so a body that can't be serialised is a 500 from the error middleware.
 */
export function responseHeadersMiddleware(): Middleware<AppState> {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (ctx.path.startsWith('/api/') || ctx.path === '/api' || PROBE_PATHS.has(ctx.path)) {
      ctx.set('Cache-Control', 'no-store');
    }
    await next();
    const body: unknown = ctx.body;
    if (isJsonValue(body)) {
      ctx.body = JSON.stringify(body);
      ctx.type = 'application/json; charset=utf-8';
    } else if (typeof body === 'string' && ctx.response.is('html')) {
      // Koa types a string starting with '<' as HTML; the API never serves HTML.
      ctx.type = 'text/plain; charset=utf-8';
    }
  };
}

function isJsonValue(body: unknown): body is object {
  if (body === null || typeof body !== 'object') return false;
  if (Buffer.isBuffer(body) || ArrayBuffer.isView(body) || body instanceof ArrayBuffer) return false;
  if (typeof (body as { pipe?: unknown }).pipe === 'function') return false; // a stream
  if (body instanceof Blob || body instanceof ReadableStream || body instanceof Response) return false;
  return true;
}

function probeRouter(
  readiness: HttpAppOptions['readiness'],
  readinessDetails: HttpAppOptions['readinessDetails'],
): Router<AppState> {
  const router = new Router<AppState>();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    let checks: Record<string, boolean>;
    try {
      checks = await readiness();
    } catch (err) {
      ctx.state.log.warn({ err }, 'readiness check failed');
      checks = {};
    }
    const ready = Object.keys(checks).length > 0 && Object.values(checks).every((ok) => ok);
    let more: { degraded: boolean; details: Record<string, unknown> } = { degraded: false, details: {} };
    if (ready && readinessDetails !== undefined) {
      try {
        more = await readinessDetails();
      } catch (err) {
        ctx.state.log.warn({ err }, 'readiness details failed');
      }
    }
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? (more.degraded ? 'degraded' : 'ready') : 'not_ready', checks, ...more.details };
  });
  return router;
}

/** Nothing answered: 405 (or an OPTIONS answer) if some router knows the path, else 404. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function fallbackMiddleware(routers: readonly Router<any, any>[]): Middleware<AppState> {
  return async (ctx: Ctx, next) => {
    await next();
    if (ctx.body !== undefined || ctx.status !== 404) return;
    const allowed = new Set<string>();
    for (const router of routers) {
      for (const layer of router.match(ctx.path, ctx.method).path) {
        for (const method of layer.methods) allowed.add(method);
      }
    }
    // No route for the path, or a route that matched and answered nothing: 404 either way.
    if (allowed.size === 0 || allowed.has(ctx.method)) throw notFound('no such route');
    if (ctx.method === 'OPTIONS') {
      allowed.add('OPTIONS');
      ctx.set('Allow', [...allowed].join(', '));
      ctx.status = 204;
      return;
    }
    throw methodNotAllowed([...allowed]);
  };
}
