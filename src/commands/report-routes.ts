// Reports over REST (API.md "Reports"): file one, read the ones I moderate,
// resolve one.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { pageLimitSchema, parseBody, parseQuery } from '../http/validate.ts';
import { beforeCursorSchema } from '../queries/time-cursor.ts';
import { uuid } from './inputs.ts';
import { fileReport, reportsFor, resolveReport, type ReportsDeps } from './reports.ts';

/** The report routes' body and query schemas; exported so the OpenAPI document uses the same ones. */
export function reportInputs(config: Pick<Config, 'PARLEY_REPORT_REASON_MAX' | 'PARLEY_PAGE_DEFAULT' | 'PARLEY_PAGE_MAX'>) {
  const reason = z.string().trim().min(1).max(config.PARLEY_REPORT_REASON_MAX);
  return {
    // A message or a user, never both.
    reportBody: z.union([z.strictObject({ message_id: uuid, reason }), z.strictObject({ user_id: uuid, reason })]),
    resolveBody: z.strictObject({ resolution: z.enum(['actioned', 'dismissed']) }),
    reportsQuery: z.strictObject({
      status: z.enum(['open', 'resolved']).optional(),
      before: beforeCursorSchema,
      limit: pageLimitSchema(config),
    }),
  };
}

export function reportRoutes(options: { config: Config; reports: ReportsDeps; requireUser: Middleware }): Router<AppState> {
  const { reports } = options;
  const { reportBody, resolveBody, reportsQuery } = reportInputs(options.config);
  const router = new Router<AppState>();

  router.post('/api/v1/reports', options.requireUser, async (ctx) => {
    const body = parseBody(ctx, reportBody);
    ctx.status = 201;
    ctx.body = await fileReport(reports, userIdOf(ctx), body);
  });

  router.get('/api/v1/reports', options.requireUser, async (ctx) => {
    ctx.body = await reportsFor(reports, userIdOf(ctx), parseQuery(ctx, reportsQuery));
  });

  router.post('/api/v1/reports/:report_id/resolve', options.requireUser, async (ctx) => {
    const reportId = uuid.parse(ctx.params.report_id);
    const body = parseBody(ctx, resolveBody);
    ctx.body = await resolveReport(reports, userIdOf(ctx), reportId, body.resolution);
  });

  return router;
}
