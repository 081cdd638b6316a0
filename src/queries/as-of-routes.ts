// The room as it was (API.md "The room as it was"): GET /api/v1/rooms/:id/as-of.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { uuid } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { pageLimitSchema, parseQuery, seqQuerySchema } from '../http/validate.ts';
import { readRoomAsOf, type RoomAsOfDeps } from './room-as-of.ts';

/** A moment: epoch milliseconds, or an ISO 8601 date-time (`2026-12-01T09:30:00Z`). */
const momentSchema = z.string({ error: 'epoch milliseconds or an ISO 8601 date-time, given once' }).transform((text, ctx) => {
  const at = /^\d{1,15}$/.test(text) ? Number(text) : /^\d{4}-\d\d-\d\dT/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at)) {
    ctx.addIssue({ code: 'custom', message: 'epoch milliseconds or an ISO 8601 date-time' });
    return z.NEVER;
  }
  return at;
});

/** The route's query schema; exported so the OpenAPI document uses the same one. */
export function asOfQuerySchema(config: Pick<Config, 'PARLEY_PAGE_DEFAULT' | 'PARLEY_PAGE_MAX'>) {
  return z.strictObject({ t: momentSchema, limit: pageLimitSchema(config), before_seq: seqQuerySchema.optional() });
}

export function asOfRoutes(options: { config: Config; deps: RoomAsOfDeps; requireUser: Middleware }): Router<AppState> {
  const query = asOfQuerySchema(options.config);
  const router = new Router<AppState>();
  router.get('/api/v1/rooms/:id/as-of', options.requireUser, async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    ctx.body = await readRoomAsOf(options.deps, userIdOf(ctx), roomId, parseQuery(ctx, query));
  });
  return router;
}
