// File storage on this server's disk, for the embedded mode: the same signed
// direct-upload flow as Cloudinary, with this server as the storage.
//
//   sign    → upload_url = POST /api/v1/uploads/local/<upload_id>, and fields
//             (user, purpose, mime type, size, expiry) with an HMAC over them.
//             The client sends the raw bytes there, the fields as query
//             parameters and `Content-Type: <mime_type>`; no Authorization: the
//             signature is the permission, as Cloudinary's is.
//   upload  → checked against the signed fields (type, size, content, expiry),
//             written once to <PARLEY_DATA_DIR>/uploads/<user>/<purpose>/<id>.<ext>,
//             then announced through a signed notification handed to the same
//             receiver as the webhook: one flow makes uploads ready, whatever
//             the adapter.
//   serve   → GET /uploads/<user>/<purpose>/<id>.<ext>, nosniff, and as a
//             download for anything that is not an image.
//
// One key (HMAC-SHA256, kept in <PARLEY_DATA_DIR>/upload-signing-key like the
// JWT key) signs both upload fields and notifications, under different
// prefixes so one can never pass for the other. The two endpoints are
// local-storage-routes.ts's; this module has no HTTP in it.

import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { createFileOnce, loadOrCreateSecret } from '../infra/durable-files.ts';
import { MEDIA_TYPES, isMediaTypeName, mediaTypeOfExt, type MediaTypeName } from '../media-types.ts';
import {
  publicIdOf,
  signatureMatches,
  uploadPurposes,
  verifySignedNotification,
  type FileStorage,
  type SignRequest,
  type SignedUpload,
  type StorageNotification,
  type StoredAsset,
  type UploadPurpose,
} from './storage.ts';

export const UPLOAD_KEY_FILE = 'upload-signing-key';
export const UPLOADS_DIR = 'uploads';

/** Headers of a local notification (Cloudinary's X-Cld-* carry the same two values). */
export const LOCAL_SIGNATURE_HEADER = 'x-parley-signature';
export const LOCAL_TIMESTAMP_HEADER = 'x-parley-timestamp';

// Domain separation: an upload signature is never a valid notification signature.
const UPLOAD_PREFIX = 'parley-upload-v1\n';
const NOTIFY_PREFIX = 'parley-notify-v1\n';

export interface LocalStorageOptions {
  /** PARLEY_DATA_DIR: the key and the files live under it. */
  dataDir: string;
  /**
   * The origin upload and file URLs point at (config.ts `publicOrigin`:
   * PARLEY_PUBLIC_URL, or the listening address — never a request's Host).
   * Asked at each use: the listening port is known only once the server listens.
   */
  origin: () => string;
  /** PARLEY_UPLOAD_TTL_S: how long a signed upload URL works. */
  ttlS: number;
  /** PARLEY_UPLOAD_NOTIFY_MAX_AGE_S. */
  notifyMaxAgeS: number;
  /** Epoch ms; tests move it. */
  now?: () => number;
}

/**
 * The local store, with what its HTTP endpoints (local-storage-routes.ts) need
 * beside the port: checking an upload URL, storing a file once, finding one.
 */
export interface LocalStorage extends FileStorage {
  readonly provider: 'local';
  /** Signs a notification body as the upload route does (tests use it to play the webhook). */
  signNotification(rawBody: Buffer, now: number): Record<string, string>;
  /** Epoch ms (tests move it). */
  now(): number;
  /** The signed fields of an upload URL, or why it is refused (unsigned, tampered, another upload's). */
  checkUploadUrl(
    uploadId: string,
    query: Record<string, string | string[] | undefined>,
  ): { fields: UploadFields } | { refused: string };
  /** Stores an upload's bytes under its public id; null when that upload id was already used. */
  storeOnce(uploadId: string, fields: UploadFields, body: Buffer, now: number): Promise<StoredAsset | null>;
  /** A stored file's path and type, for a name of the form Parley issues; undefined for any other name. */
  storedFile(userId: string, purpose: string, file: string): { path: string; type: MediaTypeName } | undefined;
}

/** The signed fields of a local upload, as they travel in the query string. */
export interface UploadFields {
  user_id: string;
  purpose: UploadPurpose;
  mime_type: MediaTypeName;
  bytes: string;
  expires_at: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function createLocalStorage(options: LocalStorageOptions): Promise<LocalStorage> {
  const key = await loadOrCreateSecret(path.join(options.dataDir, UPLOAD_KEY_FILE));
  const root = path.join(options.dataDir, UPLOADS_DIR);
  const clock = options.now ?? Date.now;
  const hmac = (prefix: string, ...parts: (string | Buffer)[]) => {
    const mac = crypto.createHmac('sha256', key).update(prefix);
    for (const part of parts) mac.update(part);
    return mac.digest('hex');
  };
  const uploadSignature = (uploadId: string, fields: UploadFields) =>
    hmac(UPLOAD_PREFIX, [uploadId, fields.user_id, fields.purpose, fields.mime_type, fields.bytes, fields.expires_at].join('\n'));
  const notificationSignature = (timestamp: string, rawBody: Buffer) => hmac(NOTIFY_PREFIX, timestamp, '\n', rawBody);

  const storage: LocalStorage = {
    provider: 'local',

    sign(request: SignRequest): SignedUpload {
      const expiresAt = request.now + options.ttlS * 1000;
      const fields: UploadFields = {
        user_id: request.userId,
        purpose: request.purpose,
        mime_type: request.mimeType,
        bytes: String(request.bytes),
        expires_at: String(expiresAt),
      };
      return {
        provider: 'local',
        upload_url: `${options.origin()}/api/v1/uploads/local/${request.uploadId}`,
        fields: { ...fields, signature: uploadSignature(request.uploadId, fields) },
        upload_id: request.uploadId,
        expires_at: expiresAt,
      };
    },

    verifyNotification(rawBody: Buffer | undefined, headers: IncomingHttpHeaders, now: number): StorageNotification {
      return verifySignedNotification(rawBody, headers, now, {
        signatureHeader: LOCAL_SIGNATURE_HEADER,
        timestampHeader: LOCAL_TIMESTAMP_HEADER,
        maxAgeS: options.notifyMaxAgeS,
        expected: notificationSignature,
      });
    },

    publicUrl(asset: StoredAsset): string {
      return `${options.origin()}/${UPLOADS_DIR}/${asset.publicId.replace(/^parley\//, '')}.${asset.format}`;
    },

    // An avatar's file was already resized when it came (local-storage-routes.ts).
    deliveryUrl: (notification) => notification.url,

    signNotification(rawBody: Buffer, now: number): Record<string, string> {
      const timestamp = String(Math.floor(now / 1000));
      return { [LOCAL_TIMESTAMP_HEADER]: timestamp, [LOCAL_SIGNATURE_HEADER]: notificationSignature(timestamp, rawBody) };
    },

    now: clock,

    checkUploadUrl(uploadId, query) {
      const one = (name: string) => {
        const value = query[name];
        return typeof value === 'string' ? value : undefined;
      };
      const [userId, purpose, mimeType, bytes, expiresAt, signature] = [
        'user_id',
        'purpose',
        'mime_type',
        'bytes',
        'expires_at',
        'signature',
      ].map(one);
      if (
        !UUID.test(uploadId) ||
        userId === undefined ||
        !UUID.test(userId) ||
        purpose === undefined ||
        !(uploadPurposes as readonly string[]).includes(purpose) ||
        mimeType === undefined ||
        !isMediaTypeName(mimeType) ||
        bytes === undefined ||
        !/^[1-9][0-9]{0,15}$/.test(bytes) ||
        expiresAt === undefined ||
        !/^[1-9][0-9]{0,15}$/.test(expiresAt) ||
        signature === undefined
      ) {
        return { refused: 'the upload URL is missing its signed fields' };
      }
      const fields: UploadFields = {
        user_id: userId,
        purpose: purpose as UploadPurpose,
        mime_type: mimeType,
        bytes,
        expires_at: expiresAt,
      };
      if (!signatureMatches(signature, uploadSignature(uploadId, fields)))
        return { refused: 'the upload signature does not match' };
      return { fields };
    },

    async storeOnce(uploadId, fields, body, now) {
      const media = MEDIA_TYPES[fields.mime_type];
      const asset: StoredAsset = {
        publicId: publicIdOf({ userId: fields.user_id, purpose: fields.purpose, uploadId }),
        format: media.ext,
        resourceType: media.resourceType,
        version: Math.floor(now / 1000),
      };
      // Written once: a second upload to the same id (a reused signature) is refused, never a replacement.
      const file = path.join(root, fields.user_id, fields.purpose, `${uploadId}.${media.ext}`);
      return (await createFileOnce(file, body)) ? asset : null;
    },

    storedFile(userId, purpose, file) {
      const [id, ext, ...rest] = file.split('.');
      const type = ext === undefined ? undefined : mediaTypeOfExt(ext);
      const valid =
        UUID.test(userId) &&
        (uploadPurposes as readonly string[]).includes(purpose) &&
        UUID.test(id ?? '') &&
        rest.length === 0 &&
        type !== undefined;
      return valid ? { path: path.join(root, userId, purpose, file), type } : undefined;
    },
  };

  return storage;
}
