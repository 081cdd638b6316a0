// File storage on Cloudinary: signed direct uploads and the upload
// notification webhook. The browser posts the file straight to Cloudinary with
// the fields we sign; Cloudinary then calls `notification_url` with a body
// signed by our API secret, and only that call makes the upload ready.
//
// Signing (https://cloudinary.com/documentation/authentication_signatures):
// every upload parameter except file, cloud_name, resource_type and api_key,
// sorted, as `key=value&…`, then the API secret, hashed with SHA-1 (or SHA-256
// when the account is set to it: `CLOUDINARY_URL=…?signature_algorithm=sha256`).
// We let the SDK build that string (it also escapes `&` in values). We sign
// only the parameters in SIGNED_PARAMS, each chosen by us (J4): the public id
// (folder from the user id), the formats, the callback, no overwrite. A client
// cannot add one (say `eager` or `type=authenticated`) without breaking the
// signature, and Cloudinary ends a signature's validity 1 h after its timestamp.
//
// Avatars are delivered through a transformation URL (a square of
// PARLEY_AVATAR_SIZE_PX, quality and format chosen for the viewer's browser):
// the stored original is never shown as an avatar.
//
// Notifications (https://cloudinary.com/documentation/notification_signatures):
// X-Cld-Signature = hex(SHA-1/256(raw body + X-Cld-Timestamp + API secret)).
// Computed here over the raw bytes (the SDK's helper takes a string and reads
// the secret from its global config), compared in constant time, and refused
// when the timestamp is further than PARLEY_UPLOAD_NOTIFY_MAX_AGE_S from now.

import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { v2 as cloudinary } from 'cloudinary';
import { MEDIA_TYPES } from '../media-types.ts';
import {
  publicIdOf,
  verifySignedNotification,
  type FileStorage,
  type SignRequest,
  type SignedUpload,
  type StorageNotification,
  type StoredAsset,
  type UploadNotification,
  type UploadPurpose,
} from './storage.ts';

/** The only parameters this adapter ever signs. `timestamp` is added by `sign`. */
export const SIGNED_PARAMS = ['allowed_formats', 'notification_url', 'overwrite', 'public_id', 'timestamp'] as const;
type SignedParams = Record<(typeof SIGNED_PARAMS)[number], string>;

/** Cloudinary's fixed validity of an upload signature, from its timestamp. */
export const CLOUDINARY_SIGNATURE_TTL_S = 3600;

export type SignatureAlgorithm = 'sha1' | 'sha256';

export interface CloudinaryCredentials {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  signatureAlgorithm: SignatureAlgorithm;
}

/** Reads `cloudinary://key:secret@cloud[?signature_algorithm=sha256]`. Errors never quote the URL (it holds the secret). */
export function parseCloudinaryUrl(value: string): CloudinaryCredentials {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('CLOUDINARY_URL is not a URL; expected cloudinary://api_key:api_secret@cloud_name');
  }
  if (url.protocol !== 'cloudinary:' || url.username === '' || url.password === '' || url.hostname === '') {
    throw new Error('CLOUDINARY_URL must look like cloudinary://api_key:api_secret@cloud_name');
  }
  const algorithm = url.searchParams.get('signature_algorithm') ?? 'sha1';
  if (algorithm !== 'sha1' && algorithm !== 'sha256') {
    throw new Error('CLOUDINARY_URL: signature_algorithm must be sha1 or sha256');
  }
  // As the SDK reads it: user info as written, the host as the cloud name.
  return { cloudName: url.hostname, apiKey: url.username, apiSecret: url.password, signatureAlgorithm: algorithm };
}

// The SDK's typings declare two parameters; the function takes the algorithm and
// the string-to-sign version too, which we pass so nothing comes from its global config.
const apiSignRequest = cloudinary.utils.api_sign_request as unknown as (
  params: Record<string, string>,
  apiSecret: string,
  algorithm: SignatureAlgorithm,
  signatureVersion: number,
) => string;

/** The string-to-sign version the SDK uses by default (escapes `&` in values). */
const SIGNATURE_VERSION = 2;

export interface CloudinaryStorageOptions {
  /** CLOUDINARY_URL. */
  url: string;
  /** PARLEY_PUBLIC_URL: Cloudinary calls `<publicUrl>/api/v1/uploads/notify`. Required. */
  publicUrl: string | undefined;
  /** PARLEY_UPLOAD_NOTIFY_MAX_AGE_S. */
  notifyMaxAgeS: number;
  /** PARLEY_AVATAR_SIZE_PX: avatars are delivered as this square. */
  avatarSizePx: number;
}

export function createCloudinaryStorage(options: CloudinaryStorageOptions): FileStorage {
  const credentials = parseCloudinaryUrl(options.url);
  if (options.publicUrl === undefined) {
    throw new Error('CLOUDINARY_URL is set but PARLEY_PUBLIC_URL is not: Cloudinary needs it to send upload notifications');
  }
  const notificationUrl = `${options.publicUrl}/api/v1/uploads/notify`;
  const { cloudName, apiKey, apiSecret, signatureAlgorithm } = credentials;

  return {
    provider: 'cloudinary',

    sign(request: SignRequest): SignedUpload {
      const media = MEDIA_TYPES[request.mimeType];
      const timestamp = Math.floor(request.now / 1000);
      const params: SignedParams = {
        allowed_formats: media.ext,
        notification_url: notificationUrl,
        overwrite: '0', // as the SDK sends `false`: a public id is written once
        public_id: publicIdOf(request),
        timestamp: String(timestamp),
      };
      const signature = apiSignRequest(params, apiSecret, signatureAlgorithm, SIGNATURE_VERSION);
      return {
        provider: 'cloudinary',
        upload_url: cloudinary.utils.api_url('upload', { cloud_name: cloudName, resource_type: media.resourceType }),
        fields: { ...params, api_key: apiKey, signature },
        upload_id: request.uploadId,
        expires_at: (timestamp + CLOUDINARY_SIGNATURE_TTL_S) * 1000,
      };
    },

    verifyNotification(rawBody: Buffer | undefined, headers: IncomingHttpHeaders, now: number): StorageNotification {
      return verifySignedNotification(rawBody, headers, now, {
        signatureHeader: 'x-cld-signature',
        timestampHeader: 'x-cld-timestamp',
        maxAgeS: options.notifyMaxAgeS,
        expected: (timestamp, body) => notificationSignature(body, timestamp, apiSecret, signatureAlgorithm),
      });
    },

    publicUrl,

    deliveryUrl(notification: UploadNotification, purpose: UploadPurpose): string {
      if (purpose !== 'avatar') return notification.url;
      return publicUrl(
        { publicId: notification.publicId, version: notification.version, format: notification.format, resourceType: 'image' },
        [
          // The square around what matters in the picture (a face, say), then
          // the quality and format that suit the viewer's browser.
          { width: options.avatarSizePx, height: options.avatarSizePx, crop: 'fill', gravity: 'auto' },
          { quality: 'auto', fetch_format: 'auto' },
        ],
      );
    },
  };

  function publicUrl(asset: StoredAsset, transformation?: object[]): string {
    return cloudinary.url(asset.publicId, {
      cloud_name: cloudName,
      secure: true,
      resource_type: asset.resourceType,
      type: 'upload',
      version: asset.version,
      format: asset.format,
      ...(transformation === undefined ? {} : { transformation }),
      urlAnalytics: false, // no SDK tracking parameter on our URLs
    });
  }
}

/** hex(hash(raw body ‖ timestamp ‖ secret)), as Cloudinary signs a notification. */
export function notificationSignature(
  rawBody: Buffer,
  timestamp: string,
  apiSecret: string,
  algorithm: SignatureAlgorithm,
): string {
  return crypto.createHash(algorithm).update(rawBody).update(timestamp).update(apiSecret).digest('hex');
}
