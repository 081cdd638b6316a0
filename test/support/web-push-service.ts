// A local stand-in for a Web Push service (FCM, Mozilla autopush…) that the
// push end-to-end suite starts in-process. It plays both ends a real one
// joins: the push service, which checks the sender's VAPID signature (RFC
// 8292) before taking a push, and the browser, which holds each
// subscription's private key and decrypts the payload (RFC 8291, aes128gcm)
// — so a test reads exactly what a service worker would. It can also answer
// as a failing service does: scripted statuses (5xx, 429) and 410 Gone.

import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';

export interface BrowserSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  endpoint: string;
  /** The name the test gave the subscription. */
  name: string;
  payload: unknown;
  ttl: number;
  urgency: string | undefined;
  topic: string | undefined;
  /** The `k` of the VAPID Authorization header. */
  vapidPublicKey: string;
  vapidValid: boolean;
  at: number;
}

export interface PushService {
  url: string;
  newSubscription(name?: string): BrowserSubscription;
  /** Statuses answered (nothing stored) before the endpoint takes pushes again. */
  respondWith(endpoint: string, statuses: number[]): void;
  /** Every later request to the endpoint answers 410 Gone. */
  gone(endpoint: string): void;
  /** Requests the endpoint got, whatever they were answered. */
  requests(endpoint: string): number;
  received(endpoint?: string): ReceivedPush[];
  waitFor(count: number, endpoint?: string, timeoutMs?: number): Promise<ReceivedPush[]>;
  /** Requests refused as malformed: bad VAPID, or a body that does not decrypt. */
  readonly rejected: number;
  close(): Promise<void>;
}

interface Device {
  name: string;
  ecdh: crypto.ECDH;
  auth: Buffer;
  scripted: number[];
  gone: boolean;
  requests: number;
}

const hkdf = (ikm: Buffer, salt: Buffer, info: Buffer, length: number): Buffer =>
  Buffer.from(crypto.hkdfSync('sha256', ikm, salt, info, length));

/** RFC 8291 §3.4 / RFC 8188: one aes128gcm record, decrypted with the browser's keys. */
export function decryptAes128gcm(body: Buffer, uaPrivateKey: Buffer, uaPublicKey: Buffer, authSecret: Buffer): Buffer {
  const salt = body.subarray(0, 16);
  const idLength = body.readUInt8(20);
  const asPublicKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  const ecdh = crypto.createECDH('prime256v1');
  ecdh.setPrivateKey(uaPrivateKey);
  const secret = ecdh.computeSecret(asPublicKey);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublicKey, asPublicKey]);
  const ikm = hkdf(secret, authSecret, keyInfo, 32);
  const cek = hkdf(ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12);
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record: the data, the delimiter 0x02, then zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('no last-record delimiter');
  return padded.subarray(0, end);
}

/** RFC 8292: `vapid t=<ES256 JWT>, k=<public key>`; the JWT's aud is the endpoint's origin, exp at most 24 h ahead. */
async function verifyVapid(header: string | undefined, origin: string): Promise<{ key: string; valid: boolean }> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '');
  if (match === null) return { key: '', valid: false };
  const [, token, key] = match as unknown as [string, string, string];
  try {
    const point = Buffer.from(key, 'base64url');
    const publicKey = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      'ES256',
    );
    const { payload } = await jwtVerify(token, publicKey, { audience: origin, algorithms: ['ES256'] });
    const exp = payload.exp ?? 0;
    const valid = exp * 1000 <= Date.now() + 24 * 3_600_000 && /^(mailto:|https:)/.test(payload.sub ?? '');
    return { key, valid };
  } catch {
    return { key, valid: false };
  }
}

const MAX_PUSH_BODY_BYTES = 4096;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

export async function startPushService(): Promise<PushService> {
  const devices = new Map<string, Device>();
  const received: ReceivedPush[] = [];
  let rejected = 0;
  let url = '';

  async function handle(request: http.IncomingMessage, body: Buffer): Promise<number> {
    const endpoint = `${url}${request.url ?? ''}`;
    const device = devices.get(endpoint);
    if (request.method !== 'POST' || device === undefined) return 404;
    device.requests++;
    if (device.gone) return 410;
    const scripted = device.scripted.shift();
    if (scripted !== undefined) return scripted;
    // As FCM and autopush: a record over 4,096 bytes is too large; Urgency and
    // Topic must be what RFC 8030 allows (a topic: ≤ 32 URL-safe base64 characters).
    if (body.length > MAX_PUSH_BODY_BYTES) return 413;
    const { urgency, topic } = request.headers;
    if (urgency !== undefined && !URGENCIES.has(String(urgency))) return 400;
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(String(topic))) return 400;
    const vapid = await verifyVapid(request.headers.authorization, new URL(url).origin);
    const ttl = Number(request.headers.ttl);
    if (!vapid.valid || request.headers['content-encoding'] !== 'aes128gcm' || !Number.isInteger(ttl)) {
      rejected++;
      return 400;
    }
    let payload: unknown;
    try {
      const plaintext = decryptAes128gcm(body, device.ecdh.getPrivateKey(), device.ecdh.getPublicKey(), device.auth);
      payload = JSON.parse(plaintext.toString('utf8'));
    } catch {
      rejected++;
      return 400;
    }
    received.push({
      endpoint,
      name: device.name,
      payload,
      ttl,
      urgency: request.headers.urgency as string | undefined,
      topic: request.headers.topic as string | undefined,
      vapidPublicKey: vapid.key,
      vapidValid: vapid.valid,
      at: Date.now(),
    });
    return 201;
  }

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      handle(request, Buffer.concat(chunks)).then(
        (status) => response.writeHead(status).end(),
        () => response.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const of = (endpoint: string): Device => {
    const device = devices.get(endpoint);
    if (device === undefined) throw new Error(`no subscription ${endpoint}`);
    return device;
  };
  const matching = (endpoint?: string) => received.filter((push) => endpoint === undefined || push.endpoint === endpoint);

  return {
    url,
    newSubscription(name = crypto.randomUUID()) {
      const ecdh = crypto.createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = crypto.randomBytes(16);
      const endpoint = `${url}/push/${crypto.randomUUID()}`;
      devices.set(endpoint, { name, ecdh, auth, scripted: [], gone: false, requests: 0 });
      return { endpoint, keys: { p256dh: ecdh.getPublicKey('base64url'), auth: auth.toString('base64url') } };
    },
    respondWith(endpoint, statuses) {
      of(endpoint).scripted.push(...statuses);
    },
    gone(endpoint) {
      of(endpoint).gone = true;
    },
    requests: (endpoint) => of(endpoint).requests,
    received: matching,
    async waitFor(count, endpoint, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (matching(endpoint).length < count) {
        if (Date.now() > deadline) {
          const got = matching(endpoint).map((push) => JSON.stringify(push.payload));
          throw new Error(`expected ${count} pushes${endpoint ? ` at ${endpoint}` : ''}, got ${got.length}: ${got.join('; ')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return matching(endpoint);
    },
    get rejected() {
      return rejected;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
