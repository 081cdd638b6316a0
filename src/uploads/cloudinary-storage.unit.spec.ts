// The Cloudinary adapter's signing and notification checks, without Cloudinary:
// against the algorithms Cloudinary documents (a reference implementation
// written from the docs, and the docs' own worked example), and cross-checked
// with the SDK's `utils.api_sign_request`, `utils.webhook_signature` and
// `utils.verifyNotificationSignature` (reliability plan J2–J4, J7).

import crypto from 'node:crypto';
import { v2 as cloudinary } from 'cloudinary';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLOUDINARY_SIGNATURE_TTL_S,
  SIGNED_PARAMS,
  createCloudinaryStorage,
  notificationSignature,
  parseCloudinaryUrl,
} from './cloudinary-storage.ts';
import { NotificationRejected, type FileStorage, type SignRequest } from './storage.ts';

const KEY = '123456789012345';
const SECRET = 'abcdEFGH_ijkl-mnop1234567';
const CLOUD = 'parley-test';
const URL_SHA1 = `cloudinary://${KEY}:${SECRET}@${CLOUD}`;
const PUBLIC = 'https://chat.example.com';
const MAX_AGE_S = 600;
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const USER = '0195d0c4-7a1e-7b5e-9a1f-1c2d3e4f5a6b';
const UPLOAD = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';

const storageFor = (url = URL_SHA1): FileStorage =>
  createCloudinaryStorage({ url, publicUrl: PUBLIC, notifyMaxAgeS: MAX_AGE_S, avatarSizePx: 256 });

const request = (over: Partial<SignRequest> = {}): SignRequest => ({
  uploadId: UPLOAD,
  userId: USER,
  purpose: 'attachment',
  mimeType: 'image/png',
  bytes: 1000,
  now: NOW,
  ...over,
});

/** Cloudinary's documented algorithm, written from the docs: sorted `k=v` joined by `&`, then the secret. */
const documentedSignature = (params: Record<string, string>, secret: string, algorithm: 'sha1' | 'sha256' = 'sha1') =>
  crypto
    .createHash(algorithm)
    .update(
      Object.keys(params)
        .sort()
        .map((key) => `${key}=${params[key]}`)
        .join('&') + secret,
    )
    .digest('hex');

/** The fields Cloudinary verifies: all but file, cloud_name, resource_type, api_key (and the signature). */
const signedPart = (fields: Record<string, string>) => {
  const { api_key: _key, signature: _signature, ...rest } = fields;
  return rest;
};

describe('CLOUDINARY_URL', () => {
  it('parses key, secret, cloud and the signature algorithm', () => {
    expect(parseCloudinaryUrl(URL_SHA1)).toEqual({
      cloudName: CLOUD,
      apiKey: KEY,
      apiSecret: SECRET,
      signatureAlgorithm: 'sha1',
    });
    expect(parseCloudinaryUrl(`${URL_SHA1}?signature_algorithm=sha256`).signatureAlgorithm).toBe('sha256');
  });

  it.each([
    'not a url',
    `https://${KEY}:${SECRET}@${CLOUD}`,
    `cloudinary://${KEY}@${CLOUD}`,
    `cloudinary://${KEY}:${SECRET}@${CLOUD}?signature_algorithm=md5`,
  ])('refuses %s without quoting the secret', (value) => {
    let message = '';
    try {
      parseCloudinaryUrl(value);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/CLOUDINARY_URL/);
    expect(message).not.toContain(SECRET);
  });

  it('needs PARLEY_PUBLIC_URL, where Cloudinary sends notifications', () => {
    expect(() =>
      createCloudinaryStorage({ url: URL_SHA1, publicUrl: undefined, notifyMaxAgeS: MAX_AGE_S, avatarSizePx: 256 }),
    ).toThrow(/PARLEY_PUBLIC_URL/);
  });
});

describe('signing an upload (J4)', () => {
  it('signs only allow-listed parameters, all chosen by us', () => {
    const signed = storageFor().sign(request());
    expect(signed.provider).toBe('cloudinary');
    expect(Object.keys(signed.fields).sort()).toEqual([...SIGNED_PARAMS, 'api_key', 'signature'].sort());
    expect(signed.fields).toMatchObject({
      api_key: KEY,
      public_id: `parley/${USER}/attachment/${UPLOAD}`,
      allowed_formats: 'png',
      notification_url: `${PUBLIC}/api/v1/uploads/notify`,
      overwrite: '0',
      timestamp: String(NOW / 1000),
    });
    expect(signed.upload_url).toBe(`https://api.cloudinary.com/v1_1/${CLOUD}/image/upload`);
    expect(signed.upload_id).toBe(UPLOAD);
    expect(signed.expires_at).toBe(NOW + CLOUDINARY_SIGNATURE_TTL_S * 1000);
  });

  it('derives the folder from the user and purpose: another user gets another folder', () => {
    const storage = storageFor();
    const other = '0195d0c4-0000-7000-8000-000000000001';
    expect(storage.sign(request({ userId: other, purpose: 'avatar' })).fields.public_id).toBe(`parley/${other}/avatar/${UPLOAD}`);
  });

  it('picks resource type and format from the media type', () => {
    const storage = storageFor();
    const pdf = storage.sign(request({ mimeType: 'application/pdf' }));
    expect(pdf.fields.allowed_formats).toBe('pdf');
    const mp4 = storage.sign(request({ mimeType: 'video/mp4' }));
    expect(mp4.upload_url).toMatch(/\/video\/upload$/);
    const text = storage.sign(request({ mimeType: 'text/plain' }));
    expect(text.upload_url).toMatch(/\/raw\/upload$/);
  });

  it('matches the worked example of Cloudinary’s docs', () => {
    // https://cloudinary.com/documentation/authentication_signatures (secret "abcd")
    const params = { eager: 'w_400,h_300,c_pad|w_260,h_200,c_crop', public_id: 'sample_image', timestamp: '1315060510' };
    expect(documentedSignature(params, 'abcd')).toBe('bfd09f95f331f558cbd1320e67aa8d488770583e');
    expect(cloudinary.utils.api_sign_request(params, 'abcd')).toBe('bfd09f95f331f558cbd1320e67aa8d488770583e');
  });

  it.each(['sha1', 'sha256'] as const)(
    'the signature is Cloudinary’s %s algorithm, as the docs and the SDK compute it',
    (algorithm) => {
      const url = algorithm === 'sha1' ? URL_SHA1 : `${URL_SHA1}?signature_algorithm=sha256`;
      const { fields } = storageFor(url).sign(request());
      expect(fields.signature).toMatch(algorithm === 'sha1' ? /^[0-9a-f]{40}$/ : /^[0-9a-f]{64}$/);
      expect(fields.signature).toBe(documentedSignature(signedPart(fields), SECRET, algorithm));
      const sdk = cloudinary.utils.sign_request(signedPart(fields), {
        api_key: KEY,
        api_secret: SECRET,
        signature_algorithm: algorithm,
      });
      expect(sdk.signature).toBe(fields.signature);
    },
  );

  it('a field changed or added by the client no longer matches the signature (J5)', () => {
    const { fields } = storageFor().sign(request());
    const part = signedPart(fields);
    for (const tampered of [
      { ...part, public_id: `parley/someone-else/attachment/${UPLOAD}` },
      { ...part, overwrite: '1' },
      { ...part, eager: 'w_4000' },
      { ...part, type: 'authenticated' },
    ]) {
      expect(documentedSignature(tampered, SECRET)).not.toBe(fields.signature);
    }
  });

  it('never puts the API secret in what the client gets (J7)', () => {
    const signed = storageFor().sign(request());
    expect(JSON.stringify(signed)).not.toContain(SECRET);
  });
});

describe('verifying a notification (J1–J3)', () => {
  // A recorded upload notification's shape (fields Cloudinary sends), pretty-printed
  // as Cloudinary does, so re-serialising it changes the bytes.
  const body = Buffer.from(
    JSON.stringify(
      {
        notification_type: 'upload',
        timestamp: '2030-01-01T12:00:00+00:00',
        request_id: 'a8fd1c2b9e',
        asset_id: '3515c6000a548515f1134043f9785c2f',
        public_id: `parley/${USER}/attachment/${UPLOAD}`,
        version: 1893499200,
        version_id: '7d2cc533bee9ff39f7da7414b61fce7e',
        width: 10,
        height: 10,
        format: 'png',
        resource_type: 'image',
        created_at: '2030-01-01T12:00:00Z',
        bytes: 812,
        type: 'upload',
        url: `http://res.cloudinary.com/${CLOUD}/image/upload/v1893499200/parley/${USER}/attachment/${UPLOAD}.png`,
        secure_url: `https://res.cloudinary.com/${CLOUD}/image/upload/v1893499200/parley/${USER}/attachment/${UPLOAD}.png`,
        api_key: KEY,
      },
      null,
      2,
    ),
  );
  const timestamp = String(NOW / 1000);
  const headersFor = (raw: Buffer, ts = timestamp, secret = SECRET, algorithm: 'sha1' | 'sha256' = 'sha1') => ({
    'x-cld-timestamp': ts,
    'x-cld-signature': cloudinary.utils.webhook_signature(raw.toString('utf8'), Number(ts), {
      api_secret: secret,
      signature_algorithm: algorithm,
    }),
  });

  beforeAll(() => {
    // Only for the SDK's verifyNotificationSignature, which reads its global config.
    cloudinary.config({ api_secret: SECRET, signature_algorithm: 'sha1' });
  });
  afterAll(() => {
    cloudinary.config(true);
  });

  it('accepts a correctly signed notification and parses it', () => {
    const parsed = storageFor().verifyNotification(body, headersFor(body), NOW);
    expect(parsed).toEqual({
      type: 'upload',
      publicId: `parley/${USER}/attachment/${UPLOAD}`,
      assetId: '3515c6000a548515f1134043f9785c2f',
      version: 1893499200,
      bytes: 812,
      format: 'png',
      url: `https://res.cloudinary.com/${CLOUD}/image/upload/v1893499200/parley/${USER}/attachment/${UPLOAD}.png`,
    });
  });

  it('computes the signature Cloudinary documents, as the SDK does, and the SDK accepts it', () => {
    const ours = notificationSignature(body, timestamp, SECRET, 'sha1');
    expect(ours).toBe(
      crypto
        .createHash('sha1')
        .update(body.toString() + timestamp + SECRET)
        .digest('hex'),
    );
    expect(ours).toBe(headersFor(body)['x-cld-signature']);
    const sdkNow = Math.round(Date.now() / 1000);
    const sdkSigned = notificationSignature(body, String(sdkNow), SECRET, 'sha1');
    expect(cloudinary.utils.verifyNotificationSignature(body.toString(), sdkNow, sdkSigned, MAX_AGE_S)).toBe(true);
    expect(cloudinary.utils.verifyNotificationSignature(`${body.toString()} `, sdkNow, sdkSigned, MAX_AGE_S)).toBe(false);
  });

  it('accepts SHA-256 signatures when the account uses them', () => {
    const storage = storageFor(`${URL_SHA1}?signature_algorithm=sha256`);
    const headers = headersFor(body, timestamp, SECRET, 'sha256');
    expect(headers['x-cld-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(storage.verifyNotification(body, headers, NOW).type).toBe('upload');
    expect(() => storage.verifyNotification(body, headersFor(body), NOW)).toThrow(NotificationRejected);
  });

  const refusals: Array<[string, () => [Buffer | undefined, Record<string, string>]]> = [
    [
      'a body changed by one byte',
      () => {
        const tampered = Buffer.from(body);
        tampered[body.indexOf('812') + 2] = '3'.charCodeAt(0); // bytes 812 → 813
        return [tampered, headersFor(body)];
      },
    ],
    ['a signature made with another secret', () => [body, headersFor(body, timestamp, 'not-the-secret')]],
    ['no signature header', () => [body, { 'x-cld-timestamp': timestamp }]],
    ['no timestamp header', () => [body, { 'x-cld-signature': headersFor(body)['x-cld-signature'] }]],
    ['no headers at all', () => [body, {}]],
    ['no body', () => [undefined, headersFor(body)]],
    [
      'a signature over re-serialised JSON instead of the raw body',
      () => {
        const compact = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
        return [body, headersFor(compact)];
      },
    ],
    ['a timestamp changed after signing', () => [body, { ...headersFor(body), 'x-cld-timestamp': String(NOW / 1000 + 1) }]],
    ['a stale timestamp (past the window)', () => [body, headersFor(body, String(NOW / 1000 - MAX_AGE_S - 1))]],
    ['a timestamp from the future (past the window)', () => [body, headersFor(body, String(NOW / 1000 + MAX_AGE_S + 1))]],
    ['a malformed timestamp', () => [body, headersFor(body, `0${timestamp}`)]],
  ];

  it.each(refusals)('refuses %s', (_name, make) => {
    const [raw, headers] = make();
    expect(() => storageFor().verifyNotification(raw, headers, NOW)).toThrow(NotificationRejected);
  });

  it('accepts a timestamp at the edge of the window', () => {
    const ts = String(NOW / 1000 - MAX_AGE_S);
    expect(storageFor().verifyNotification(body, headersFor(body, ts), NOW).type).toBe('upload');
  });

  it('a signed notification of another kind is verified and reported as such', () => {
    const other = Buffer.from(JSON.stringify({ notification_type: 'delete', resources: [] }));
    expect(storageFor().verifyNotification(other, headersFor(other), NOW)).toEqual({ type: 'other', notificationType: 'delete' });
  });
});

describe('delivery URL', () => {
  it('is the SDK’s secure URL of the version', () => {
    const url = storageFor().publicUrl({
      publicId: `parley/${USER}/avatar/${UPLOAD}`,
      format: 'png',
      resourceType: 'image',
      version: 1893499200,
    });
    expect(url).toBe(`https://res.cloudinary.com/${CLOUD}/image/upload/v1893499200/parley/${USER}/avatar/${UPLOAD}.png`);
  });

  const uploaded = (purpose: 'avatar' | 'attachment') => ({
    type: 'upload' as const,
    publicId: `parley/${USER}/${purpose}/${UPLOAD}`,
    assetId: 'a1b2c3',
    version: 1893499200,
    bytes: 1234,
    format: 'png',
    url: `https://res.cloudinary.com/${CLOUD}/image/upload/v1893499200/parley/${USER}/${purpose}/${UPLOAD}.png`,
  });

  it('of an avatar is a square rendition (a transformation URL), never the stored original', () => {
    const url = storageFor().deliveryUrl(uploaded('avatar'), 'avatar');
    expect(url).toBe(
      `https://res.cloudinary.com/${CLOUD}/image/upload/c_fill,g_auto,h_256,w_256/f_auto,q_auto/v1893499200/parley/${USER}/avatar/${UPLOAD}.png`,
    );
  });

  it('of an attachment is the URL Cloudinary notified', () => {
    const notification = uploaded('attachment');
    expect(storageFor().deliveryUrl(notification, 'attachment')).toBe(notification.url);
  });
});
