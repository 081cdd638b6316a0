// Outgoing webhooks (global admins only): an admin points a webhook at a URL
// for some event types, optionally of one room; every such event from then on
// is POSTed there, signed with the webhook's secret, at least once and in log
// order per room. A failing receiver is retried, and paused once it has failed
// for too long (its creator hears WEBHOOK_PAUSED); pausing and resuming lose
// nothing; a replay sends the log again from a point in time. The receiver is
// a local stand-in that checks signatures as an integrator's endpoint would
// (test/support/webhook-receiver.ts). Over real HTTP and WebSocket against a
// running Parley process, in the mode of the vitest project.

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual as isEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '../support/chat.ts';
import { parleyOutput } from '../support/cli.ts';
import { modeEnv } from '../support/modes.ts';
import { startParley, tempDataDir } from '../support/server.ts';
import { apiOf } from '../support/social.ts';
import { registerNamedUser, request, type TestUser } from '../support/client.ts';
import { expectError, expectStatus, groupRoom, say, useParley } from '../support/social.ts';
import { signatureValid, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import type { Message } from '../support/wire.ts';
import type { DeliveryView } from '../../src/webhooks/delivery-log.ts';
import type { WebhookDelivery } from '../../src/webhooks/dispatcher.ts';
import type { WebhookView } from '../../src/webhooks/webhooks.ts';

const adminName = `hooks_${randomUUID().slice(0, 8)}`;
const suite = useParley({
  PARLEY_ADMINS: adminName,
  // The local receiver listens on 127.0.0.1: allowed for this suite only (other private hosts stay refused).
  PARLEY_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1',
  PARLEY_WEBHOOK_RETRY_BACKOFF_MS: '50',
  PARLEY_WEBHOOK_RETRY_MAX_MS: '400',
  PARLEY_WEBHOOK_PAUSE_AFTER_MS: '3000',
});

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});

type Webhook = WebhookView;
type DeliveryAttempt = DeliveryView;
/** What a receiver is POSTed, its data typed as the message events these tests subscribe to have it. */
type HookBody = Omit<WebhookDelivery, 'data'> & { data: Record<string, unknown> & { seq?: number; message_id?: string } };

let admin: TestUser | undefined;
/** The admin's account, registered once under the name PARLEY_ADMINS gives. */
const theAdmin = async (): Promise<TestUser> => (admin ??= await registerNamedUser(suite.parley.url, adminName));

const hookPath = (id: string) => `/webhooks/${id}`;
const getHook = async (who: TestUser, id: string) => expectStatus(await suite.api.get<Webhook>(who, hookPath(id)), 200);
const listHooks = async (who: TestUser) =>
  expectStatus(await suite.api.get<{ webhooks: Webhook[] }>(who, '/webhooks'), 200).webhooks;
const deliveryLog = async (who: TestUser, id: string) =>
  expectStatus(await suite.api.get<{ deliveries: DeliveryAttempt[] }>(who, `${hookPath(id)}/deliveries?limit=100`), 200)
    .deliveries;

/**
 * Creates a webhook for `events` pointing at the receiver's hook `name`, which
 * then checks signatures under the secret the answer carries.
 */
async function createHook(
  who: TestUser,
  name: string,
  body: { events: string[]; room_id?: string; secret?: string },
): Promise<Webhook & { secret: string }> {
  const created = expectStatus(
    await suite.api.post<Webhook & { secret: string }>(who, '/webhooks', { url: receiver.url(name), ...body }),
    201,
  );
  receiver.verify(name, created.secret);
  return created;
}

/**
 * The bodies `name` accepted, each delivery once (the first time it came), in
 * arrival order: delivery is at least once, so a retry whose answer was lost
 * may bring one again; an integrator de-duplicates by delivery_id just so.
 */
function distinctAt(name: string, from = 0): HookBody[] {
  const distinct = new Map<string, HookBody>();
  for (const { body } of receiver.received<HookBody>(name).slice(from)) {
    if (!distinct.has(body.delivery_id)) distinct.set(body.delivery_id, body);
  }
  // A Map iterates in insertion order: the order each delivery first came.
  return [...distinct.values()];
}

/** Waits until `name` has accepted `count` distinct deliveries (after the first `from` received); returns them. */
async function deliveredAt(name: string, count: number, from = 0, timeoutMs?: number): Promise<HookBody[]> {
  await eventually(() => distinctAt(name, from).length >= count, `${count} deliveries at ${name}`, timeoutMs);
  return distinctAt(name, from);
}

const seqs = (bodies: HookBody[]) => bodies.map((body) => body.data.seq);

/** `count` messages from `user` in the room, one after another; returns them as stored. */
async function sayMany(user: TestUser, roomId: string, count: number, label: string): Promise<Message[]> {
  const said: Message[] = [];
  for (let i = 1; i <= count; i++) said.push(await say(suite.api, user, roomId, `${label} ${i}`));
  return said;
}

describe('delivering events', () => {
  test('a webhook on one room gets that room’s chosen events from its creation on, in log order, signed, headers matching the body', async () => {
    const boss = await theAdmin();
    const [alice, bob] = await suite.api.users(2, 'hook');
    const roomA = await groupRoom(suite.api, alice!, [bob!]);
    const roomB = await groupRoom(suite.api, alice!, [bob!]);
    await say(suite.api, alice!, roomA.id, 'before the webhook');

    const hook = await createHook(boss, 'room-a', { events: ['message_sent', 'message_edited'], room_id: roomA.id });
    const { secret, ...view } = hook;
    expect(view).toEqual({
      webhook_id: expect.any(String),
      url: receiver.url('room-a'),
      events: ['message_sent', 'message_edited'],
      room_id: roomA.id,
      status: 'active',
      paused_reason: null,
      paused_at: null,
      last_error: null,
      replay_from: null,
      created_by: boss.id,
      created_at: expect.any(Number),
    });
    expect(secret.length).toBeGreaterThanOrEqual(32);
    // The secret is answered once, at creation; never again.
    expect(await getHook(boss, hook.webhook_id)).toEqual(view);
    const listed = await listHooks(boss);
    expect(listed.find((w) => w.webhook_id === hook.webhook_id)).toEqual(view);
    expect(JSON.stringify(listed)).not.toContain(secret);
    // Room B's messages go to a webhook of their own: once it has them, they went past room A's too.
    const control = await createHook(boss, 'room-b', { events: ['message_sent'], room_id: roomB.id });

    const sent: Message[] = [];
    for (let i = 1; i <= 5; i++) {
      sent.push(await say(suite.api, i === 3 ? bob! : alice!, roomA.id, `in A ${i}`));
      if (i === 2) await say(suite.api, alice!, roomB.id, 'in B 1');
    }
    await say(suite.api, bob!, roomB.id, 'in B 2');
    // An event type the webhook did not ask for, before the edit: by the time the edit arrives, it went past.
    expectStatus(
      await suite.api.put(bob!, `/rooms/${roomA.id}/messages/${sent[0]!.id}/reactions/${encodeURIComponent('👍')}`),
      200,
    );
    expectStatus(await suite.api.patch(alice!, `/rooms/${roomA.id}/messages/${sent[0]!.id}`, { content: 'in A 1, edited' }), 200);

    await deliveredAt('room-a', 6);
    const toControl = await deliveredAt('room-b', 2);
    expect(toControl.map((body) => [body.room_id, body.data.content])).toEqual([
      [roomB.id, 'in B 1'],
      [roomB.id, 'in B 2'],
    ]);
    expect(toControl.every((body) => body.webhook_id === control.webhook_id)).toBe(true);

    const bodies = distinctAt('room-a');
    expect(bodies.map((body) => [body.type, body.data.seq])).toEqual([
      ...sent.map((message) => ['message_sent', message.seq]),
      ['message_edited', sent[0]!.seq],
    ]);
    expect(bodies[0]).toEqual({
      delivery_id: expect.stringMatching(/^\d+-\d+$/),
      webhook_id: hook.webhook_id,
      type: 'message_sent',
      occurred_at: expect.any(Number),
      room_id: roomA.id,
      data: expect.objectContaining({
        room_id: roomA.id,
        message_id: sent[0]!.id,
        seq: sent[0]!.seq,
        sender_id: alice!.id,
        client_msg_id: sent[0]!.client_msg_id,
        content: 'in A 1',
        created_at: sent[0]!.created_at,
      }),
    });
    expect(bodies[2]!.data).toMatchObject({ message_id: sent[2]!.id, sender_id: bob!.id, content: 'in A 3' });
    expect(bodies[5]).toMatchObject({
      webhook_id: hook.webhook_id,
      type: 'message_edited',
      room_id: roomA.id,
      data: { room_id: roomA.id, message_id: sent[0]!.id, seq: sent[0]!.seq, content: 'in A 1, edited', edited_by: alice!.id },
    });
    // One room's events are one partition's, in order: the offsets in the delivery ids go up.
    const positions = bodies.map((body) => body.delivery_id.split('-').map(Number) as [number, number]);
    expect(new Set(positions.map(([partition]) => partition)).size).toBe(1);
    expect(positions.map(([, offset]) => offset)).toEqual([...positions.map(([, offset]) => offset)].sort((a, b) => a - b));

    for (const delivery of receiver.received<HookBody>('room-a')) {
      expect(delivery.signatureValid).toBe(true);
      expect(delivery.headers['content-type']).toMatch(/^application\/json\b/);
      expect(delivery.headers['x-parley-webhook-id']).toBe(hook.webhook_id);
      expect(delivery.headers['x-parley-delivery-id']).toBe(delivery.body.delivery_id);
      expect(delivery.headers['x-parley-event']).toBe(delivery.body.type);
      // The check discriminates: under another secret, or with a body changed, the same header does not hold.
      const header = delivery.headers['x-parley-signature'] as string;
      expect(signatureValid(header, delivery.raw, `${secret}x`)).toBe(false);
      expect(signatureValid(header, `${delivery.raw} `, secret)).toBe(false);
    }
  });

  test('a receiver failing the first 3 requests: the events are retried and arrive in order with no gap; the delivery log shows the failed attempts before the success', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'retry');
    const room = await groupRoom(suite.api, alice!);
    receiver.respondWith('flaky', (n) => (n <= 3 ? 503 : 200));
    // A secret of the admin's choosing is used as given.
    const secret = `my-own-secret-${randomUUID()}`;
    const hook = await createHook(boss, 'flaky', { events: ['message_sent'], room_id: room.id, secret });
    expect(hook.secret).toBe(secret);

    const sent = await sayMany(alice!, room.id, 4, 'retried');
    const bodies = await deliveredAt('flaky', 4);
    expect(seqs(bodies)).toEqual(sent.map((message) => message.seq));
    expect(receiver.received('flaky').every((delivery) => delivery.signatureValid)).toBe(true);
    // 3 refused, then each of the 4 taken (at least once).
    expect(receiver.attempts('flaky').length).toBeGreaterThanOrEqual(3 + 4);

    // Newest first; one row per attempt. The first event's rows, oldest first:
    let log: DeliveryAttempt[] = [];
    await eventually(async () => {
      log = await deliveryLog(boss, hook.webhook_id);
      return bodies.every((body) => log.some((row) => row.delivery_id === body.delivery_id && row.ok));
    }, 'every delivery logged as ok');
    expect(log.map((row) => row.at)).toEqual([...log.map((row) => row.at)].sort((a, b) => b - a));
    const first = log.filter((row) => row.delivery_id === bodies[0]!.delivery_id).reverse();
    expect(first.slice(0, 4).map((row) => [row.attempt, row.ok, row.status])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, false, 503],
      [4, true, 200],
    ]);
    expect(first[0]).toMatchObject({
      delivery_id: bodies[0]!.delivery_id,
      event_type: 'message_sent',
      attempt: 1,
      status: 503,
      ok: false,
      duration_ms: expect.any(Number),
      at: expect.any(Number),
    });
    expect(first[3]).toMatchObject({ ok: true, status: 200, error: null });
  });
});

describe('pausing, resuming and replaying', () => {
  test('paused by an admin, a webhook delivers nothing; resumed, it delivers everything sent meanwhile, in order', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'pause');
    const room = await groupRoom(suite.api, alice!);
    const hook = await createHook(boss, 'paused', { events: ['message_sent'], room_id: room.id });
    const [live] = await sayMany(alice!, room.id, 1, 'live');
    await deliveredAt('paused', 1);

    const paused = expectStatus(await suite.api.post<Webhook>(boss, `${hookPath(hook.webhook_id)}/pause`), 200);
    expect(paused).toMatchObject({ webhook_id: hook.webhook_id, status: 'paused', paused_reason: 'admin' });
    expect(paused.paused_at).toEqual(expect.any(Number));
    expect(await getHook(boss, hook.webhook_id)).toMatchObject({ status: 'paused', paused_reason: 'admin' });

    const meanwhile = await sayMany(alice!, room.id, 3, 'meanwhile');
    // Nothing can be awaited for an absence: a while, in which the 3 would have come had the pause not held.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seqs(distinctAt('paused'))).toEqual([live!.seq]);

    const resumed = expectStatus(await suite.api.post<Webhook>(boss, `${hookPath(hook.webhook_id)}/resume`), 200);
    expect(resumed).toMatchObject({ webhook_id: hook.webhook_id, status: 'active', paused_reason: null });
    const bodies = await deliveredAt('paused', 4);
    expect(seqs(bodies)).toEqual([live!, ...meanwhile].map((message) => message.seq));
  });

  test('a replay from a time sends the events from there again, with the same delivery ids, in order; new events follow', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'replay');
    const room = await groupRoom(suite.api, alice!);
    const hook = await createHook(boss, 'replayed', { events: ['message_sent'], room_id: room.id });
    const fromTime = Date.now();
    const sent = await sayMany(alice!, room.id, 3, 'original');
    const firstRound = await deliveredAt('replayed', 3);
    expect(seqs(firstRound)).toEqual(sent.map((message) => message.seq));
    const before = receiver.received('replayed').length;

    const replaying = expectStatus(
      await suite.api.post<Webhook>(boss, `${hookPath(hook.webhook_id)}/replay`, { from_time: fromTime }),
      202,
    );
    expect(replaying).toMatchObject({ webhook_id: hook.webhook_id, status: 'active', replay_from: fromTime });
    const again = await deliveredAt('replayed', 3, before);
    expect(again.map((body) => body.delivery_id)).toEqual(firstRound.map((body) => body.delivery_id));
    expect(again).toEqual(firstRound);

    const later = await sayMany(alice!, room.id, 2, 'later');
    const afterReplay = await deliveredAt('replayed', 5, before);
    expect(seqs(afterReplay)).toEqual([...sent, ...later].map((message) => message.seq));
    expect(receiver.received('replayed').every((delivery) => delivery.signatureValid)).toBe(true);
  });

  test('a receiver failing for too long: the webhook pauses as failing and its creator hears so; fixed and resumed, the waiting events arrive, the failing one first', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'failing');
    const room = await groupRoom(suite.api, alice!);
    const socket = await suite.connect(boss);
    const { next_since: syncedBefore } = expectStatus(await suite.api.get<{ next_since: string }>(boss, '/sync'), 200);
    receiver.respondWith('broken', () => 500);
    const hook = await createHook(boss, 'broken', { events: ['message_sent'], room_id: room.id });

    const stuck = await sayMany(alice!, room.id, 2, 'stuck');
    const frame = await socket.next((f) => f.type === 'WEBHOOK_PAUSED' && f.data.webhook_id === hook.webhook_id, 20_000);
    expect(frame.data).toEqual({ webhook_id: hook.webhook_id, reason: 'failing', error: expect.any(String) });
    // An admin who was offline learns it from the sync feed.
    await eventually(async () => {
      const page = expectStatus(
        await suite.api.get<{ events: { type: string; data: unknown }[] }>(
          boss,
          `/sync?since=${encodeURIComponent(syncedBefore)}`,
        ),
        200,
      );
      return page.events.some((event) => event.type === 'WEBHOOK_PAUSED' && isEqual(event.data, frame.data));
    }, 'WEBHOOK_PAUSED in the sync feed');
    // The frame comes from the log; the read model shows the pause once it has applied it (distributed: a moment later).
    let paused = await getHook(boss, hook.webhook_id);
    await eventually(
      async () => (paused = await getHook(boss, hook.webhook_id)).status === 'paused',
      'the pause in the read model',
    );
    expect(paused).toMatchObject({ status: 'paused', paused_reason: 'failing', paused_at: expect.any(Number) });
    expect(paused.last_error).toEqual(expect.any(String));
    expect(receiver.received('broken')).toEqual([]);
    const failures = await deliveryLog(boss, hook.webhook_id);
    expect(failures.length).toBeGreaterThan(1);
    expect(failures.every((row) => !row.ok && row.status === 500 && row.delivery_id === failures[0]!.delivery_id)).toBe(true);

    const waiting = await sayMany(alice!, room.id, 1, 'waiting');
    receiver.respondWith('broken', () => 200);
    const resumed = expectStatus(await suite.api.post<Webhook>(boss, `${hookPath(hook.webhook_id)}/resume`), 200);
    expect(resumed).toMatchObject({ status: 'active', paused_reason: null });
    const bodies = await deliveredAt('broken', 3);
    expect(seqs(bodies)).toEqual([...stuck, ...waiting].map((message) => message.seq));
    expect(bodies[0]!.delivery_id).toBe(failures[0]!.delivery_id);
  }, 60_000);
});

describe('who may, and what is refused', () => {
  test('others get 403 forbidden; bad URLs and event types are 400 validation_failed; an unknown id is 404; a deleted webhook is gone and delivers nothing', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'nohooks');
    const room = await groupRoom(suite.api, alice!);
    const hook = await createHook(boss, 'deleted', { events: ['message_sent'], room_id: room.id });

    const valid = { url: receiver.url('never'), events: ['message_sent'] };
    expectError(await suite.api.post(alice!, '/webhooks', valid), 403, 'forbidden');
    expectError(await suite.api.get(alice!, '/webhooks'), 403, 'forbidden');
    expectError(await suite.api.get(alice!, hookPath(hook.webhook_id)), 403, 'forbidden');
    expectError(await suite.api.post(alice!, `${hookPath(hook.webhook_id)}/pause`), 403, 'forbidden');
    expectError(await suite.api.del(alice!, hookPath(hook.webhook_id)), 403, 'forbidden');
    const anonymous = await request(suite.parley.url, 'GET', '/api/v1/webhooks');
    expect(anonymous.status).toBe(401);

    for (const url of [
      'http://10.0.0.1/hook',
      'http://192.168.1.1/hook',
      'ftp://127.0.0.1/hook',
      'http://user:pw@127.0.0.1/hook',
      'not a url',
    ]) {
      expectError(await suite.api.post(boss, '/webhooks', { ...valid, url }), 400, 'validation_failed');
    }
    for (const events of [[], ['no_such_event'], ['message_sent', 'no_such_event'], 'message_sent']) {
      expectError(await suite.api.post(boss, '/webhooks', { ...valid, events }), 400, 'validation_failed');
    }
    expectError(await suite.api.post(boss, '/webhooks', { url: valid.url }), 400, 'validation_failed');
    expect((await listHooks(boss)).some((w) => w.url === valid.url)).toBe(false);
    expect(receiver.attempts('never')).toEqual([]);

    const unknown = hookPath(randomUUID());
    expectError(await suite.api.get(boss, unknown), 404, 'not_found');
    expectError(await suite.api.post(boss, `${unknown}/pause`), 404, 'not_found');

    // Delivering until deleted; after that, nothing — while a second webhook on the room shows the next event went by.
    const [delivered] = await sayMany(alice!, room.id, 1, 'delivered');
    await deliveredAt('deleted', 1);
    expectStatus(await suite.api.del(boss, hookPath(hook.webhook_id)), 204);
    expectError(await suite.api.get(boss, hookPath(hook.webhook_id)), 404, 'not_found');
    expect((await listHooks(boss)).some((w) => w.webhook_id === hook.webhook_id)).toBe(false);
    await createHook(boss, 'witness', { events: ['message_sent'], room_id: room.id });
    const [afterwards] = await sayMany(alice!, room.id, 1, 'after delete');
    expect(seqs(await deliveredAt('witness', 1))).toEqual([afterwards!.seq]);
    expect(seqs(distinctAt('deleted'))).toEqual([delivered!.seq]);
  });
});

describe('what the log keeps', () => {
  test('every act is in the admin audit; the log holds the URL sealed (erased once deleted) and never the secret', async () => {
    const boss = await theAdmin();
    const [alice] = await suite.api.users(1, 'audited');
    const room = await groupRoom(suite.api, alice!);
    const secret = `audit-secret-${randomUUID()}`;
    // A URL with a credential in it, as chat integrations' often have.
    const url = `${receiver.url('audited')}?token=tok${randomUUID().slice(0, 8)}`;
    const created = expectStatus(
      await suite.api.post<Webhook & { secret: string }>(boss, '/webhooks', {
        url,
        events: ['message_sent'],
        room_id: room.id,
        secret,
      }),
      201,
    );
    const hookId = created.webhook_id;
    const from = Date.now() - 60_000;
    for (const step of ['pause', 'resume']) expectStatus(await suite.api.post(boss, `${hookPath(hookId)}/${step}`), 200);
    expectStatus(await suite.api.post(boss, `${hookPath(hookId)}/replay`, { from_time: from }), 202);

    const audit = expectStatus(
      await suite.api.get<{
        actions: { action: string; admin_id: string; target_user_id: string | null; target_webhook_id: string | null }[];
      }>(boss, '/admin/audit?limit=100'),
      200,
    ).actions.filter((entry) => entry.target_webhook_id === hookId);
    expect(audit.map((entry) => entry.action)).toEqual(['replay_webhook', 'resume_webhook', 'pause_webhook', 'create_webhook']);
    expect(audit.every((entry) => entry.admin_id === boss.id && entry.target_user_id === null)).toBe(true);

    const env = { LOG_LEVEL: 'warn', PARLEY_DATA_DIR: suite.parley.dataDir, ...(await modeEnv(suite.parley.dataDir)) };
    const replayOf = (extra: string[] = []) =>
      parleyOutput(['replay', '--no-progress', '--topic', 'events', '--aggregate', `webhook:${hookId}`, ...extra], env);
    const analyst = await replayOf();
    expect(analyst).toContain('webhook_created');
    expect(analyst).not.toContain(url);
    expect(analyst).not.toContain('?token=');
    const operator = await replayOf(['--with-personal-data']);
    expect(operator).toContain(url);
    for (const topic of ['events', 'commands']) {
      expect(await parleyOutput(['replay', '--no-progress', '--topic', topic, '--with-personal-data'], env)).not.toContain(
        secret,
      );
    }

    expectStatus(await suite.api.del(boss, hookPath(hookId)), 204);
    const afterDelete = await replayOf(['--with-personal-data']);
    expect(afterDelete).toContain('webhook_deleted');
    expect(afterDelete).not.toContain(url);
  }, 60_000);
});

describe('across a restart', () => {
  test('a receiver down while the server restarts gets everything afterwards, in order: each webhook’s place is durable', async () => {
    const dataDir = tempDataDir('parley-webhooks-restart-');
    const env = {
      PARLEY_ADMINS: adminName,
      PARLEY_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1',
      PARLEY_WEBHOOK_RETRY_BACKOFF_MS: '50',
      PARLEY_WEBHOOK_RETRY_MAX_MS: '200',
    };
    let parley = await startParley({ dataDir, env });
    try {
      let api = apiOf(parley.url);
      const boss = await registerNamedUser(parley.url, adminName);
      const [alice] = await api.users(1, 'restart');
      const room = await groupRoom(api, alice!);
      const created = expectStatus(
        await api.post<Webhook & { secret: string }>(boss, '/webhooks', {
          url: receiver.url('restart'),
          events: ['message_sent'],
          room_id: room.id,
        }),
        201,
      );
      receiver.verify('restart', created.secret);
      const sent: Message[] = [];
      for (let i = 1; i <= 2; i++) sent.push(await say(api, alice!, room.id, `before ${i}`));
      await deliveredAt('restart', 2);

      // The receiver goes down; messages keep coming; the server stops while they wait.
      receiver.respondWith('restart', () => 503);
      for (let i = 1; i <= 2; i++) sent.push(await say(api, alice!, room.id, `while down ${i}`));
      await eventually(() => receiver.attempts('restart').length > 2, 'the receiver refusing');
      await parley.stop();

      receiver.respondWith('restart', () => 200);
      parley = await startParley({ dataDir, env });
      api = apiOf(parley.url);
      sent.push(await say(api, alice!, room.id, 'after restart'));
      const bodies = await deliveredAt('restart', 5, 0, 30_000);
      expect(seqs(bodies)).toEqual(sent.map((message) => message.seq));
      expect(receiver.received('restart').every((delivery) => delivery.signatureValid)).toBe(true);
    } finally {
      await parley.stop();
    }
  }, 120_000);
});
