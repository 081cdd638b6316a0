// REST command routes (API.md "Rooms and messages", "Users"): validate the
// body with zod, hand it to the chat service, answer with the stored result.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Config } from '../config.ts';
import { parseBody } from '../http/validate.ts';
import type { ChatService } from './chat-service.ts';
import { commandInputs } from './inputs.ts';

export function commandRoutes(options: { config: Config; chat: ChatService; requireUser: Middleware }): Router {
  const { chat } = options;
  const inputs = commandInputs(options.config);
  const router = new Router({ prefix: '/api/v1' });
  router.use(options.requireUser);
  const roomId = (value: string | undefined) => inputs.uuid.parse(value);

  router.patch('/users/me', async (ctx) => {
    ctx.body = await chat.updateProfile(ctx.state.userId, parseBody(ctx, inputs.updateProfile));
  });

  router.post('/rooms', async (ctx) => {
    ctx.status = 201;
    ctx.body = await chat.createRoom(ctx.state.userId, parseBody(ctx, inputs.createRoom));
  });

  router.post('/rooms/:id/members', async (ctx) => {
    ctx.status = 201;
    ctx.body = await chat.addMember(ctx.state.userId, roomId(ctx.params.id), parseBody(ctx, inputs.addMember));
  });

  router.delete('/rooms/:id/members/:user_id', async (ctx) => {
    await chat.removeMember(ctx.state.userId, roomId(ctx.params.id), inputs.uuid.parse(ctx.params.user_id));
    ctx.status = 204;
  });

  router.post('/rooms/:id/messages', async (ctx) => {
    const message = await chat.sendMessage(ctx.state.userId, roomId(ctx.params.id), parseBody(ctx, inputs.sendMessage));
    ctx.status = 201;
    ctx.body = message;
  });

  return router;
}
