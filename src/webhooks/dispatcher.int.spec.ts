// A webhook deleted or paused delivers nothing posted after the request said
// so — even while the dispatcher has not yet read the webhooks again (it does
// once the chat model shows the change; here that signal never comes, as
// under load it comes late). Over the real embedded log, each engine's store
// and key store, and a local receiver on 127.0.0.1.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageSent } from '../domain/room.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { testVault } from '../privacy/testing/test-vault.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/support/webhook-receiver.ts';
import { runWebhookDispatcher, type Dispatcher } from './dispatcher.ts';

const codec = createAvroCodec({ schemasDir });
const room = '0190a1b2-c3d4-7e5f-8a9b-0000000000c1';
const sender = '0190a1b2-c3d4-7e5f-8a9b-0000000000a1';
const hooks = ['kept', 'deleted', 'paused'] as const;
const hookId = (name: (typeof hooks)[number]) => `0190a1b2-c3d4-7e5f-8a9b-${String(hooks.indexOf(name) + 1).padStart(12, '0')}`;

describe.each(await testEngines('webhook_dispatcher'))('webhook dispatcher, deletes and pauses ($name)', (engine) => {
  let store: Store;
  let log: SqliteLog;
  let vault: PersonalDataVault;
  let receiver: WebhookReceiver;
  let dispatcher: Dispatcher;
  let seq = 0;

  beforeAll(async () => {
    store = await engine.open();
    vault = testVault(store.db);
    receiver = await startWebhookReceiver();
    log = openSqliteLog({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-webhooks-')), 'log.sqlite') });
    await log.ensureTopics(topicSpecs({ partitions: 1, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
    // As the chat projection and POST /webhooks leave them.
    for (const name of hooks) {
      await store.db
        .insertInto('webhooks')
        .values({
          id: hookId(name),
          url: receiver.url(name),
          events: JSON.stringify(['message_sent']),
          room_id: null,
          status: 'active',
          paused_reason: null,
          paused_at: null,
          last_error: null,
          replay_from: null,
          replay_generation: 0,
          created_by: sender,
          created_at: Date.now() - 1_000,
        })
        .execute();
      await store.db
        .insertInto('webhook_secrets')
        .values({ webhook_id: hookId(name), secret: `secret-${name}`, created_at: 1 })
        .execute();
    }
    dispatcher = runWebhookDispatcher({
      log,
      codec,
      vault,
      db: store.db,
      logger: pino({ level: 'silent' }),
      settings: {
        allowPrivate: ['127.0.0.1'],
        urlMax: 2_048,
        timeoutMs: 5_000,
        retryBackoffMs: 50,
        retryMaxMs: 100,
        pauseAfterMs: 60_000,
        deliveryLogMax: 100,
        // Read again only when assigned: the late refresh of a busy server, made certain.
        refreshMs: 3_600_000,
        // Woken as on Kafka by default: what gathered, once per interval.
        readDelayMs: 150,
      },
      applied: () => new Promise(() => undefined),
      pauseFailing: () => Promise.reject(new Error('no receiver fails here')),
    });
  });
  afterAll(async () => {
    await dispatcher.stop();
    await log.close();
    await receiver.close();
    await vault.stop();
    await engine.dispose();
  });

  async function post(text: string): Promise<number> {
    const { messageId, sealer } = await vault.newMessage();
    const data: MessageSent['data'] = {
      room_id: room,
      message_id: messageId,
      seq: ++seq,
      sender_id: sender,
      client_msg_id: `c-${seq}`,
      content: sealer.seal(text),
      mime_type: 'text/plain',
      reply_to: null,
      attachments: [],
      mentions: [],
      created_at: Date.now(),
    };
    await log.append(topics.events, [
      { key: `room:${room}`, value: codec.encode('message_sent', data), headers: { [headers.eventType]: 'message_sent' } },
    ]);
    return seq;
  }

  const seqsAt = (name: string) => receiver.received<{ data: { seq: number } }>(name).map((d) => d.body.data.seq);

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(condition()).toBe(true);
  }

  it('delivers nothing after the secret is gone or the pause is projected; the live one goes on', async () => {
    const first = await post('to everyone');
    await until(() => hooks.every((name) => seqsAt(name).includes(first)));

    // What DELETE /webhooks/:id does before it answers (webhooks.ts), and what the pause's projection does.
    await store.db.deleteFrom('webhook_secrets').where('webhook_id', '=', hookId('deleted')).execute();
    await store.db
      .updateTable('webhooks')
      .set({ status: 'paused', paused_reason: 'admin' })
      .where('id', '=', hookId('paused'))
      .execute();

    const second = await post('after the delete and the pause');
    const third = await post('and one more');
    await until(() => seqsAt('kept').includes(third));
    // The others' cursors read the same records as the live one's; give them the time a delivery takes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seqsAt('kept')).toEqual([first, second, third]);
    expect(seqsAt('deleted')).toEqual([first]);
    expect(seqsAt('paused')).toEqual([first]);
  });
});
