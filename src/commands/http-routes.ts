// REST command routes (API.md "Rooms and messages", "Users"): validate the
// body with zod, hand it to the chat service, answer with the stored result.

import Router from '@koa/router';
import type { Middleware } from 'koa';
import type { Config } from '../config.ts';
import type { AppState, AuthedState } from '../http/auth-middleware.ts';
import { parseBody } from '../http/validate.ts';
import type { ChatService } from './chat-service.ts';
import { commandInputs } from './inputs.ts';
import type { SocialService } from './social-service.ts';

export function commandRoutes(options: {
  config: Config;
  chat: ChatService;
  social: SocialService;
  requireUser: Middleware<AppState>;
}): Router {
  const { chat, social } = options;
  const inputs = commandInputs(options.config);
  const router = new Router<AuthedState>({ prefix: '/api/v1' });
  router.use(options.requireUser);
  const roomId = (value: unknown) => inputs.uuid.parse(value);
  const id = roomId;

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

  // Moderation: owners and admins (admins only over plain members and outsiders).
  for (const [method, banned] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    router[method]('/rooms/:id/bans/:user_id', async (ctx) => {
      await chat.ban(ctx.state.userId, roomId(ctx.params.id), inputs.uuid.parse(ctx.params.user_id), banned);
      ctx.status = 204;
    });
  }

  router.put('/rooms/:id/mutes/:user_id', async (ctx) => {
    const { duration_s } = parseBody(ctx, inputs.mute);
    ctx.body = await chat.mute(ctx.state.userId, roomId(ctx.params.id), inputs.uuid.parse(ctx.params.user_id), duration_s);
  });

  router.put('/rooms/:id/notifications', async (ctx) => {
    const settings = parseBody(ctx, inputs.notifications);
    const room = roomId(ctx.params.id);
    ctx.body = { chat_room_id: room, ...(await chat.setNotifications(ctx.state.userId, room, settings)) };
  });

  router.put('/rooms/:id/slow-mode', async (ctx) => {
    const { interval_s } = parseBody(ctx, inputs.slowMode);
    ctx.body = await chat.setSlowMode(ctx.state.userId, roomId(ctx.params.id), interval_s);
  });

  router.post('/invitations/:room_id/accept', async (ctx) => {
    ctx.body = await chat.acceptInvitation(ctx.state.userId, roomId(ctx.params.room_id));
  });

  router.post('/invitations/:room_id/decline', async (ctx) => {
    await chat.declineInvitation(ctx.state.userId, roomId(ctx.params.room_id));
    ctx.status = 204;
  });

  router.post('/rooms/:id/messages', async (ctx) => {
    const message = await chat.sendMessage(ctx.state.userId, roomId(ctx.params.id), parseBody(ctx, inputs.sendMessage));
    ctx.status = 201;
    ctx.body = message;
  });

  router.patch('/rooms/:id', async (ctx) => {
    ctx.body = await chat.updateRoom(ctx.state.userId, roomId(ctx.params.id), parseBody(ctx, inputs.updateRoom));
  });

  router.patch('/rooms/:id/members/:user_id', async (ctx) => {
    const { role } = parseBody(ctx, inputs.changeRole);
    ctx.body = await chat.changeRole(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.user_id), role);
  });

  router.post('/rooms/direct', async (ctx) => {
    const { user_id } = parseBody(ctx, inputs.userRef);
    ctx.status = 201;
    ctx.body = await chat.openDirectRoom(ctx.state.userId, user_id);
  });

  router.patch('/rooms/:id/messages/:message_id', async (ctx) => {
    const { content } = parseBody(ctx, inputs.editMessage);
    ctx.body = await chat.editMessage(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.message_id), content);
  });

  router.delete('/rooms/:id/messages/:message_id', async (ctx) => {
    ctx.body = await chat.deleteMessage(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.message_id));
  });

  for (const [method, add] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    router[method]('/rooms/:id/messages/:message_id/reactions/:emoji', async (ctx) => {
      const emoji = inputs.emoji.parse(ctx.params.emoji);
      ctx.body = await chat.react(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.message_id), emoji, add);
    });
  }

  for (const [method, pinned] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    router[method]('/rooms/:id/pins/:message_id', async (ctx) => {
      await chat.pin(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.message_id), pinned);
      ctx.status = 204;
    });
  }

  for (const [method, following] of [
    ['put', true],
    ['delete', false],
  ] as const) {
    router[method]('/rooms/:id/messages/:message_id/thread/follow', async (ctx) => {
      await chat.followThread(ctx.state.userId, roomId(ctx.params.id), id(ctx.params.message_id), following);
      ctx.status = 204;
    });
  }

  router.post('/rooms/:id/messages/:message_id/thread/read', async (ctx) => {
    const { seq } = parseBody(ctx, inputs.readReceipt);
    const [room, message] = [roomId(ctx.params.id), id(ctx.params.message_id)];
    const mark = await chat.markThreadRead(ctx.state.userId, room, message, seq);
    ctx.body = { chat_room_id: room, message_id: message, last_read_seq: mark };
  });

  router.post('/rooms/:id/read', async (ctx) => {
    const { seq } = parseBody(ctx, inputs.readReceipt);
    const room = roomId(ctx.params.id);
    ctx.body = { chat_room_id: room, last_read_seq: await chat.markRead(ctx.state.userId, room, seq) };
  });

  router.post('/rooms/:id/delivered', async (ctx) => {
    const { seq } = parseBody(ctx, inputs.readReceipt);
    const room = roomId(ctx.params.id);
    ctx.body = { chat_room_id: room, last_delivered_seq: await chat.markDelivered(ctx.state.userId, room, seq) };
  });

  router.post('/friends/requests', async (ctx) => {
    const { user_id } = parseBody(ctx, inputs.userRef);
    ctx.status = 201;
    ctx.body = { request: await social.sendRequest(ctx.state.userId, user_id) };
  });

  for (const answer of ['accept', 'reject'] as const) {
    router.post(`/friends/requests/:id/${answer}`, async (ctx) => {
      const request = await social.answerRequest(ctx.state.userId, id(ctx.params.id), answer);
      ctx.body =
        answer === 'accept'
          ? { request, friendship: { user_ids: [request.from_user_id, request.to_user_id], since: request.updated_at } }
          : { request };
    });
  }

  router.delete('/friends/requests/:id', async (ctx) => {
    ctx.body = { request: await social.answerRequest(ctx.state.userId, id(ctx.params.id), 'cancel') };
  });

  router.delete('/friends/:user_id', async (ctx) => {
    await social.unfriend(ctx.state.userId, id(ctx.params.user_id));
    ctx.status = 204;
  });

  router.post('/blocks', async (ctx) => {
    const { user_id } = parseBody(ctx, inputs.userRef);
    await social.block(ctx.state.userId, user_id);
    ctx.status = 204;
  });

  router.delete('/blocks/:user_id', async (ctx) => {
    await social.unblock(ctx.state.userId, id(ctx.params.user_id));
    ctx.status = 204;
  });

  return router;
}
