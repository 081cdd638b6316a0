// GET /api/v1/sync?since=<token>&timeout_ms=&limit=: one cursor over every
// change a user may see (sync-feed.ts), long-polled. Without `since` it
// answers at once with a token for "now" and no events: a new device takes
// it first, loads its state over REST, then syncs from it (a change in
// between arrives twice at worst, never not at all).

import Router from '@koa/router';
import type { Kysely } from 'kysely';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { AppState, AuthedState } from '../http/auth-middleware.ts';
import { ApiError } from '../http/errors.ts';
import { parseQuery, queryIntSchema } from '../http/validate.ts';
import type { Database } from '../store/schema.ts';
import { readSyncFeed, type ModelProgress } from './sync-feed.ts';
import { decodeSyncToken, encodeSyncToken } from './sync-token.ts';

type SyncConfig = Pick<Config, 'PARLEY_SYNC_PAGE_DEFAULT' | 'PARLEY_SYNC_PAGE_MAX' | 'PARLEY_SYNC_TIMEOUT_MAX_MS'>;

/** The query string of GET /sync; exported so the OpenAPI document uses the same one. */
export function syncQuerySchema(config: SyncConfig) {
  return z.strictObject({
    since: z.string().min(1).max(10_000).optional(),
    timeout_ms: queryIntSchema(0, config.PARLEY_SYNC_TIMEOUT_MAX_MS).default(0),
    limit: queryIntSchema(1, config.PARLEY_SYNC_PAGE_MAX).default(config.PARLEY_SYNC_PAGE_DEFAULT),
  });
}

export function syncRoutes(options: {
  config: SyncConfig;
  db: Kysely<Database>;
  requireUser: Middleware<AppState>;
  model: ModelProgress;
}): Router {
  const { db, model } = options;
  const router = new Router<AuthedState>({ prefix: '/api/v1' });
  router.use(options.requireUser);
  const query = syncQuerySchema(options.config);

  router.get('/sync', async (ctx) => {
    const { since, timeout_ms, limit } = parseQuery(ctx, query);
    if (since === undefined) {
      ctx.body = { next_since: encodeSyncToken(await model.applied()), events: [], has_more: false };
      return;
    }
    let position = decodeSyncToken(since, model.partitions);
    if (position === null) {
      throw new ApiError(400, 'validation_failed', 'invalid query', [
        { path: 'since', message: 'not a sync token of this server' },
      ]);
    }
    const deadline = Date.now() + timeout_ms;
    for (;;) {
      const until = await model.applied();
      const read = await readSyncFeed(db, { userId: ctx.state.userId, since: position, until, limit });
      if (read.status === 'expired') {
        throw new ApiError(
          410,
          'sync_token_expired',
          'the token is older than the sync feed keeps: resync (load state over REST, then sync without since)',
        );
      }
      const remaining = deadline - Date.now();
      if (read.frames.length > 0 || read.more || remaining <= 0 || ctx.req.destroyed) {
        ctx.body = { next_since: encodeSyncToken(read.next), events: read.frames, has_more: read.more };
        return;
      }
      // Nothing for this user up to `until`: wait for the model to move on.
      position = read.next;
      await model.movedPast(until, remaining);
    }
  });

  return router;
}
