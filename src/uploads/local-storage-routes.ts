// The HTTP endpoints of the local file store (local-storage.ts): the upload
// target a signed upload URL points at, and the stored files.
//
//   POST /api/v1/uploads/local/:upload_id   the raw bytes; the signed fields in
//        the query string and `Content-Type: <mime_type>`. Checked against the
//        signed fields (type, size, content, expiry), an avatar resized
//        (avatar-image.ts), written once, then announced through a signed
//        notification to the same receiver as the webhook.
//   GET  /uploads/:user_id/:purpose/:file   nosniff, sandboxed, and a download
//        for anything that is not an image.

import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Router } from '@koa/router';
import type { AppState } from '../http/auth-middleware.ts';
import { closing, readBody } from '../http/body.ts';
import { ApiError, notFound } from '../http/errors.ts';
import type { LocalStorage } from './local-storage.ts';
import { MEDIA_TYPES, type MediaTypeName } from '../media-types.ts';
import { isAvatarImage, optimiseAvatar } from './avatar-image.ts';
import type { NotificationReceiver } from './storage.ts';

/** Stored files never change (a new upload is a new id), so caches may keep them. */
const FILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export function localStorageRoutes(
  storage: LocalStorage,
  receive: NotificationReceiver,
  options: {
    /** PARLEY_AVATAR_SIZE_PX: avatars are stored as this square (avatar-image.ts). */
    avatarSizePx: number;
  },
): Router<AppState> {
  const router = new Router<AppState>();

  router.post('/api/v1/uploads/local/:upload_id', async (ctx) => {
    const uploadId = String(ctx.params.upload_id);
    const checked = storage.checkUploadUrl(uploadId, ctx.query);
    if ('refused' in checked) throw closing(new ApiError(403, 'invalid_upload_signature', checked.refused));
    const { fields } = checked;
    const now = storage.now();
    if (Number(fields.expires_at) <= now)
      throw closing(new ApiError(403, 'upload_expired', 'this upload URL has expired; sign again'));
    const media = MEDIA_TYPES[fields.mime_type];
    if (mediaTypeOf(ctx.get('Content-Type')) !== fields.mime_type) {
      throw closing(new ApiError(415, 'unsupported_media_type', `Content-Type must be ${fields.mime_type}, as signed`));
    }
    const maxBytes = Number(fields.bytes);
    const declared = ctx.get('Content-Length');
    if (declared !== '' && Number(declared) > maxBytes) {
      throw closing(new ApiError(413, 'payload_too_large', `the file exceeds the signed ${maxBytes} bytes`));
    }
    const received = await readBody(ctx.req, maxBytes);
    if (received.length === 0) throw new ApiError(400, 'empty_upload', 'the upload has no content');
    if (!media.matches(received)) {
      throw new ApiError(415, 'unsupported_media_type', `the file's content is not ${fields.mime_type}`);
    }
    const body = fields.purpose === 'avatar' ? await asAvatar(received, fields.mime_type, maxBytes) : received;

    const asset = await storage.storeOnce(uploadId, fields, body, now);
    if (asset === null) {
      throw new ApiError(409, 'upload_already_done', 'this upload was already received; sign again for another file');
    }
    const url = storage.publicUrl(asset);
    const notification = Buffer.from(
      JSON.stringify({
        notification_type: 'upload',
        public_id: asset.publicId,
        asset_id: uploadId,
        version: asset.version,
        bytes: body.length,
        format: asset.format,
        resource_type: asset.resourceType,
        secure_url: url,
        created_at: new Date(now).toISOString(),
      }),
    );
    const outcome = await receive(notification, storage.signNotification(notification, now), ctx.state.log);
    if (outcome !== 'processed' && outcome !== 'duplicate') {
      throw new ApiError(409, 'upload_not_accepted', 'the upload was stored but not accepted; sign again');
    }
    ctx.status = 201;
    ctx.body = { upload_id: uploadId, status: 'ready', url, mime_type: fields.mime_type, bytes: body.length };
  });

  /** The avatar as it is kept: resized and without metadata (kept as sent in the rare case that comes out bigger than signed). */
  async function asAvatar(file: Buffer, mimeType: MediaTypeName, maxBytes: number): Promise<Buffer> {
    if (!isAvatarImage(mimeType)) return file;
    let optimised: Buffer;
    try {
      optimised = await optimiseAvatar(file, mimeType, options.avatarSizePx);
    } catch {
      throw new ApiError(415, 'unsupported_media_type', `the file is not a readable ${mimeType} image`);
    }
    return optimised.length <= maxBytes ? optimised : file;
  }

  router.get('/uploads/:user_id/:purpose/:file', async (ctx) => {
    const file = String(ctx.params.file);
    const stored = storage.storedFile(String(ctx.params.user_id), String(ctx.params.purpose), file);
    if (stored === undefined) throw notFound('no such file');
    let stat: fs.Stats;
    try {
      stat = await fsp.stat(stored.path);
    } catch {
      throw notFound('no such file');
    }
    const media = MEDIA_TYPES[stored.type];
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.set('Cache-Control', FILE_CACHE_CONTROL);
    if (!media.inlineImage) ctx.set('Content-Disposition', `attachment; filename="${file}"`);
    ctx.type = stored.type === 'text/plain' ? 'text/plain; charset=utf-8' : stored.type;
    ctx.length = stat.size;
    ctx.body = fs.createReadStream(stored.path);
  });

  return router;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaTypeOf(header: string): string {
  return (header.split(';')[0] ?? '').trim().toLowerCase();
}
