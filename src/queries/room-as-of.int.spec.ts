// The room as it was, read past a message whose sealed text was altered in
// the log (GCM's tag no longer matches): the view answers, that message shows
// `seal_broken` with no text, and the messages around it — and an edit of it
// that does open — read as usual. Over the real embedded log and the real key
// store of each engine.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomEvent } from '../domain/room.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { alteredSeal } from '../privacy/testing/altered-seal.ts';
import { testVault } from '../privacy/testing/test-vault.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Store } from '../store/store.ts';
import { userRow } from '../store/testing/read-model-rows.ts';
import { testEngines } from '../../test/support/engines.ts';
import { readRoomAsOf } from './room-as-of.ts';

const codec = createAvroCodec({ schemasDir });
const room = '0190a1b2-c3d4-7e5f-8a9b-0000000000c1';
const admin = '0190a1b2-c3d4-7e5f-8a9b-0000000000a1';

describe.each(await testEngines('room_as_of'))('the room as it was, past a broken seal ($name)', (engine) => {
  let store: Store;
  let log: SqliteLog;
  let vault: PersonalDataVault;
  let seq = 0;

  beforeAll(async () => {
    store = await engine.open();
    vault = testVault(store.db);
    log = openSqliteLog({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-as-of-')), 'log.sqlite') });
    await log.ensureTopics(topicSpecs({ partitions: 1, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
    await store.db
      .insertInto('users')
      .values(userRow(admin, 'asof_admin', { display_name: 'Admin' }))
      .execute();
    await append({
      type: 'room_created',
      data: { room_id: room, type: 'group', name: 'disputes', created_by: admin, created_at: 1 },
    });
  });
  afterAll(async () => {
    await log.close();
    await vault.stop();
    await engine.dispose();
  });

  async function append(event: RoomEvent): Promise<void> {
    await log.append(topics.events, [
      { key: `room:${room}`, value: codec.encode(event.type, event.data), headers: { [headers.eventType]: event.type } },
    ]);
  }

  /** A message as the processor writes it, its text sealed under its own key; `altered`: no longer opens. */
  async function send(text: string, altered = false) {
    const { messageId, sealer } = await vault.newMessage();
    const content = altered ? alteredSeal(sealer.seal(text)) : sealer.seal(text);
    const message = { message_id: messageId, seq: ++seq, sealer };
    await append({
      type: 'message_sent',
      data: {
        room_id: room,
        message_id: messageId,
        seq: message.seq,
        sender_id: admin,
        client_msg_id: `c-${message.seq}`,
        content,
        mime_type: 'text/plain',
        reply_to: null,
        attachments: [],
        mentions: [],
        created_at: 10 + message.seq,
      },
    });
    return message;
  }

  async function edit(message: Awaited<ReturnType<typeof send>>, text: string, altered = false): Promise<void> {
    const content = altered ? alteredSeal(message.sealer.seal(text)) : message.sealer.seal(text);
    await append({
      type: 'message_edited',
      data: {
        room_id: room,
        message_id: message.message_id,
        seq: message.seq,
        content,
        mentions: [],
        edited_by: admin,
        edited_at: 50,
      },
    });
  }

  it('answers, with the broken message marked and no text, and reads the rest', async () => {
    await send('before');
    await send('tampered with', true);
    const mended = await send('also tampered with', true);
    await edit(mended, 'the edit opens');
    const spoiled = await send('fine at first');
    await edit(spoiled, 'the edit is broken', true);
    await send('after');

    const view = await readRoomAsOf({ log, codec, vault, db: store.db, admins: ['asof_admin'], maxRecords: 1_000 }, admin, room, {
      t: Date.now() + 1_000,
      limit: 50,
    });
    expect(view.room).toMatchObject({ name: 'disputes' });
    expect(view.messages.map((m) => [m.seq, m.content, m.seal_broken, m.erased])).toEqual([
      [1, 'before', false, false],
      [2, null, true, false],
      [3, 'the edit opens', false, false],
      [4, null, true, false],
      [5, 'after', false, false],
    ]);
  });
});
