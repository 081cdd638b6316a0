// Bearer authentication for REST routes, and the request state types routes see.
// `requireUser(verify)` reads `Authorization: Bearer <token>`, lets the auth
// module verify it (a failure throws its AuthError, which errors.ts maps to 401)
// and puts the user on `ctx.state.userId`. Verification itself lives in src/auth.

import type { ParameterizedContext, Middleware } from 'koa';
import type { Logger } from 'pino';
import { forbidden, unauthorized } from './errors.ts';
import { scopeAllows } from './token-scope.ts';

/** What every request carries from the start (set by the first middleware in app.ts). */
export interface AppState {
  /** Correlation id: the client's sane `X-Request-Id`, or a fresh UUID; echoed in the response. */
  requestId: string;
  /** The logger for this request, already bound to `req_id`. */
  log: Logger;
  /** Set by `requireUser`; use `AuthedState` on routers behind it. */
  userId?: string;
  /** The login the request's token belongs to (null for a token that names none); set by `requireUser`. */
  sessionId?: string | null;
  /** The only rooms the request's token may act in (a bot's scoped token); null: no limit. Set by `requireUser`. */
  tokenRooms?: readonly string[] | null;
}

/** The state of a request that passed `requireUser`. */
export interface AuthedState extends AppState {
  userId: string;
}

export type VerifyAccessToken = (token: string) => Promise<{
  userId: string;
  sessionId: string | null;
  /** The only rooms the token may act in (a bot's scoped token); null: no limit. */
  rooms: readonly string[] | null;
}>;

/** Access tokens are a few hundred bytes; anything past this is refused before verification. */
export const MAX_TOKEN_CHARS = 8192;

// RFC 6750 §2.1: scheme case-insensitive, token is b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function requireUser(verify: VerifyAccessToken): Middleware<AppState> {
  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (header === '') throw unauthorized('missing Authorization: Bearer token');
    const match = header.length <= MAX_TOKEN_CHARS + 'Bearer '.length ? BEARER.exec(header) : null;
    const token = match?.[1];
    if (token === undefined) throw unauthorized('malformed Authorization header, expected Bearer token');
    const { userId, sessionId, rooms } = await verify(token);
    if (rooms !== null && !scopeAllows(rooms, ctx.method, ctx.path)) {
      throw forbidden('this token is limited to some rooms; this route is outside them');
    }
    ctx.state.userId = userId;
    ctx.state.sessionId = sessionId;
    ctx.state.tokenRooms = rooms;
    await next();
  };
}

/**
 * 403 unless the request's token may act in `roomId` — for a route outside
 * /api/v1/rooms/{id} that acts in a room named in its body (an upload for a
 * message's attachment); `undefined`: no room, which a scoped token may not
 * act without (an avatar is the bot's profile, outside any room).
 */
export function requireRoomInTokenScope(ctx: ParameterizedContext<AppState>, roomId: string | undefined): void {
  const rooms = ctx.state.tokenRooms;
  if (rooms === undefined || rooms === null) return;
  if (roomId === undefined || !rooms.includes(roomId)) {
    throw forbidden('this token is limited to some rooms; this act is outside them');
  }
}

/** The authenticated user of a request; 401 if the route forgot `requireUser`, never undefined. */
export function userIdOf(ctx: ParameterizedContext<AppState>): string {
  const userId = ctx.state.userId;
  if (userId === undefined) throw unauthorized();
  return userId;
}
