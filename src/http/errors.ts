// Every error a client can see, in one place: `ApiError` for errors the HTTP layer
// raises itself, and `toApiError`, the single mapping from anything a handler may
// throw (domain Rejection, zod error, auth error, command timeout, Koa HttpError,
// a bug) to the status, stable code and safe message that API.md promises. The
// error middleware and the WebSocket gateway both use it, so REST and WS agree on codes.

import { z } from 'zod';
import { AuthError, type AuthErrorCode } from '../auth/errors.ts';
import { CommandTimeout } from '../commands/command-bus.ts';
import { CommandRateLimited } from '../commands/command-rate-limits.ts';
import { ReadModelLagging } from '../commands/execute.ts';
import { PreSendHookUnavailable } from '../commands/presend-hook.ts';
import { Rejection, type RejectionCode } from '../domain/decider.ts';

/** An error with a status and code that is safe to show to the client as-is. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Response headers that belong to this error (`Retry-After`, `Allow`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    options: { headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = options.headers ?? {};
  }
}

/** The JSON body of an error response, as API.md defines it. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(error: ApiError): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
}

// Domain rejections → HTTP status. `satisfies Record<RejectionCode, …>` makes a new
// rejection code a compile error here until someone decides its status.
//
// 409 vs 422: every "the rule says no given the current state" rejection is 409
// Conflict — last_owner, invalid_state, not_friends and self_request included —
// because API.md already answers a friend request "to yourself, to a friend, twice
// … → 409", and a client needs one status for "well-formed, but the state forbids
// it". 422 is not used: malformed or ill-typed input is 400 `validation_failed`.
export const rejectionStatus = {
  not_found: 404,
  room_not_found: 404,
  message_not_found: 404,
  user_not_found: 404,
  attachment_not_found: 404,
  upload_not_found: 404,
  request_not_found: 404,
  invitation_not_found: 404,
  not_a_member: 403,
  forbidden: 403,
  // No session starts for a suspended account (auth/suspension.ts): details.until and details.reason.
  account_suspended: 403,
  blocked: 403,
  already_exists: 409,
  username_taken: 409,
  email_taken: 409,
  already_member: 409,
  already_friends: 409,
  request_pending: 409,
  last_owner: 409,
  too_many_pins: 409,
  banned: 403,
  muted: 403,
  // Like a rate limit: the same message is welcome a few seconds later (details.retry_after_s, and Retry-After).
  slow_mode: 429,
  invalid_state: 409,
  self_request: 409,
  not_friends: 409,
  // The pre-send hook refused the message (details.reason, if it gave one).
  message_rejected: 403,
} as const satisfies Record<RejectionCode, 403 | 404 | 409 | 429>;

const isRejectionCode = (code: unknown): code is RejectionCode =>
  typeof code === 'string' && Object.hasOwn(rejectionStatus, code);

// Auth errors: the auth module throws `AuthError` with one of these codes. The
// messages are fixed here rather than taken from the error, so jose's wording
// (and which check failed) never leaks.
const authMessages = {
  invalid_token: 'the access token is invalid',
  token_expired: 'the access token has expired',
  invalid_refresh_token: 'the refresh token is invalid or has been used',
  invalid_reset_token: 'the reset link is invalid, used or expired',
  invalid_email_token: 'the confirmation link is invalid, used or expired',
} as const satisfies Record<AuthErrorCode, string>;

/** Codes and default messages for statuses raised by Koa or the router (`ctx.throw`). */
const statusCodes: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  410: 'gone',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
};

/** At most this many `{path, message}` entries are returned for one invalid input. */
export const MAX_VALIDATION_DETAILS = 50;

export interface ValidationDetail {
  /** Dotted path into the input (`members.0.user_id`); '' for the input as a whole. */
  path: string;
  message: string;
}

/** One entry per zod issue; an unknown-keys issue becomes one entry per unknown field. */
export function validationDetails(error: z.core.$ZodError): ValidationDetail[] {
  const details = new Map<string, ValidationDetail>(); // keyed to drop repeats of one problem
  const add = (path: string, message: string) => details.set(JSON.stringify([path, message]), { path, message });
  for (const issue of error.issues) {
    const base = issue.path.map((segment) => String(segment));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add([...base, key].join('.'), 'unknown field');
    } else {
      add(base.join('.'), issue.message);
    }
  }
  return [...details.values()].slice(0, MAX_VALIDATION_DETAILS);
}

/** 400 `validation_failed` from a zod error; `what` names the input ("request body"). */
export function validationError(error: z.core.$ZodError, what = 'input'): ApiError {
  return new ApiError(400, 'validation_failed', `invalid ${what}`, validationDetails(error), { cause: error });
}

/** A Koa / http-errors error (`ctx.throw(400)`): has `status` and says whether it may be shown. */
function isExposedHttpError(err: unknown): err is Error & { status: number } {
  if (!(err instanceof Error)) return false;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true;
}

/** Connection-level failures of mysql2, ioredis and Node sockets. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // A Redis script answered out of shape (infra/redis-rate-limiter.ts).
  'REDIS_UNEXPECTED_REPLY',
  // The log did not confirm an append (log/kafka/appender.ts): brokers away, too few in sync.
  'LOG_APPEND_UNCONFIRMED',
]);
function isUnavailableDependency(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  // mysql2 marks the errors that cost it the connection (lost, closed, cut) fatal.
  if ((err as { fatal?: unknown }).fatal === true) return true;
  // ioredis: the connection gone and its offline queue off or full, or dropped
  // for silence (PARLEY_REDIS_SOCKET_TIMEOUT_MS).
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    err.message === 'Connection is closed.' ||
    err.message.startsWith('Socket timeout.')
  );
}

/** A rejection that says when to try again (slow mode) carries `retry_after_s` in its details. */
function retryAfterOf(details: unknown): number | undefined {
  if (typeof details !== 'object' || details === null || !('retry_after_s' in details)) return undefined;
  return typeof details.retry_after_s === 'number' ? details.retry_after_s : undefined;
}

/**
 * Maps anything thrown to the error the client sees. Unknown errors become
 * 500 `internal` with a generic message; the caller logs the original.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof Rejection && isRejectionCode(err.code)) {
    const retryAfterS = retryAfterOf(err.details);
    const headers = retryAfterS === undefined ? undefined : { 'Retry-After': String(Math.max(1, retryAfterS)) };
    return new ApiError(rejectionStatus[err.code], err.code, err.message, err.details, {
      cause: err,
      ...(headers && { headers }),
    });
  }
  if (err instanceof z.core.$ZodError) return validationError(err);
  if (err instanceof AuthError) {
    const tokenProblem = err.code === 'invalid_token' || err.code === 'token_expired';
    return new ApiError(401, err.code, authMessages[err.code], undefined, {
      // RFC 6750 §3: a 401 names the scheme, and says when the token itself is the problem.
      headers: { 'WWW-Authenticate': tokenProblem ? 'Bearer error="invalid_token"' : 'Bearer' },
      cause: err,
    });
  }
  // The user spent a command budget (command-rate-limits.ts). The wait is in
  // the details too: a WebSocket ERROR frame has no Retry-After header.
  if (err instanceof CommandRateLimited) {
    return new ApiError(
      429,
      'rate_limited',
      err.message,
      { retry_after_s: err.retryAfterS },
      {
        headers: { 'Retry-After': String(Math.max(1, err.retryAfterS)) },
        cause: err,
      },
    );
  }
  // The command bus gave up waiting for an outcome (PARLEY_COMMAND_TIMEOUT_MS). The
  // command may still be applied; a retry with the same command id is safe, so 503.
  if (err instanceof CommandTimeout) {
    return new ApiError(503, 'unavailable', 'the command was not confirmed in time; retry it', undefined, {
      headers: { 'Retry-After': '1' },
      cause: err,
    });
  }
  // The command took effect but the read model has not shown it in time (a
  // projector behind or its database away): the client may read again shortly.
  if (err instanceof ReadModelLagging) {
    return new ApiError(503, 'read_model_lagging', 'the change was accepted; it is not readable yet, retry the read', undefined, {
      headers: { 'Retry-After': '1' },
      cause: err,
    });
  }
  // A dependency is unreachable (database, cache, the pre-send hook failing closed): a passing outage, not a bug.
  if (isUnavailableDependency(err) || err instanceof PreSendHookUnavailable) {
    return new ApiError(503, 'unavailable', 'a service Parley depends on is unavailable; retry shortly', undefined, {
      headers: { 'Retry-After': '2' },
      cause: err,
    });
  }
  if (isExposedHttpError(err)) {
    return new ApiError(err.status, statusCodes[err.status] ?? 'bad_request', err.message, undefined, { cause: err });
  }
  return internalError(err);
}

// Helpers for the errors routes raise most often.

export const internalError = (cause?: unknown): ApiError => new ApiError(500, 'internal', 'internal error', undefined, { cause });

export const notFound = (message = 'not found', code = 'not_found'): ApiError => new ApiError(404, code, message);

export const unauthorized = (message = 'authentication required'): ApiError =>
  new ApiError(401, 'unauthorized', message, undefined, { headers: { 'WWW-Authenticate': 'Bearer' } });

export const forbidden = (message = 'forbidden'): ApiError => new ApiError(403, 'forbidden', message);

export const conflict = (code: string, message: string, details?: unknown): ApiError => new ApiError(409, code, message, details);

export const methodNotAllowed = (allowed: readonly string[]): ApiError =>
  new ApiError(405, 'method_not_allowed', 'method not allowed', undefined, { headers: { Allow: allowed.join(', ') } });

export const payloadTooLarge = (limitBytes: number): ApiError =>
  new ApiError(413, 'payload_too_large', `request body exceeds ${limitBytes} bytes`);

export const unsupportedMediaType = (): ApiError =>
  new ApiError(415, 'unsupported_media_type', 'request body must be application/json (utf-8)');

export const invalidJson = (message = 'request body is not valid JSON'): ApiError => new ApiError(400, 'invalid_json', message);

/** 429 with `Retry-After` in whole seconds (at least 1). */
export const tooManyRequests = (retryAfterSeconds: number, message = 'too many requests'): ApiError =>
  new ApiError(429, 'rate_limited', message, undefined, {
    headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
