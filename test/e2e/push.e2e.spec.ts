// Web Push to offline members (API.md "Push notifications"; issue 14): a
// device subscribes with its push service's endpoint and keys; a member with
// no socket open gets each message the room should notify them of, encrypted
// to the device and signed with the server's VAPID key; an endpoint the push
// service says is gone is dropped; a failing push service is retried. The push
// service is a local stand-in that verifies the VAPID signature and decrypts
// the payload as a browser would (test/support/web-push-service.ts).

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request, type TestUser } from '../support/client.ts';
import type { PushPayload } from '../../src/push/notify-rules.ts';
import { startPushService, type PushService, type BrowserSubscription } from '../support/web-push-service.ts';
import { eventually } from '../support/chat.ts';
import { befriend, expectError, expectStatus, groupRoom, openDirect, say, useParley } from '../support/social.ts';

const MAX_SUBSCRIPTIONS = 3;
const suite = useParley({
  // The local push service listens on 127.0.0.1 over http: allowed for this suite only.
  PARLEY_PUSH_ENDPOINT_ALLOW: '127.0.0.1',
  PARLEY_PUSH_RETRY_BACKOFF_MS: '50',
  PARLEY_PUSH_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
});

let pushService: PushService;
beforeAll(async () => {
  pushService = await startPushService();
});
afterAll(async () => {
  await pushService.close();
});

interface PushSubscriptionView {
  subscription_id: string;
  endpoint: string;
  added_at: number;
}

const subscribe = (who: TestUser, device: BrowserSubscription) =>
  suite.api.post<PushSubscriptionView>(who, '/push/subscriptions', { ...device, expirationTime: null });
const subscriptionsOf = async (who: TestUser) =>
  expectStatus(await suite.api.get<{ subscriptions: PushSubscriptionView[] }>(who, '/push/subscriptions'), 200).subscriptions;
const payloadsAt = (endpoint: string) => pushService.received(endpoint).map((push) => push.payload as PushPayload);

async function subscribed(who: TestUser, name: string): Promise<BrowserSubscription> {
  const device = pushService.newSubscription(name);
  expectStatus(await subscribe(who, device), 201);
  return device;
}

describe('subscribing devices', () => {
  test('the VAPID key is public; a device subscribes, again with new keys (same id), and unsubscribes', async () => {
    const key = await request<{ public_key: string }>(suite.parley.url, 'GET', '/api/v1/push/vapid-public-key');
    expect(key.status).toBe(200);
    expect(Buffer.from(key.body.public_key, 'base64url')).toHaveLength(65);

    const [dana] = await suite.api.users(1, 'dana');
    const device = pushService.newSubscription('dana-phone');
    const first = expectStatus(await subscribe(dana!, device), 201);
    expect(first).toEqual({ subscription_id: expect.any(String), endpoint: device.endpoint, added_at: expect.any(Number) });
    const rekeyed = pushService.newSubscription('dana-phone-rekeyed');
    const again = expectStatus(await subscribe(dana!, { endpoint: device.endpoint, keys: rekeyed.keys }), 201);
    expect(again.subscription_id).toBe(first.subscription_id);
    expect(await subscriptionsOf(dana!)).toEqual([again]);

    expectStatus(await suite.api.del(dana!, '/push/subscriptions', { endpoint: device.endpoint }), 204);
    expect(await subscriptionsOf(dana!)).toEqual([]);
    // Once more changes nothing.
    expectStatus(await suite.api.del(dana!, '/push/subscriptions', { endpoint: device.endpoint }), 204);
  });

  test(`a device beyond ${MAX_SUBSCRIPTIONS} replaces the oldest`, async () => {
    const [erin] = await suite.api.users(1, 'erin');
    const devices = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS + 1; i++) devices.push(await subscribed(erin!, `erin-${i}`));
    expect((await subscriptionsOf(erin!)).map((s) => s.endpoint)).toEqual(devices.slice(1).map((d) => d.endpoint));
  });

  test('refuses endpoints that are not push services (SSRF) and keys that are not keys, with 400 validation_failed', async () => {
    const [frank] = await suite.api.users(1, 'frank');
    const keys = pushService.newSubscription('frank').keys;
    for (const endpoint of [
      'https://evil.example.com/push',
      'http://169.254.169.254/latest/meta-data',
      'https://10.0.0.1/push',
      'http://fcm.googleapis.com/fcm/send/abc',
      'file:///etc/passwd',
    ]) {
      expectError(await subscribe(frank!, { endpoint, keys }), 400, 'validation_failed');
    }
    const endpoint = 'https://fcm.googleapis.com/fcm/send/abc';
    expectError(await subscribe(frank!, { endpoint, keys: { ...keys, p256dh: 'AAAA' } }), 400, 'validation_failed');
    expectError(await subscribe(frank!, { endpoint, keys: { ...keys, auth: 'not base64!' } }), 400, 'validation_failed');
    expect(await subscriptionsOf(frank!)).toEqual([]);
    // A known push service is fine (nothing is pushed to it here).
    expectStatus(await subscribe(frank!, { endpoint, keys }), 201);
    const unauthenticated = await request(suite.parley.url, 'POST', '/api/v1/push/subscriptions', { body: { endpoint, keys } });
    expect(unauthenticated.status).toBe(401);
  });
});

describe('pushing to members with no socket open', () => {
  test('an offline member’s devices get the message, decrypted and VAPID-signed; an online member gets no push', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'push');
    const room = await groupRoom(suite.api, alice!, [bob!, carol!], 'Lunch crew');
    const [bobPhone, bobLaptop] = [await subscribed(bob!, 'bob-phone'), await subscribed(bob!, 'bob-laptop')];
    const carolPhone = await subscribed(carol!, 'carol-phone');
    await suite.connect(carol!);

    const first = await say(suite.api, alice!, room.id, '  Lunch\n at noon? ');
    const second = await say(suite.api, alice!, room.id, 'x'.repeat(500));
    await pushService.waitFor(2, bobPhone.endpoint);
    await pushService.waitFor(2, bobLaptop.endpoint);
    const key = await request<{ public_key: string }>(suite.parley.url, 'GET', '/api/v1/push/vapid-public-key');
    for (const push of [...pushService.received(bobPhone.endpoint), ...pushService.received(bobLaptop.endpoint)]) {
      expect(push.vapidValid).toBe(true);
      expect(push.vapidPublicKey).toBe(key.body.public_key);
      expect(push.ttl).toBeGreaterThan(0);
    }
    expect(payloadsAt(bobPhone.endpoint)[0]).toEqual({
      type: 'NEW_MESSAGE',
      chat_room_id: room.id,
      room: { type: 'group', name: 'Lunch crew' },
      message_id: first.id,
      seq: first.seq,
      sender: { id: alice!.id, username: alice!.username, display_name: expect.any(String) },
      preview: 'Lunch at noon?',
      mention: false,
      created_at: first.created_at,
    });
    const long = payloadsAt(bobLaptop.endpoint)[1]!;
    expect(long.message_id).toBe(second.id);
    expect(long.preview).toBe(`${'x'.repeat(139)}…`);
    // Both messages were pushed in order, the second after the first: the first's pushes to carol would be done.
    expect(pushService.requests(carolPhone.endpoint)).toBe(0);
    // Nobody is pushed their own message.
    const alicePhone = await subscribed(alice!, 'alice-phone');
    await say(suite.api, bob!, room.id, 'count me in');
    await say(suite.api, alice!, room.id, 'great');
    await pushService.waitFor(3, bobPhone.endpoint);
    expect(payloadsAt(alicePhone.endpoint).map((p) => p.preview)).toEqual(['count me in']);
  });

  test('the room’s setting decides: mentions only, muted, none', async () => {
    const [alice, bob] = await suite.api.users(2, 'levels');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const phone = await subscribed(bob!, 'bob-levels');
    const settings = (body: unknown) => suite.api.put(bob!, `/rooms/${room.id}/notifications`, body);

    expectStatus(await settings({ level: 'mentions' }), 200);
    await say(suite.api, alice!, room.id, 'not for bob');
    await say(suite.api, alice!, room.id, `@${bob!.username} for you`);
    await pushService.waitFor(1, phone.endpoint);
    expect(payloadsAt(phone.endpoint).map((p) => [p.preview, p.mention])).toEqual([[`@${bob!.username} for you`, true]]);

    expectStatus(await settings({ level: 'all', muted_until: Date.now() + 3_600_000 }), 200);
    await say(suite.api, alice!, room.id, `@${bob!.username} muted`);
    expectStatus(await settings({ level: 'none' }), 200);
    await say(suite.api, alice!, room.id, `@${bob!.username} none`);
    expectStatus(await settings({ level: 'all' }), 200);
    await say(suite.api, alice!, room.id, 'all again');
    await pushService.waitFor(2, phone.endpoint);
    expect(payloadsAt(phone.endpoint).map((p) => p.preview)).toEqual([`@${bob!.username} for you`, 'all again']);
  });

  test('a direct message is pushed urgently; a member who blocked the sender gets nothing', async () => {
    const [alice, bob, carol] = await suite.api.users(3, 'direct');
    await befriend(suite.api, alice!, bob!);
    const direct = await openDirect(suite.api, alice!, bob!);
    const phone = await subscribed(bob!, 'bob-direct');
    await say(suite.api, alice!, direct.id, 'psst');
    const [push] = await pushService.waitFor(1, phone.endpoint);
    expect(push!.urgency).toBe('high');
    expect(push!.payload).toMatchObject({ room: { type: 'direct' }, preview: 'psst', sender: { id: alice!.id } });

    const group = await groupRoom(suite.api, carol!, [alice!, bob!]);
    expectStatus(await suite.api.post(bob!, '/blocks', { user_id: alice!.id }), 204);
    await say(suite.api, alice!, group.id, 'from alice');
    await say(suite.api, carol!, group.id, 'from carol');
    await pushService.waitFor(2, phone.endpoint);
    expect(payloadsAt(phone.endpoint).map((p) => p.preview)).toEqual(['psst', 'from carol']);
  });
});

describe('what push services answer', () => {
  test('5xx is retried until it goes through; 410 removes the device, which gets nothing more', async () => {
    const [alice, bob] = await suite.api.users(2, 'answers');
    const room = await groupRoom(suite.api, alice!, [bob!]);
    const phone = await subscribed(bob!, 'bob-flaky');
    const old = await subscribed(bob!, 'bob-old');
    pushService.respondWith(phone.endpoint, [503, 500]);
    pushService.gone(old.endpoint);

    await say(suite.api, alice!, room.id, 'eventually');
    await pushService.waitFor(1, phone.endpoint);
    expect(pushService.requests(phone.endpoint)).toBe(3);
    await eventually(async () => (await subscriptionsOf(bob!)).length === 1, 'the gone device removed');
    expect((await subscriptionsOf(bob!)).map((s) => s.endpoint)).toEqual([phone.endpoint]);
    const askedOld = pushService.requests(old.endpoint);
    expect(askedOld).toBe(1);

    await say(suite.api, alice!, room.id, 'next');
    await pushService.waitFor(2, phone.endpoint);
    expect(pushService.requests(old.endpoint)).toBe(askedOld);
  });
});
