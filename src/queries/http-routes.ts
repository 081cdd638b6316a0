// REST query routes: reads over the read models only.

import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { Kysely } from 'kysely';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { uuid } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { Rejection } from '../domain/decider.ts';
import type { AppState, AuthedState } from '../http/auth-middleware.ts';
import { pageLimitSchema, parseQuery, seqQuerySchema } from '../http/validate.ts';
import type { Database } from '../store/schema.ts';
import { escapeLike, fullTextQuery, searchMessageIds } from '../store/dialect.ts';
import { readMentions } from './mentions-queries.ts';
import { beforeCursorSchema } from './time-cursor.ts';
import { findMessage, findMessagesByIds, readHistory, readPins, readReceipts, readVersions } from './messages-queries.ts';
import type { PresenceReader } from './presence.ts';
import { roomReads, type RoomReads } from './room-reads.ts';
import { listBansForManager, listMyInvitations } from './rooms-queries.ts';
import { blockedBy, blockPeersOf, friendsOf, pendingRequests } from './social-queries.ts';
import { findMe, findUserById, searchUsers } from './users-queries.ts';
import { accountExport } from './account-export.ts';
import { readFollowedThreads, readThreadReplies, threadStateOf, withThreads } from './threads-queries.ts';

/** The query-string (and path id) schemas of these routes; exported so the OpenAPI document uses the same ones. */
export function queryInputs(config: Pick<Config, 'PARLEY_PAGE_DEFAULT' | 'PARLEY_PAGE_MAX' | 'PARLEY_SEARCH_MAX'>) {
  return {
    uuid,
    historyQuery: z
      .strictObject({
        before_seq: seqQuerySchema.optional(),
        after_seq: seqQuerySchema.optional(),
        limit: pageLimitSchema(config),
      })
      .refine((q) => q.before_seq === undefined || q.after_seq === undefined || q.after_seq < q.before_seq, {
        error: 'after_seq must be below before_seq',
      }),
    userSearchQuery: z.strictObject({ q: z.string().trim().min(1).max(64), limit: pageLimitSchema(config) }),
    friendRequestsQuery: z.strictObject({ direction: z.enum(['incoming', 'outgoing']).default('incoming') }),
    invitationsQuery: z.strictObject({ limit: pageLimitSchema(config) }),
    threadQuery: z.strictObject({ after_seq: seqQuerySchema.optional(), limit: pageLimitSchema(config) }),
    mentionsQuery: z.strictObject({ before: beforeCursorSchema, limit: pageLimitSchema(config) }),
    followedThreadsQuery: z.strictObject({ before: beforeCursorSchema, limit: pageLimitSchema(config) }),
    messageSearchQuery: z.strictObject({
      q: z.string().trim().min(1).max(200),
      room_id: uuid.optional(),
      limit: pageLimitSchema({ PARLEY_PAGE_DEFAULT: 20, PARLEY_PAGE_MAX: config.PARLEY_SEARCH_MAX }),
    }),
  };
}

export function queryRoutes(options: {
  config: Config;
  db: Kysely<Database>;
  requireUser: Middleware<AppState>;
  presence: PresenceReader;
  /** Membership and room details, cached when the server has a read cache; without: from `db`. */
  rooms?: RoomReads;
}): Router {
  const { db, config, presence } = options;
  const rooms = options.rooms ?? roomReads(db);
  const router = new Router<AuthedState>({ prefix: '/api/v1' });
  router.use(options.requireUser);
  const {
    uuid,
    historyQuery,
    threadQuery,
    userSearchQuery,
    friendRequestsQuery,
    invitationsQuery,
    messageSearchQuery,
    mentionsQuery,
    followedThreadsQuery,
  } = queryInputs(config);

  router.get('/users/me', async (ctx) => {
    const me = await findMe(db, ctx.state.userId);
    if (me === undefined) throw new Rejection('user_not_found', 'user not found');
    ctx.body = me;
  });

  // Everything Parley holds about me, streamed as one JSON document (account-export.ts).
  router.get('/users/me/export', async (ctx) => {
    const user = await findUserById(db, ctx.state.userId);
    if (user === undefined || user.deleted) throw new Rejection('user_not_found', 'user not found');
    ctx.set('Content-Disposition', 'attachment; filename="parley-export.json"');
    ctx.type = 'application/json';
    ctx.body = Readable.from(accountExport(db, ctx.state.userId));
  });

  router.get('/users', async (ctx) => {
    const { q, limit } = parseQuery(ctx, userSearchQuery);
    const hidden = await blockPeersOf(db, ctx.state.userId);
    const users = await searchUsers(db, escapeLike(q.normalize('NFKC').toLowerCase()), limit + hidden.size);
    ctx.body = { users: users.filter((user) => !hidden.has(user.id)).slice(0, limit) };
  });

  router.get('/users/:id', async (ctx) => {
    const user = await findUserById(db, uuid.parse(ctx.params.id));
    if (user === undefined) throw new Rejection('user_not_found', 'user not found');
    ctx.body = { ...user, status: await presence.statusOf(user.id, ctx.state.userId) };
  });

  router.get('/friends', async (ctx) => {
    const friends = await friendsOf(db, ctx.state.userId);
    const statuses = await presence.statusesOf(friends.map((friend) => friend.id));
    ctx.body = { friends: friends.map((friend) => ({ ...friend, status: statuses.get(friend.id) })) };
  });

  router.get('/friends/requests', async (ctx) => {
    const { direction } = parseQuery(ctx, friendRequestsQuery);
    ctx.body = { requests: await pendingRequests(db, ctx.state.userId, direction) };
  });

  router.get('/invitations', async (ctx) => {
    const { limit } = parseQuery(ctx, invitationsQuery);
    ctx.body = { invitations: await listMyInvitations(db, ctx.state.userId, limit) };
  });

  router.get('/blocks', async (ctx) => {
    ctx.body = { blocks: await blockedBy(db, ctx.state.userId) };
  });

  router.get('/search/messages', async (ctx) => {
    const query = parseQuery(ctx, messageSearchQuery);
    const mine = await rooms.roomIdsOf(ctx.state.userId);
    // Only rooms the caller is in are searched: others' rooms stay invisible.
    const searched = query.room_id === undefined ? mine : mine.filter((roomId) => roomId === query.room_id);
    const text = fullTextQuery(db, query.q);
    const ids = text === null ? [] : await searchMessageIds(db, text, searched, query.limit);
    ctx.body = { messages: await findMessagesByIds(db, ids) };
  });

  router.get('/rooms', async (ctx) => {
    ctx.body = { rooms: await rooms.roomListOf(ctx.state.userId) };
  });

  router.get('/rooms/:id', async (ctx) => {
    const room = await rooms.roomForMember(uuid.parse(ctx.params.id), ctx.state.userId);
    if (room === undefined) throw new Rejection('room_not_found', 'room not found');
    ctx.body = room;
  });

  router.get('/rooms/:id/messages', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    const page = parseQuery(ctx, historyQuery);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    ctx.body = { messages: await withThreads(db, await readHistory(db, roomId, page)) };
  });

  router.get('/rooms/:id/messages/:message_id/thread', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    const messageId = uuid.parse(ctx.params.message_id);
    const page = parseQuery(ctx, threadQuery);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    const root = await findMessage(db, roomId, messageId);
    if (root === undefined) throw new Rejection('message_not_found', 'message not found');
    const [message] = await withThreads(db, [root]);
    const [replies, mine] = await Promise.all([
      readThreadReplies(db, roomId, messageId, page),
      threadStateOf(db, ctx.state.userId, messageId),
    ]);
    const next = replies.length === page.limit ? replies[replies.length - 1]!.seq : null;
    ctx.body = { message, replies, next_after_seq: next, ...mine };
  });

  router.get('/threads', async (ctx) => {
    const { before, limit } = parseQuery(ctx, followedThreadsQuery);
    ctx.body = await readFollowedThreads(db, ctx.state.userId, { before, limit });
  });

  router.get('/rooms/:id/messages/:message_id/history', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    const messageId = uuid.parse(ctx.params.message_id);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    const message = await findMessage(db, roomId, messageId);
    if (message === undefined) throw new Rejection('message_not_found', 'message not found');
    ctx.body = { message, versions: await readVersions(db, messageId) };
  });

  router.get('/rooms/:id/messages/:message_id/receipts', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    const messageId = uuid.parse(ctx.params.message_id);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    const message = await findMessage(db, roomId, messageId);
    if (message === undefined) throw new Rejection('message_not_found', 'message not found');
    ctx.body = await readReceipts(db, message);
  });

  router.get('/mentions', async (ctx) => {
    const { before, limit } = parseQuery(ctx, mentionsQuery);
    ctx.body = await readMentions(db, ctx.state.userId, { before, limit });
  });

  router.get('/rooms/:id/bans', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    const bans = await listBansForManager(db, roomId, ctx.state.userId);
    if (bans === undefined) throw new Rejection('forbidden', 'only an owner or admin sees the bans');
    ctx.body = { bans };
  });

  router.get('/rooms/:id/pins', async (ctx) => {
    const roomId = uuid.parse(ctx.params.id);
    if (!(await rooms.isMember(roomId, ctx.state.userId))) throw new Rejection('room_not_found', 'room not found');
    ctx.body = { pins: await readPins(db, roomId) };
  });

  return router;
}
