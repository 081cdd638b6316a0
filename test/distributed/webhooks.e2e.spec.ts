// Webhooks across instances: two Parley processes share the events log's
// partitions for delivery (a consumer group); when one is killed its
// partitions move to the other, and when it comes back they move again. A
// webhook's place per partition is in the database, so whichever instance
// delivers a partition goes on from where the last one stopped: every
// message reaches the receiver, each room's in order.

import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { acceptInvitations, eventually } from '../support/chat.ts';
import { registerNamedUser, registerUser, request, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';
import type { Message } from '../support/wire.ts';

const available = await stackAvailable('distributed webhooks');
const adminName = `hooks_${randomUUID().slice(0, 8)}`;

interface Delivered {
  delivery_id: string;
  room_id: string;
  data: { seq: number };
}

describe.runIf(available)('webhooks on two instances', () => {
  let cluster: Cluster;
  let receiver: WebhookReceiver;
  const url = (i: number) => cluster.nodes[i]!.url;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    cluster = await startCluster('webhooks', 2, {
      PARLEY_ADMINS: adminName,
      PARLEY_WEBHOOK_ALLOW_PRIVATE: '127.0.0.1',
      PARLEY_WEBHOOK_RETRY_BACKOFF_MS: '50',
      PARLEY_WEBHOOK_RETRY_MAX_MS: '400',
    });
    await cluster.start();
    await cluster.start();
    return async () => {
      await cluster.stop();
      await receiver.close();
    };
  }, 180_000);

  async function roomOf(owner: TestUser): Promise<string> {
    const response = await request(url(0), 'POST', '/api/v1/rooms', { token: owner.token, body: { name: 'hooked' } });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    await acceptInvitations(url(0), response.body.id as string, []);
    return response.body.id as string;
  }

  /** Sends one message through instance `via`. */
  async function say(owner: TestUser, roomId: string, content: string, via: number): Promise<Message> {
    const response = await request<Message>(url(via), 'POST', `/api/v1/rooms/${roomId}/messages`, {
      token: owner.token,
      body: { content, client_msg_id: randomUUID() },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  }

  test('an instance killed and restarted: every message of every room arrives, each room’s in order', async () => {
    const admin = await registerNamedUser(url(0), adminName);
    const owner = await registerUser(url(0), 'hookowner');
    // Eight rooms: over four partitions, both instances deliver some.
    const rooms: string[] = [];
    for (let i = 0; i < 8; i++) rooms.push(await roomOf(owner));
    const created = await request<{ secret: string }>(url(0), 'POST', '/api/v1/webhooks', {
      token: admin.token,
      body: { url: receiver.url('cluster'), events: ['message_sent'] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    receiver.verify('cluster', created.body.secret);

    const sent = new Map<string, number[]>(rooms.map((room) => [room, []]));
    const round = async (label: string, via: number) => {
      for (const room of rooms) sent.get(room)!.push((await say(owner, room, label, via)).seq);
    };
    await round('both up', 0);
    await round('both up', 1);

    await cluster.nodes[1]!.kill();
    await round('one killed', 0);
    await round('one killed', 0);
    await cluster.restart(1, 'term'); // a new process in its place (the old one is gone already)
    await round('back', 1);
    await round('back', 0);

    const expected = [...sent.values()].reduce((sum, seqs) => sum + seqs.length, 0);
    const distinct = () => {
      const seen = new Map<string, Delivered>();
      for (const { body } of receiver.received<Delivered>('cluster'))
        if (!seen.has(body.delivery_id)) seen.set(body.delivery_id, body);
      return [...seen.values()];
    };
    await eventually(() => distinct().length >= expected, `${expected} deliveries`, 90_000);
    for (const room of rooms) {
      const seqs = distinct()
        .filter((body) => body.room_id === room)
        .map((body) => body.data.seq);
      expect(seqs, room).toEqual(sent.get(room));
    }
    expect(receiver.received('cluster').every((delivery) => delivery.signatureValid)).toBe(true);
  }, 240_000);
});
