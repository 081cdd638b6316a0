// The push suite's stand-in push service must be as strict as a real one and
// decrypt as a browser does, or the suite would prove nothing: checked here
// against the web-push library itself.

import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPushService, type PushService } from './web-push-service.ts';

let service: PushService;
beforeAll(async () => {
  service = await startPushService();
});
afterAll(async () => {
  await service.close();
});

const vapid = webpush.generateVAPIDKeys();
const vapidDetails = { subject: 'mailto:ops@example.com', ...vapid };

function requestFor(subscription: webpush.PushSubscription, payload: string, options: webpush.RequestOptions = {}) {
  return webpush.generateRequestDetails(subscription, payload, {
    vapidDetails,
    TTL: 60,
    contentEncoding: 'aes128gcm',
    ...options,
  });
}
const post = (details: { endpoint: string; headers: Record<string, string | number>; body: Buffer }, body = details.body) =>
  fetch(details.endpoint, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(details.headers).map(([name, value]) => [name, String(value)])),
    body: new Uint8Array(body),
  });

describe('the local push service', () => {
  it('decrypts what web-push encrypted to the subscription, and checks the VAPID signature', async () => {
    const device = service.newSubscription('phone');
    const sent = { hello: 'wörld 🚀', n: 1 };
    const response = await post(requestFor(device, JSON.stringify(sent), { urgency: 'high', topic: 'abc' }));
    expect(response.status).toBe(201);
    const [push] = service.received(device.endpoint);
    expect(push).toMatchObject({ payload: sent, ttl: 60, urgency: 'high', topic: 'abc', vapidPublicKey: vapid.publicKey });
    expect(push!.vapidValid).toBe(true);
  });

  it('refuses a tampered body, a payload for another device, and a signature for another origin', async () => {
    const device = service.newSubscription();
    const other = service.newSubscription();
    const before = service.rejected;
    const details = requestFor(device, '{"a":1}');
    const tampered = Buffer.from(details.body);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 20) ^ 1, tampered.length - 20);
    expect((await post(details, tampered)).status).toBe(400);
    expect((await post({ ...requestFor(other, '{"a":1}'), endpoint: device.endpoint })).status).toBe(400);
    const foreign = webpush.getVapidHeaders(
      'https://fcm.googleapis.com',
      vapidDetails.subject,
      vapid.publicKey,
      vapid.privateKey,
      'aes128gcm',
    );
    expect((await post({ ...details, headers: { ...details.headers, Authorization: foreign.Authorization } })).status).toBe(400);
    expect(service.rejected).toBe(before + 3);
    expect(service.received(device.endpoint)).toEqual([]);
  });

  it('refuses what a real push service refuses: a body over 4,096 bytes, an unknown Urgency, a Topic RFC 8030 does not allow', async () => {
    const device = service.newSubscription();
    const large = requestFor(device, JSON.stringify('x'.repeat(3_992))); // + 103 bytes of header, padding and tag: 4,097
    expect(large.body.length).toBeGreaterThan(4096);
    expect((await post(large)).status).toBe(413);
    expect((await post(requestFor(device, JSON.stringify('x'.repeat(3_991))))).status).toBe(201);
    const fine = requestFor(device, '1');
    expect((await post({ ...fine, headers: { ...fine.headers, Urgency: 'urgent' } })).status).toBe(400);
    expect((await post({ ...fine, headers: { ...fine.headers, Topic: '0199e1c4-7000-7000-8000-00000000b001' } })).status).toBe(
      400,
    );
    expect((await post(requestFor(device, '1', { topic: '0199e1c470007000800000000000b001' }))).status).toBe(201);
    expect(service.received(device.endpoint)).toHaveLength(2);
  });

  it('answers scripted statuses, then takes pushes again; 410 once gone; 404 for endpoints it does not know', async () => {
    const device = service.newSubscription();
    service.respondWith(device.endpoint, [500, 429]);
    expect((await post(requestFor(device, '1'))).status).toBe(500);
    expect((await post(requestFor(device, '2'))).status).toBe(429);
    expect((await post(requestFor(device, '3'))).status).toBe(201);
    expect(service.received(device.endpoint).map((push) => push.payload)).toEqual([3]);
    service.gone(device.endpoint);
    expect((await post(requestFor(device, '4'))).status).toBe(410);
    expect(service.requests(device.endpoint)).toBe(4);
    expect((await post({ ...requestFor(device, '5'), endpoint: `${service.url}/push/unknown` })).status).toBe(404);
  });
});
