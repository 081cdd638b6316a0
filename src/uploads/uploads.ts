// The upload records and the one flow that makes an upload ready. Uploads are
// not chat events: nothing in the log describes them and no projection builds
// this table, so the functions here read and write the `uploads` table
// directly (migrations/0004_uploads.ts).
//
//   sign          → a `pending` row, the size and type the user asked for
//   notification  → verified by the storage adapter (signature over the raw
//                   body, freshness), then matched to its row by public id;
//                   the row becomes `ready` once, or `rejected` when the stored
//                   file breaks what was signed. A replay changes nothing (J3).
//                   An avatar signed with `set_avatar` then becomes the
//                   user's avatar_url (the profile command, as PATCH would).
//   message intake → `confirmedUpload` says whether a URL is a ready upload of
//                   this user (J6).

import type { IncomingHttpHeaders } from 'node:http';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Database, UploadsTable } from '../store/schema.ts';
import { MEDIA_TYPES, isMediaTypeName } from '../media-types.ts';
import { parsePublicId, type FileStorage, type NotificationOutcome, type UploadNotification } from './storage.ts';

export type UploadRow = UploadsTable;

/** What clients see of an upload (`GET /api/v1/uploads/:id`). */
export interface UploadView {
  upload_id: string;
  purpose: UploadRow['purpose'];
  room_id: string | null;
  mime_type: string;
  bytes: number;
  status: UploadRow['status'];
  url: string | null;
  /** An avatar that becomes the user's avatar_url once ready (signed with `set_avatar`). */
  set_avatar: boolean;
  created_at: number;
  expires_at: number;
}

export const uploadView = (row: UploadRow): UploadView => ({
  upload_id: row.id,
  purpose: row.purpose,
  room_id: row.room_id,
  mime_type: row.mime_type,
  bytes: row.bytes,
  status: row.status,
  url: row.url,
  set_avatar: row.sets_avatar === 1,
  created_at: row.created_at,
  expires_at: row.expires_at,
});

export async function recordSignedUpload(db: Kysely<Database>, row: UploadRow): Promise<void> {
  await db.insertInto('uploads').values(row).execute();
}

/** One of the user's uploads; undefined when there is none with that id or it is someone else's. */
export async function findUpload(db: Kysely<Database>, userId: string, uploadId: string): Promise<UploadRow | undefined> {
  return db.selectFrom('uploads').selectAll().where('id', '=', uploadId).where('user_id', '=', userId).executeTakeFirst();
}

/** A ready upload, as message intake needs it to check an attachment. */
export interface ConfirmedUpload {
  upload_id: string;
  purpose: UploadRow['purpose'];
  /** The room an attachment was signed for: intake should refuse it in another room. */
  room_id: string | null;
  mime_type: string;
  /** The stored size. */
  bytes: number;
  url: string;
}

/**
 * The ready upload of `userId` delivered at `url`, or undefined: a URL nobody
 * uploaded through us, one whose notification has not arrived, or another
 * user's file (J6). Message intake should refuse an attachment then, and take
 * `mime_type` and `bytes` from here rather than from the client.
 */
export async function confirmedUpload(db: Kysely<Database>, userId: string, url: string): Promise<ConfirmedUpload | undefined> {
  const row = await db
    .selectFrom('uploads')
    .select(['id', 'purpose', 'room_id', 'mime_type', 'bytes', 'url'])
    .where('user_id', '=', userId)
    .where('status', '=', 'ready')
    .where('url', '=', url)
    .executeTakeFirst();
  // Exactly the URL issued: MySQL's collation compares case- and trailing-space-insensitively.
  if (row === undefined || row.url !== url) return undefined;
  return {
    upload_id: row.id,
    purpose: row.purpose,
    room_id: row.room_id,
    mime_type: row.mime_type,
    bytes: row.bytes,
    url: row.url,
  };
}

export interface NotificationFlowOptions {
  db: Kysely<Database>;
  storage: FileStorage;
  /** Epoch ms. */
  now: () => number;
  /** Makes a ready avatar the user's avatar_url (the profile command). */
  setAvatar: (userId: string, url: string) => Promise<void>;
}

/**
 * The receiver both the webhook and the local upload route hand notifications
 * to. Throws `NotificationRejected` (→ 401) for an untrusted one; otherwise
 * says what it did.
 */
export function notificationReceiver(options: NotificationFlowOptions) {
  const { db, storage, now } = options;
  /**
   * Best effort: the upload is ready whatever happens here. When the profile
   * command fails (the log unavailable), avatar_url stays as it was and the
   * client can still set it (PATCH /api/v1/users/me).
   */
  const setAvatarOf = async (userId: string, url: string, log: Logger) => {
    try {
      await options.setAvatar(userId, url);
    } catch (error) {
      log.warn({ err: error, user_id: userId }, 'ready avatar not set as the avatar');
    }
  };
  return async (rawBody: Buffer | undefined, headers: IncomingHttpHeaders, log: Logger): Promise<NotificationOutcome> => {
    const notification = storage.verifyNotification(rawBody, headers, now());
    if (notification.type !== 'upload') {
      log.info({ notification_type: notification.notificationType }, 'storage notification ignored');
      return 'ignored';
    }
    const { outcome, ready } = await applyUpload(db, storage, notification, now());
    if (ready?.sets_avatar === 1 && ready.url !== null) await setAvatarOf(ready.user_id, ready.url, log);
    const logged = { public_id: notification.publicId, asset_id: notification.assetId, version: notification.version, outcome };
    if (outcome === 'processed' || outcome === 'duplicate') log.info(logged, 'upload notification');
    else log.warn(logged, 'upload notification not applied');
    return outcome;
  };
}

/** What a notification did; `ready`: the row it just made ready. */
interface Applied {
  outcome: NotificationOutcome;
  ready?: UploadRow;
}

async function applyUpload(db: Kysely<Database>, storage: FileStorage, n: UploadNotification, now: number): Promise<Applied> {
  const ids = parsePublicId(n.publicId);
  if (ids === undefined) return { outcome: 'ignored' }; // not a public id we issued
  const row = await db.selectFrom('uploads').selectAll().where('id', '=', ids.uploadId).executeTakeFirst();
  // The folder in the public id must be the one we signed for this upload.
  if (row === undefined || row.user_id !== ids.userId || row.purpose !== ids.purpose) return { outcome: 'ignored' };

  if (row.status !== 'pending') return { outcome: sameAsset(row, n) ? 'duplicate' : 'ignored' };

  const fits = fitsSigned(row, n);
  const ready = {
    status: fits ? ('ready' as const) : ('rejected' as const),
    url: fits ? storage.deliveryUrl(n, row.purpose) : null,
    bytes: fits ? n.bytes : row.bytes,
    asset_id: n.assetId,
    version: n.version,
    completed_at: now,
  };
  // Only a pending row changes, so two deliveries racing apply once.
  const result = await db
    .updateTable('uploads')
    .set(ready)
    .where('id', '=', row.id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) {
    const current = await db.selectFrom('uploads').selectAll().where('id', '=', row.id).executeTakeFirst();
    return { outcome: current !== undefined && sameAsset(current, n) ? 'duplicate' : 'ignored' };
  }
  return fits ? { outcome: 'processed', ready: { ...row, ...ready } } : { outcome: 'rejected' };
}

const sameAsset = (row: UploadRow, n: UploadNotification): boolean =>
  row.asset_id === n.assetId && row.version !== null && row.version === n.version;

/** The stored file is no bigger than signed and of the signed format (raw files have none). */
function fitsSigned(row: UploadRow, n: UploadNotification): boolean {
  if (n.bytes > row.bytes || n.bytes === 0) return false;
  if (!isMediaTypeName(row.mime_type)) return false;
  const media = MEDIA_TYPES[row.mime_type];
  return media.resourceType === 'raw' || n.format === media.ext;
}
