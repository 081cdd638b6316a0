// The file storage port. Clients never send files through the API: they ask
// `POST /api/v1/uploads/sign` for a signed direct upload, send the bytes to the
// storage (Cloudinary, or this server's local upload route), and the storage
// then tells us through a signed notification that the file is there. Both
// adapters share that flow and the notification body's shape (Cloudinary's
// field names), so the code that turns a notification into a ready upload is
// written once (uploads.ts).
//
// Every stored file gets the public id `parley/<user_id>/<purpose>/<upload_id>`:
// the folder comes from the authenticated user, never from the client (J4).

import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MediaTypeName } from '../media-types.ts';

export const uploadPurposes = ['avatar', 'attachment'] as const;
export type UploadPurpose = (typeof uploadPurposes)[number];

export type StorageProvider = 'local' | 'cloudinary';

export interface SignRequest {
  uploadId: string;
  userId: string;
  purpose: UploadPurpose;
  mimeType: MediaTypeName;
  /** The size the client announced: the most the upload may be. */
  bytes: number;
  /** Epoch ms. */
  now: number;
}

/** What the client needs for a direct upload, as `POST /uploads/sign` returns it. */
export interface SignedUpload {
  provider: StorageProvider;
  /** Where the client sends the file. */
  upload_url: string;
  /** Parameters to send with it (Cloudinary: form fields; local: query parameters). All signed or public. */
  fields: Record<string, string>;
  upload_id: string;
  /** Epoch ms after which the storage refuses the upload. */
  expires_at: number;
}

/** A stored file, enough to build its delivery URL. */
export interface StoredAsset {
  publicId: string;
  format: string;
  resourceType: string;
  version: number;
}

/** A verified notification, reduced to what the upload flow acts on. */
export type StorageNotification =
  | {
      type: 'upload';
      publicId: string;
      /** The provider's id of the asset; with `version`, the key that makes a replay a no-op (J3). */
      assetId: string;
      version: number;
      bytes: number;
      format: string;
      url: string;
    }
  /** Any other kind (delete, rename, moderation…): verified, then acknowledged and ignored. */
  | { type: 'other'; notificationType: string };

export type UploadNotification = Extract<StorageNotification, { type: 'upload' }>;

export type NotificationOutcome = 'processed' | 'duplicate' | 'rejected' | 'ignored';

/** Hands a notification (raw body and headers, as received) to the shared upload flow. */
export type NotificationReceiver = (
  rawBody: Buffer | undefined,
  headers: IncomingHttpHeaders,
  log: Logger,
) => Promise<NotificationOutcome>;

export interface FileStorage {
  readonly provider: StorageProvider;
  /** Signs one direct upload. Only parameters this adapter chooses are signed, never client input as-is. */
  sign(request: SignRequest): SignedUpload;
  /**
   * Checks a notification's signature over the raw body and its freshness
   * (`now` in epoch ms), then parses it. Throws `NotificationRejected` when it is
   * unsigned, tampered, signed with another secret or stale.
   */
  verifyNotification(rawBody: Buffer | undefined, headers: IncomingHttpHeaders, now: number): StorageNotification;
  /** The URL a stored file is delivered from. */
  publicUrl(asset: StoredAsset): string;
  /**
   * The URL clients get for a ready upload: the notification's, or for an
   * avatar the optimised rendition (Cloudinary: a transformation URL; the
   * local store resized the file when it was uploaded).
   */
  deliveryUrl(notification: UploadNotification, purpose: UploadPurpose): string;
}

/** A notification that must not be trusted: 401. The reason is for the log, not the client. */
export class NotificationRejected extends Error {
  override name = 'NotificationRejected';
}

export const publicIdOf = (upload: { userId: string; purpose: UploadPurpose; uploadId: string }): string =>
  `parley/${upload.userId}/${upload.purpose}/${upload.uploadId}`;

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const PUBLIC_ID = new RegExp(`^parley/(${UUID})/(avatar|attachment)/(${UUID})$`);

/** The parts of a public id we issued; undefined for anything else. */
export function parsePublicId(publicId: string): { userId: string; purpose: UploadPurpose; uploadId: string } | undefined {
  const match = PUBLIC_ID.exec(publicId);
  if (match === null) return undefined;
  return { userId: match[1]!, purpose: match[2] as UploadPurpose, uploadId: match[3]! };
}

// The notification body: Cloudinary's field names, which the local adapter
// uses too. Providers add fields freely, so unknown ones are allowed here.
const uploadNotification = z.looseObject({
  notification_type: z.literal('upload'),
  public_id: z.string().max(1024),
  asset_id: z.string().min(1).max(128),
  version: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  format: z.string().max(32).default(''),
  secure_url: z.url({ protocol: /^https?$/ }).max(2048),
});
const anyNotification = z.looseObject({ notification_type: z.string().max(100) });

/** Parses a notification body whose signature was already verified; a malformed one is rejected too. */
function parseNotificationBody(rawBody: Buffer): StorageNotification {
  let value: unknown;
  try {
    value = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new NotificationRejected('notification body is not JSON');
  }
  const kind = anyNotification.safeParse(value);
  if (!kind.success) throw new NotificationRejected('notification without notification_type');
  if (kind.data.notification_type !== 'upload') return { type: 'other', notificationType: kind.data.notification_type };
  const upload = uploadNotification.safeParse(value);
  if (!upload.success) throw new NotificationRejected('upload notification with missing or malformed fields');
  const n = upload.data;
  return {
    type: 'upload',
    publicId: n.public_id,
    assetId: n.asset_id,
    version: n.version,
    bytes: n.bytes,
    format: n.format,
    url: n.secure_url,
  };
}

/** The one value of a header, or undefined when it is absent or repeated. */
function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A notification timestamp header (unix seconds) that is within `maxAgeS` of
 * `now` (ms), either way; anything else throws. Returns it as given, for the
 * signature.
 */
function freshTimestamp(header: string | undefined, now: number, maxAgeS: number): string {
  if (header === undefined) throw new NotificationRejected('missing timestamp header');
  if (!/^[1-9][0-9]{0,11}$/.test(header)) throw new NotificationRejected('malformed timestamp header');
  if (Math.abs(now / 1000 - Number(header)) > maxAgeS) throw new NotificationRejected('stale notification timestamp');
  return header;
}

/** Constant-time comparison of a received hex signature with the expected one (case-insensitive). */
export function signatureMatches(received: string, expected: string): boolean {
  const a = Buffer.from(received.toLowerCase(), 'utf8');
  const b = Buffer.from(expected.toLowerCase(), 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * The checks both adapters make on a notification, in this order: a signature
 * header, a fresh timestamp header, a body, and a signature that matches
 * `expected(timestamp, rawBody)`; then the body is parsed. Throws
 * `NotificationRejected` at the first that fails.
 */
export function verifySignedNotification(
  rawBody: Buffer | undefined,
  headers: IncomingHttpHeaders,
  now: number,
  scheme: {
    signatureHeader: string;
    timestampHeader: string;
    maxAgeS: number;
    expected: (timestamp: string, rawBody: Buffer) => string;
  },
): StorageNotification {
  const signature = singleHeader(headers, scheme.signatureHeader);
  if (signature === undefined) throw new NotificationRejected(`missing ${scheme.signatureHeader}`);
  const timestamp = freshTimestamp(singleHeader(headers, scheme.timestampHeader), now, scheme.maxAgeS);
  if (rawBody === undefined || rawBody.length === 0) throw new NotificationRejected('empty notification body');
  if (!signatureMatches(signature, scheme.expected(timestamp, rawBody))) {
    throw new NotificationRejected(`${scheme.signatureHeader} does not match`);
  }
  return parseNotificationBody(rawBody);
}
