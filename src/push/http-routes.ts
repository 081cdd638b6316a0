// Web Push over REST (API.md "Push notifications"): the server's VAPID public
// key, and the signed-in user's device subscriptions.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { CommandRateLimits } from '../commands/command-rate-limits.ts';
import type { Config } from '../config.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { parseBody } from '../http/validate.ts';
import { checkPushEndpoint } from './endpoint-policy.ts';
import { listPushSubscriptions, subscribe, unsubscribe, type PushSubscriptionsDeps } from './subscriptions.ts';
import type { VapidKeys } from './vapid-keys.ts';

/** base64url decoding to exactly `bytes` bytes (and, for a public key, an uncompressed point). */
const base64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, { error: `${what}: base64url` })
    .refine((value) => Buffer.from(value, 'base64url').length === bytes, { error: `${what}: ${bytes} bytes` });

export function pushInputs(config: Pick<Config, 'PARLEY_PUSH_ENDPOINT_ALLOW'>) {
  const endpoint = z.string().superRefine((value, check) => {
    const verdict = checkPushEndpoint(value, config.PARLEY_PUSH_ENDPOINT_ALLOW);
    if (!verdict.ok) check.addIssue({ code: 'custom', message: `not an allowed push endpoint: ${verdict.reason}` });
  });
  return {
    // What a browser's PushSubscription.toJSON() gives; expirationTime is accepted and not used.
    subscriptionBody: z.strictObject({
      endpoint,
      expirationTime: z.number().nullable().optional(),
      keys: z.strictObject({
        p256dh: base64url(65, 'p256dh').refine((value) => Buffer.from(value, 'base64url')[0] === 0x04, {
          error: 'p256dh: an uncompressed P-256 point',
        }),
        auth: base64url(16, 'auth'),
      }),
    }),
    unsubscribeBody: z.strictObject({ endpoint: z.string().max(4096) }),
  };
}

export function pushRoutes(options: {
  config: Config;
  vapid: VapidKeys;
  subscriptions: PushSubscriptionsDeps;
  rateLimits: CommandRateLimits;
  requireUser: Middleware;
}): Router<AppState> {
  const { subscriptions, rateLimits } = options;
  const { subscriptionBody, unsubscribeBody } = pushInputs(options.config);
  const router = new Router<AppState>();

  // Public: a client needs it to subscribe (PushManager.subscribe's applicationServerKey).
  router.get('/api/v1/push/vapid-public-key', (ctx) => {
    ctx.body = { public_key: options.vapid.publicKey };
  });

  router.get('/api/v1/push/subscriptions', options.requireUser, async (ctx) => {
    ctx.body = { subscriptions: await listPushSubscriptions(subscriptions.db, userIdOf(ctx)) };
  });

  router.post('/api/v1/push/subscriptions', options.requireUser, async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, subscriptionBody);
    await rateLimits.charge(userId, 'add_push_subscription');
    ctx.status = 201;
    ctx.body = await subscribe(subscriptions, userId, body);
  });

  router.delete('/api/v1/push/subscriptions', options.requireUser, async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, unsubscribeBody);
    await rateLimits.charge(userId, 'remove_push_subscription');
    await unsubscribe(subscriptions, userId, body.endpoint);
    ctx.status = 204;
  });

  return router;
}
