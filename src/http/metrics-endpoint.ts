// The HTTP side of the metrics: the request histogram's middleware, and
// GET /metrics in Prometheus' text format. The histogram is labelled by the
// matched route's template, never the raw path (ids would make a series per
// room and user); a request no route matched counts as `unmatched`.
//
// /metrics says how busy the service is and which routes are used, no personal
// data; still, it is for the operator's scraper: PARLEY_METRICS=off removes it,
// and PARLEY_METRICS_TOKEN makes it answer only `Authorization: Bearer <token>`.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware, ParameterizedContext } from 'koa';
import { Router } from '@koa/router';
import type { HttpMetrics } from '../infra/metrics.ts';
import type { AppState } from './auth-middleware.ts';
import { unauthorized } from './errors.ts';

export const METRICS_PATH = '/metrics';

export interface MetricsEndpoint {
  render(): Promise<string>;
  contentType: string;
  /** When set, a scrape must carry `Authorization: Bearer <token>`. */
  token?: string | undefined;
}

/** The route a request was answered by, as its template; `unmatched` when none was. */
export function routeTemplateOf(ctx: ParameterizedContext<AppState>): string {
  // @koa/router leaves the layers whose path matched on ctx.matched, every
  // router's in turn. The route (a layer with methods, not a `use`) for this
  // method is the one that answered; another method's is a 405's path.
  const matched = (ctx as { matched?: readonly { path: string | RegExp; methods: string[] }[] }).matched ?? [];
  const routes = matched.filter((layer) => layer.methods.length > 0);
  const route = routes.findLast((layer) => layer.methods.includes(ctx.method)) ?? routes.at(-1);
  return route === undefined ? 'unmatched' : String(route.path);
}

/** Observes every request's duration, whatever answered it (errors included). */
export function httpMetricsMiddleware(metrics: HttpMetrics): Middleware<AppState> {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.requestFinished(
        { method: ctx.method, route: routeTemplateOf(ctx), status: ctx.status },
        (performance.now() - started) / 1000,
      );
    }
  };
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function metricsRouter(endpoint: MetricsEndpoint): Router<AppState> {
  const router = new Router<AppState>();
  const expected = endpoint.token === undefined ? undefined : digest(`Bearer ${endpoint.token}`);
  router.get(METRICS_PATH, async (ctx) => {
    // Compared as digests, in constant time: the answer does not tell how much of a guess was right.
    if (expected !== undefined && !timingSafeEqual(digest(ctx.get('Authorization')), expected)) {
      throw unauthorized('the metrics need Authorization: Bearer <PARLEY_METRICS_TOKEN>');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = endpoint.contentType;
    ctx.body = await endpoint.render();
  });
  return router;
}
