// Bots and their API tokens over REST (API.md "Bots"), for global admins.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { registerBody } from '../auth/http-routes.ts';
import { uuid } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { userIdOf, type AppState } from '../http/auth-middleware.ts';
import { parseBody } from '../http/validate.ts';
import { createBot, deleteBot, issueBotToken, listBots, listBotTokens, revokeBotToken, type BotsDeps } from './bots.ts';

type BotConfig = Pick<Config, 'PARLEY_BOT_TOKEN_NAME_MAX' | 'PARLEY_BOT_TOKEN_ROOMS_MAX'>;

/** The bot routes' body schemas; exported so the OpenAPI document uses the same ones. */
export function botInputs(config: BotConfig) {
  return {
    // A person's registration without the credentials: the same username and display-name rules.
    createBody: registerBody.pick({ username: true, display_name: true }),
    tokenBody: z.strictObject({
      name: z.string().trim().min(1).max(config.PARLEY_BOT_TOKEN_NAME_MAX),
      room_ids: z.array(uuid).min(1).max(config.PARLEY_BOT_TOKEN_ROOMS_MAX).optional(),
    }),
  };
}

export function botRoutes(options: { config: Config; bots: BotsDeps; requireUser: Middleware }): Router<AppState> {
  const { bots, requireUser } = options;
  const { createBody, tokenBody } = botInputs(options.config);
  const router = new Router<AppState>();
  const botIdOf = (ctx: { params: Record<string, string | undefined> }) => uuid.parse(ctx.params.user_id);

  router.post('/api/v1/bots', requireUser, async (ctx) => {
    const body = parseBody(ctx, createBody);
    ctx.status = 201;
    ctx.body = await createBot(bots, userIdOf(ctx), body);
  });
  router.get('/api/v1/bots', requireUser, async (ctx) => {
    ctx.body = await listBots(bots, userIdOf(ctx));
  });
  router.delete('/api/v1/bots/:user_id', requireUser, async (ctx) => {
    await deleteBot(bots, userIdOf(ctx), botIdOf(ctx));
    ctx.status = 204;
  });
  router.post('/api/v1/bots/:user_id/tokens', requireUser, async (ctx) => {
    const body = parseBody(ctx, tokenBody);
    ctx.status = 201;
    ctx.body = await issueBotToken(bots, userIdOf(ctx), botIdOf(ctx), body);
  });
  router.get('/api/v1/bots/:user_id/tokens', requireUser, async (ctx) => {
    ctx.body = await listBotTokens(bots, userIdOf(ctx), botIdOf(ctx));
  });
  router.delete('/api/v1/bots/:user_id/tokens/:token_id', requireUser, async (ctx) => {
    await revokeBotToken(bots, userIdOf(ctx), botIdOf(ctx), uuid.parse(ctx.params.token_id));
    ctx.status = 204;
  });
  return router;
}
