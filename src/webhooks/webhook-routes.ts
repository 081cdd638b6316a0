// Outgoing webhooks over REST (API.md "Webhooks"), for global admins.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { uuid } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { parseBody, parseQuery, queryIntSchema } from '../http/validate.ts';
import { deliverableEventTypes } from './deliverable-events.ts';
import { checkWebhookUrl } from './url-policy.ts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhooks,
  pauseWebhook,
  replayWebhook,
  resumeWebhook,
  webhookDeliveries,
  type WebhooksDeps,
} from './webhooks.ts';

type WebhookConfig = Pick<
  Config,
  'PARLEY_WEBHOOK_ALLOW_PRIVATE' | 'PARLEY_WEBHOOK_URL_MAX' | 'PARLEY_WEBHOOK_SECRET_MAX' | 'PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX'
>;

/** The webhook routes' body and query schemas; exported so the OpenAPI document uses the same ones. */
export function webhookInputs(config: WebhookConfig) {
  const url = z
    .string()
    .max(config.PARLEY_WEBHOOK_URL_MAX)
    .superRefine((value, ctx) => {
      const verdict = checkWebhookUrl(value, config.PARLEY_WEBHOOK_ALLOW_PRIVATE, config.PARLEY_WEBHOOK_URL_MAX);
      if (!verdict.ok) ctx.addIssue({ code: 'custom', message: `not a URL a webhook may reach: ${verdict.reason}` });
    });
  return {
    createBody: z.strictObject({
      url,
      events: z
        .array(z.enum(deliverableEventTypes as [string, ...string[]]))
        .min(1)
        .max(deliverableEventTypes.length),
      room_id: uuid.optional(),
      secret: z.string().min(16).max(config.PARLEY_WEBHOOK_SECRET_MAX).optional(),
    }),
    replayBody: z.strictObject({ from_time: z.number().int().nonnegative() }),
    deliveriesQuery: z.strictObject({
      limit: queryIntSchema(1, config.PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX).default(config.PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX),
    }),
  };
}

export function webhookRoutes(options: { config: Config; webhooks: WebhooksDeps; requireUser: Middleware }): Router<AppState> {
  const { webhooks, requireUser } = options;
  const { createBody, replayBody, deliveriesQuery } = webhookInputs(options.config);
  const router = new Router<AppState>();
  const webhookIdOf = (ctx: { params: Record<string, string | undefined> }) => uuid.parse(ctx.params.webhook_id);

  router.post('/api/v1/webhooks', requireUser, async (ctx) => {
    const body = parseBody(ctx, createBody);
    ctx.status = 201;
    ctx.body = await createWebhook(webhooks, userIdOf(ctx), body);
  });
  router.get('/api/v1/webhooks', requireUser, async (ctx) => {
    ctx.body = await listWebhooks(webhooks, userIdOf(ctx));
  });
  router.get('/api/v1/webhooks/:webhook_id', requireUser, async (ctx) => {
    ctx.body = await getWebhook(webhooks, userIdOf(ctx), webhookIdOf(ctx));
  });
  router.post('/api/v1/webhooks/:webhook_id/pause', requireUser, async (ctx) => {
    ctx.body = await pauseWebhook(webhooks, userIdOf(ctx), webhookIdOf(ctx));
  });
  router.post('/api/v1/webhooks/:webhook_id/resume', requireUser, async (ctx) => {
    ctx.body = await resumeWebhook(webhooks, userIdOf(ctx), webhookIdOf(ctx));
  });
  router.post('/api/v1/webhooks/:webhook_id/replay', requireUser, async (ctx) => {
    const webhookId = webhookIdOf(ctx);
    const body = parseBody(ctx, replayBody);
    ctx.status = 202;
    ctx.body = await replayWebhook(webhooks, userIdOf(ctx), webhookId, Math.min(body.from_time, Date.now()));
  });
  router.delete('/api/v1/webhooks/:webhook_id', requireUser, async (ctx) => {
    await deleteWebhook(webhooks, userIdOf(ctx), webhookIdOf(ctx));
    ctx.status = 204;
  });
  router.get('/api/v1/webhooks/:webhook_id/deliveries', requireUser, async (ctx) => {
    const query = parseQuery(ctx, deliveriesQuery);
    ctx.body = await webhookDeliveries(webhooks, userIdOf(ctx), webhookIdOf(ctx), query.limit);
  });
  return router;
}
