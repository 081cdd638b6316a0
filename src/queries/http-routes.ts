// REST query routes: reads over the read models only.

import Router from '@koa/router';
import type { Kysely } from 'kysely';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { Rejection } from '../domain/decider.ts';
import { pageLimitSchema, parseQuery, seqSchema } from '../http/validate.ts';
import type { Database } from '../store/schema.ts';
import type { PresenceReader } from './presence.ts';
import { readHistory } from './messages-queries.ts';
import { findRoomForMember, isMember, listMyRooms } from './rooms-queries.ts';
import { findUserById } from './users-queries.ts';

export function queryRoutes(options: {
  config: Config;
  db: Kysely<Database>;
  requireUser: Middleware;
  presence: PresenceReader;
}): Router {
  const { db, config, presence } = options;
  const router = new Router({ prefix: '/api/v1' });
  router.use(options.requireUser);
  const uuid = z.uuid().transform((value) => value.toLowerCase());
  const historyQuery = z
    .strictObject({
      before_seq: seqSchema.optional(),
      after_seq: seqSchema.optional(),
      limit: pageLimitSchema(config),
    })
    .refine((q) => q.before_seq === undefined || q.after_seq === undefined || q.after_seq < q.before_seq, {
      message: 'after_seq must be below before_seq',
    });

  router.get('/users/me', async (ctx) => {
    const user = await findUserById(db, ctx.state.userId);
    if (user === undefined) throw new Rejection('user_not_found', 'user not found');
    ctx.body = user;
  });

  router.get('/users/:id', async (ctx) => {
    const user = await findUserById(db, uuid.parse(ctx.params.id));
    if (user === undefined) throw new Rejection('user_not_found', 'user not found');
    ctx.body = { ...user, status: await presence.statusOf(user.id) };
  });

  router.get('/rooms', async (ctx) => {
    ctx.body = { rooms: await listMyRooms(db, ctx.state.userId) };
  });

  router.get('/rooms/:id', async (ctx) => {
    const room = await findRoomForMember(db, uuid.parse(ctx.params.id), ctx.state.userId);
    if (room === undefined) throw new Rejection('room_not_found', 'room not found');
    ctx.body = room;
  });

  router.get('/rooms/:id/messages', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    const page = parseQuery(ctx, historyQuery);
    if (!(await isMember(db, roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    ctx.body = { messages: await readHistory(db, roomId, page) };
  });

  return router;
}
