// `parley replay` over the embedded log: filters, decoding, follow, and that it
// never disturbs the service's consumer groups.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventCodec } from './codec.ts';
import { schemasDir } from '../compose.ts';
import { createAvroCodec } from './avro-codec.ts';
import { openSqliteLog, type SqliteLog } from './sqlite-log.ts';
import { replay, type ReplayLine, type ReplayOptions } from './replay.ts';
import { headers, topicSpecs, topics } from './topics.ts';

const avro = createAvroCodec({ schemasDir });
const codec: EventCodec = avro;
const logs: SqliteLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

async function logWithEvents() {
  const log = openSqliteLog({ path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-replay-')), 'log.sqlite') });
  logs.push(log);
  await log.ensureTopics(topicSpecs({ partitions: 3, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
  const event = (type: string, key: string, data: unknown) => ({
    key,
    partition: log.partitionForKey(topics.events, key),
    value: codec.encode(type, data),
    headers: { [headers.eventType]: type },
  });
  const room = (n: number) => `0190000${n}-0000-7000-8000-000000000000`;
  const records = [];
  for (let n = 1; n <= 3; n++) {
    records.push(
      event('room_created', `room:${room(n)}`, {
        room_id: room(n),
        type: 'group',
        name: `r${n}`,
        created_by: 'u',
        created_at: n,
      }),
    );
    for (let seq = 1; seq <= n; seq++) {
      records.push(
        event('message_sent', `room:${room(n)}`, {
          room_id: room(n),
          message_id: `m${n}.${seq}`,
          seq,
          sender_id: 'u',
          client_msg_id: `c${seq}`,
          content: `hello ${seq} 👋`,
          mime_type: 'text/plain',
          reply_to: null,
          attachments: [],
          mentions: [],
          created_at: 1000 * seq,
        }),
      );
    }
  }
  await log.append(topics.events, records);
  return { log, room };
}

async function run(log: SqliteLog, options: Partial<ReplayOptions>, signal?: AbortSignal): Promise<ReplayLine[]> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await replay(
    log,
    codec,
    { topic: topics.events, partitions: [], types: [], follow: false, includeStale: false, ...options },
    out,
    { signal },
  );
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ReplayLine);
}

describe('replay', () => {
  it('decodes every event of the log to JSON lines with position, type and data', async () => {
    const { log } = await logWithEvents();
    const lines = await run(log, {});
    expect(lines).toHaveLength(9);
    const message = lines.find((l) => l.type === 'message_sent')!;
    expect(message.data).toMatchObject({ content: expect.stringContaining('👋'), seq: expect.any(Number) });
    expect(message).toMatchObject({ topic: topics.events, partition: expect.any(Number), offset: expect.any(Number) });
  });

  it('filters by type, aggregate and partition', async () => {
    const { log, room } = await logWithEvents();
    expect(await run(log, { types: ['room_created'] })).toHaveLength(3);
    const third = await run(log, { aggregate: `room:${room(3)}`, types: ['message_sent'] });
    expect(third.map((l) => (l.data as { seq: number }).seq)).toEqual([1, 2, 3]);
    const partition = log.partitionForKey(topics.events, `room:${room(2)}`);
    const inPartition = await run(log, { partitions: [partition] });
    expect(inPartition.every((l) => l.partition === partition)).toBe(true);
    expect(inPartition.some((l) => l.key === `room:${room(2)}`)).toBe(true);
  });

  it('filters by offset range and by append time', async () => {
    const { log } = await logWithEvents();
    const all = await run(log, {});
    const partition = all[0]!.partition;
    const ranged = await run(log, { partitions: [partition], fromOffset: 1, toOffset: 1 });
    expect(ranged.map((l) => l.offset)).toEqual([1]);
    const future = await run(log, { fromTime: Date.now() + 60_000 });
    expect(future).toEqual([]);
    const past = await run(log, { toTime: 1 });
    expect(past).toEqual([]);
  });

  it('follows new records until stopped, without committing any consumer group offset', async () => {
    const { log, room } = await logWithEvents();
    const abort = new AbortController();
    const out = new PassThrough();
    const seen: ReplayLine[] = [];
    out.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) seen.push(JSON.parse(line) as ReplayLine);
    });
    const running = replay(
      log,
      codec,
      { topic: topics.events, partitions: [], types: ['room_created'], follow: true, includeStale: false },
      out,
      { signal: abort.signal },
    );
    const key = `room:${room(7)}`;
    await new Promise((resolve) => setTimeout(resolve, 50));
    await log.append(topics.events, [
      {
        key,
        partition: log.partitionForKey(topics.events, key),
        value: codec.encode('room_created', { room_id: room(7), type: 'group', name: 'late', created_by: 'u', created_at: 7 }),
        headers: { [headers.eventType]: 'room_created' },
      },
    ]);
    const deadline = Date.now() + 5000;
    while (!seen.some((l) => (l.data as { name?: string }).name === 'late') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    abort.abort();
    expect(await running).toBe(4);
    expect(seen.map((l) => (l.data as { name: string }).name)).toEqual(expect.arrayContaining(['r1', 'r2', 'r3', 'late']));
  });
});
