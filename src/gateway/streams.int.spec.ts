// The gateway's event stream when keys cannot be read (the key store down, in
// a distributed deployment): events park in order behind the first one it
// cannot open and are delivered — in order, opened — once it can; meanwhile
// the senders connected here are still acknowledged, their keys being in
// memory. An event whose value does not open with its own key (altered in the
// log) is passed, and the stream goes on. Only messages are opened (no other
// frame carries a sealed value). Over the real embedded log and key
// store; the fan-out is the recorder a gateway's would be.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyEvent } from '../domain/aggregates.ts';
import type { MessageSent } from '../domain/room.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Consumer } from '../log/port.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { isSealed } from '../privacy/sealing.ts';
import { alteredSeal } from '../privacy/testing/altered-seal.ts';
import { createVault, type PersonalDataVault } from '../privacy/vault.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { createAcceptedMessages } from './accepted-messages.ts';
import type { OpenedEvent } from './fanout.ts';
import { SessionRegistry, type Session } from './sessions.ts';
import { createStreamedPositions, followEvents } from './streams.ts';

const codec = createAvroCodec({ schemasDir });
const room = '0190a1b2-c3d4-7e5f-8a9b-0000000000c1';
const here = '0190a1b2-c3d4-7e5f-8a9b-0000000000a1'; // connected to this gateway
const elsewhere = '0190a1b2-c3d4-7e5f-8a9b-0000000000b2'; // connected to another

const [sqlite] = await testEngines('gateway_streams');

describe('gateway event stream while keys cannot be read', () => {
  let store: Store;
  let log: SqliteLog;
  let consumer: Consumer;
  let keyStoreDown = false;
  let gatewayVault: PersonalDataVault; // this gateway's
  let otherVault: PersonalDataVault; // another instance's
  const delivered: OpenedEvent[] = [];
  const accepted = createAcceptedMessages(100);
  let seq = 0;

  beforeAll(async () => {
    store = await sqlite!.open();
    // This gateway's view of the key store: it fails while `keyStoreDown`.
    const flaky = store.db.withPlugin({
      transformQuery: (args) => {
        if (keyStoreDown) throw new Error('key store unreachable');
        return args.node;
      },
      transformResult: (args) => Promise.resolve(args.result),
    });
    gatewayVault = createVault({ db: flaky, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 4 });
    otherVault = createVault({ db: store.db, cacheTtlMs: 60_000, cacheSize: 100, messageKeysAhead: 4 });
    log = openSqliteLog({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-streams-')), 'log.sqlite') });
    await log.ensureTopics(topicSpecs({ partitions: 1, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
    const sessions = new SessionRegistry();
    sessions.add({
      id: 's1',
      userId: here,
      login: null,
      rooms: null,
      joined: new Set(),
      cursors: new Map(),
    } as unknown as Session);
    consumer = await followEvents({
      log,
      codec,
      vault: gatewayVault,
      logger: pino({ level: 'silent' }),
      positions: createStreamedPositions({
        progress: { reached: () => undefined, waitFor: () => Promise.resolve(true) },
        projection: 'chat',
        timeoutMs: 1_000,
      }),
      fanout: { deliver: (event) => void delivered.push(event) },
      accepted,
      sessions,
      retryMs: 50,
    });
  });
  afterAll(async () => {
    await consumer.stop();
    await log.close();
    await gatewayVault.stop();
    await otherVault.stop();
    await sqlite!.dispose();
  });

  /** A message sent through `vault`'s instance, appended as the processor would; `altered`: its sealed content no longer opens. */
  async function send(vault: PersonalDataVault, sender: string, text: string, commandId: string, altered = false) {
    const { messageId, sealer } = await vault.newMessage();
    const content = altered ? alteredSeal(sealer.seal(text)) : sealer.seal(text);
    const data: MessageSent['data'] = {
      room_id: room,
      message_id: messageId,
      seq: ++seq,
      sender_id: sender,
      client_msg_id: commandId,
      content,
      mime_type: 'text/plain',
      reply_to: null,
      attachments: [],
      mentions: [],
      created_at: Date.now(),
    };
    return append('message_sent', data, commandId);
  }

  async function append(type: AnyEvent['type'], data: unknown, commandId: string) {
    const [position] = await log.append(topics.events, [
      {
        key: `room:${room}`,
        value: codec.encode(type, data),
        headers: { [headers.eventType]: type, [headers.commandId]: commandId },
      },
    ]);
    return position!;
  }

  const contents = () => delivered.map((event) => (event as Extract<AnyEvent, { type: 'message_sent' }>).data.content);

  it('parks behind an unreadable key, acknowledges its own senders meanwhile, then delivers everything in order', async () => {
    await gatewayVault.newMessage(); // fills this gateway's keys ahead while the store answers
    keyStoreDown = true;
    await send(otherVault, elsewhere, 'first, from another instance', 'c1');
    const mine = await send(gatewayVault, here, 'second, mine', 'c2');
    await send(otherVault, elsewhere, 'third', 'c3');

    // The sender here is answered although the stream cannot open the first message.
    const ack = await accepted.messageOf('c2', mine, 5_000);
    expect(ack?.content).toBe('second, mine');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(delivered).toEqual([]); // nothing out of order, nothing as erased

    keyStoreDown = false;
    const deadline = Date.now() + 5_000;
    while (delivered.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(contents()).toEqual(['first, from another instance', 'second, mine', 'third']);
    expect(delivered.every((event) => !event.erased)).toBe(true);
  });

  it('passes an event whose sealed value does not open, and delivers the ones after it', async () => {
    delivered.length = 0;
    await send(otherVault, elsewhere, 'before', 'c4');
    await send(otherVault, elsewhere, 'altered', 'c5', true);
    await send(otherVault, elsewhere, 'after', 'c6');
    const deadline = Date.now() + 5_000;
    while (delivered.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(contents()).toEqual(['before', 'after']);
  });

  it('opens only messages: an edit passes while the key store is down, a message after it waits for its key', async () => {
    delivered.length = 0;
    const { messageId, sealer } = await otherVault.newMessage();
    keyStoreDown = true;
    try {
      await append(
        'message_edited',
        {
          room_id: room,
          message_id: messageId,
          seq: 1,
          content: sealer.seal('edited: frames read the edit from the read model'),
          mentions: [],
          edited_by: elsewhere,
          edited_at: Date.now(),
        },
        'c8',
      );
      await send(otherVault, elsewhere, 'a message waits', 'c9');
      const deadline = Date.now() + 5_000;
      while (delivered.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(delivered.map((event) => event.type)).toEqual(['message_edited']);
      // Passed as it was: sealed, not erased.
      expect(delivered[0]!.erased).toBe(false);
      expect(isSealed((delivered[0]!.data as { content: string }).content)).toBe(true);
    } finally {
      keyStoreDown = false;
    }
    const deadline = Date.now() + 5_000;
    while (delivered.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((delivered[1] as Extract<AnyEvent, { type: 'message_sent' }>).data.content).toBe('a message waits');
  });
});
