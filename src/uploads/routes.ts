// Upload routes (API.md "Uploads"):
//   POST /api/v1/uploads/sign    (auth, rate limited) → a signed direct upload
//   POST /api/v1/uploads/notify  (no auth: the storage's signature is checked) → 200
//   GET  /api/v1/uploads/:id     (auth, owner only) → the upload and its status
// plus whatever endpoints the storage adapter serves itself (the local
// adapter's upload target and files). These routers are mounted before the JSON
// body parser (`rawBodyRouters`): the webhook's signature covers its raw bytes,
// so it is verified before anything parses them, and the local upload target
// takes a file, not JSON. `sign` parses its JSON body itself.

import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import type { Kysely } from 'kysely';
import type { Middleware } from 'koa';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { Rejection } from '../domain/decider.ts';
import { requireRoomInTokenScope, userIdOf, type AppState } from '../http/auth-middleware.ts';
import { jsonBody, readBody } from '../http/body.ts';
import { ApiError, tooManyRequests } from '../http/errors.ts';
import { uuid } from '../commands/inputs.ts';
import { parseBody, parseParams, strictObject } from '../http/validate.ts';
import { roomReads, type RoomReads } from '../queries/room-reads.ts';
import type { Database } from '../store/schema.ts';
import type { MediaTypeName } from '../media-types.ts';
import type { RateLimiter } from '../infra/rate-limiter.ts';
import { NotificationRejected, uploadPurposes, type FileStorage, type NotificationReceiver } from './storage.ts';
import { findUpload, notificationReceiver, recordSignedUpload, uploadView } from './uploads.ts';

type UploadConfig = Pick<
  Config,
  | 'PARLEY_MAX_BODY_BYTES'
  | 'PARLEY_UPLOAD_AVATAR_TYPES'
  | 'PARLEY_UPLOAD_ATTACHMENT_TYPES'
  | 'PARLEY_UPLOAD_AVATAR_MAX_BYTES'
  | 'PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES'
  | 'PARLEY_UPLOAD_SIGN_MAX'
  | 'PARLEY_UPLOAD_SIGN_WINDOW_S'
>;

export interface UploadRoutesOptions {
  config: UploadConfig;
  db: Kysely<Database>;
  /** Membership, cached when the server has a read cache; without: from `db`. */
  rooms?: RoomReads;
  storage: FileStorage;
  limiter: RateLimiter;
  requireUser: Middleware<AppState>;
  /**
   * Endpoints the storage adapter serves itself (the local store: its upload
   * target and the files, local-storage-routes.ts). Mounted beside these; a
   * finished upload goes to `receive`, the same flow as the notification webhook.
   */
  storageRoutes?: (receive: NotificationReceiver) => Router<AppState>;
  /** Makes a ready avatar upload the user's avatar_url (for uploads signed with `set_avatar`). */
  setAvatar: (userId: string, url: string) => Promise<void>;
  /** Epoch ms; tests move it. */
  now?: () => number;
}

/** The upload routers, for `rawBodyRouters` of the HTTP app. */
export function uploadRoutes(options: UploadRoutesOptions): Router<AppState>[] {
  const { config, db, storage, limiter, requireUser } = options;
  const rooms = options.rooms ?? roomReads(db);
  const now = options.now ?? Date.now;
  const receive: NotificationReceiver = notificationReceiver({ db, storage, now, setAvatar: options.setAvatar });
  const signBody = uploadSignBody(config);
  const router = new Router<AppState>({ prefix: '/api/v1/uploads' });

  const rateLimit: Middleware<AppState> = async (ctx, next) => {
    const decision = await limiter.hit(
      `upload-sign:${userIdOf(ctx)}`,
      config.PARLEY_UPLOAD_SIGN_MAX,
      config.PARLEY_UPLOAD_SIGN_WINDOW_S,
    );
    if (!decision.allowed) throw tooManyRequests(decision.retryAfterS, 'too many upload signatures; try again later');
    await next();
  };

  router.post('/sign', requireUser, rateLimit, jsonBody({ maxBytes: config.PARLEY_MAX_BODY_BYTES }), async (ctx) => {
    const userId = userIdOf(ctx);
    const body = parseBody(ctx, signBody);
    // A bot's token limited to some rooms uploads only attachments for them.
    requireRoomInTokenScope(ctx, body.purpose === 'attachment' ? body.room_id : undefined);
    // A room the user is not in looks like no room at all.
    if (body.room_id !== undefined && !(await rooms.isMember(body.room_id, userId))) {
      throw new Rejection('room_not_found', 'room not found');
    }
    const uploadId = randomUUID(); // random, not time-ordered: it ends up in a public file URL
    const signedAt = now();
    const signed = storage.sign({
      uploadId,
      userId,
      purpose: body.purpose,
      mimeType: body.mime_type,
      bytes: body.bytes,
      now: signedAt,
    });
    await recordSignedUpload(db, {
      id: uploadId,
      user_id: userId,
      purpose: body.purpose,
      room_id: body.room_id ?? null,
      mime_type: body.mime_type,
      bytes: body.bytes,
      provider: storage.provider,
      status: 'pending',
      url: null,
      asset_id: null,
      version: null,
      created_at: signedAt,
      expires_at: signed.expires_at,
      completed_at: null,
      sets_avatar: body.set_avatar === true ? 1 : 0,
    });
    ctx.body = signed;
  });

  router.post('/notify', async (ctx) => {
    const rawBody = await readBody(ctx.req, config.PARLEY_MAX_BODY_BYTES);
    try {
      ctx.body = { status: await receive(rawBody, ctx.req.headers, ctx.state.log) };
    } catch (error) {
      if (!(error instanceof NotificationRejected)) throw error;
      ctx.state.log.warn({ reason: error.message }, 'storage notification refused');
      throw new ApiError(401, 'invalid_signature', 'the notification signature is missing, invalid or stale');
    }
  });

  router.get('/:id', requireUser, async (ctx) => {
    const { id } = parseParams(ctx, z.strictObject({ id: uuid }));
    const row = await findUpload(db, userIdOf(ctx), id);
    if (row === undefined) throw new ApiError(404, 'upload_not_found', 'upload not found');
    ctx.body = uploadView(row);
  });

  const adapterRoutes = options.storageRoutes?.(receive);
  return adapterRoutes === undefined ? [router] : [router, adapterRoutes];
}

/** The sign request: purpose, type and size checked against the configured allow-lists and limits. */
export function uploadSignBody(config: UploadConfig) {
  const rules = {
    avatar: { types: config.PARLEY_UPLOAD_AVATAR_TYPES as readonly string[], maxBytes: config.PARLEY_UPLOAD_AVATAR_MAX_BYTES },
    attachment: {
      types: config.PARLEY_UPLOAD_ATTACHMENT_TYPES as readonly string[],
      maxBytes: config.PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES,
    },
  };
  return strictObject({
    purpose: z.enum(uploadPurposes),
    room_id: uuid.optional(),
    mime_type: z
      .string()
      .max(100)
      .transform((value) => value.trim().toLowerCase()),
    bytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
    /** An avatar that becomes the user's avatar_url as soon as it is ready. */
    set_avatar: z.boolean().optional(),
  })
    .superRefine((body, ctx) => {
      const rule = rules[body.purpose];
      if (!rule.types.includes(body.mime_type)) {
        ctx.addIssue({
          code: 'custom',
          path: ['mime_type'],
          message: `must be one of ${rule.types.join(', ')} for ${body.purpose}`,
        });
      }
      if (body.bytes > rule.maxBytes) {
        ctx.addIssue({ code: 'custom', path: ['bytes'], message: `must be at most ${rule.maxBytes} for ${body.purpose}` });
      }
      if (body.purpose === 'attachment' && body.room_id === undefined) {
        ctx.addIssue({ code: 'custom', path: ['room_id'], message: 'is required for an attachment' });
      }
      if (body.purpose === 'avatar' && body.room_id !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['room_id'], message: 'is only for attachments' });
      }
      if (body.purpose !== 'avatar' && body.set_avatar !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['set_avatar'], message: 'is only for avatars' });
      }
    })
    .transform((body) => ({ ...body, mime_type: body.mime_type as MediaTypeName }));
}
