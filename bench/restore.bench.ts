// How long a processor takes to take over a partition holding one room with a
// long history (issue 13: ≤ 2 s whatever the history length), with and
// without snapshots (commands/snapshots.ts). The partition is generated
// straight into a temp embedded log: a room, its two members, N messages
// (every 100th with a reaction). Then, pinned or not as the caller runs it:
//
//   fold      a processor without snapshots restores the partition: the whole history
//   first     a processor with snapshots restores it (the same fold) and writes its
//             first snapshot: every message becomes a row of the snapshot store
//   takeover  a new processor with snapshots restores it: the snapshot and the
//             events after it (none here)
//   tail      after 5,000 more messages decided by it, another new processor
//             restores from the latest snapshot and the events after it
//   cold      the first command on the oldest message (a reaction on message 1),
//             which the new processor holds only in the snapshot store
//
// Run: node bench/restore.bench.ts [messages=1000000]   (not part of `npm test`;
// `npm run bench -- restore` runs it pinned, in rounds: bench/scenarios/restore.ts)
// STORE=mysql: the snapshot store in a throwaway MySQL/MariaDB database at
// PARLEY_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306); default SQLite.
// KAFKA=1: the partition is generated into Kafka (KAFKA_BROKERS, default the
// local stack's broker) under a fresh namespace, deleted afterwards.
//
// Each phase prints one line: `<phase>: restore <ms> ms, <n> events read,
// <snapshot>, owned after <ms> ms, heap <MB> MB`; then `first snapshot: <ms> ms`,
// `cold: <ms> ms` and `sends: <µs> µs CPU each, <n> store queries` (1,000
// messages to the spilled room, one at a time).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { startProcessor, type Processor, type SnapshotOptions } from '../src/commands/processor.ts';
import { snapshotFormat, sqlSnapshotStore } from '../src/commands/snapshots.ts';
import { initialStates } from '../src/domain/aggregates.ts';
import type { RoomCommand } from '../src/domain/room.ts';
import { createAvroCodec } from '../src/log/avro-codec.ts';
import type { Log } from '../src/log/port.ts';
import { openSqliteLog } from '../src/log/sqlite-log.ts';
import { topicSpecs, topics } from '../src/log/topics.ts';
import { newDataKey, seal } from '../src/privacy/sealing.ts';
import { appendEvents, type GeneratedEvent } from '../src/projections/testing/chat-events.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import { openStore } from '../src/store/store.ts';
import { benchKafkaBrokers, openFreshKafkaLog } from './support/fresh-kafka-log.ts';

const messages = Number(process.argv[2] ?? 1_000_000);
const engine = process.env.STORE === 'mysql' ? 'mysql' : 'sqlite';
const mysqlUrl = (process.env.PARLEY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-restore-bench-'));
const codec = createAvroCodec({ schemasDir: fileURLToPath(new URL('../schemas', import.meta.url)) });
const logger = pino({ level: 'warn' });
const roomId = '01900000-0000-7000-8000-0000000000aa';
const key = `room:${roomId}`;
const senders = ['01900000-0000-7000-8000-00000000a11c', '01900000-0000-7000-8000-0000000000b0'];

function* oneLongRoom(): Generator<GeneratedEvent> {
  const at = Date.now() - messages;
  const [alice, bob] = senders as [string, string];
  yield {
    key,
    event: { type: 'room_created', data: { room_id: roomId, type: 'group', name: 'long', created_by: alice, created_at: at } },
  };
  for (const user of senders) {
    yield {
      key,
      event: {
        type: 'user_joined_room',
        data: { room_id: roomId, user_id: user, role: user === alice ? 'owner' : 'member', added_by: alice, joined_at: at },
      },
    };
  }
  const dataKey = newDataKey();
  const content = seal('message:bench', dataKey, 'a message of about the length people write, give or take');
  for (let seq = 1; seq <= messages; seq++) {
    const message_id = `message-${seq}`;
    yield {
      key,
      event: {
        type: 'message_sent',
        data: {
          room_id: roomId,
          message_id,
          seq,
          sender_id: senders[seq % 2]!,
          client_msg_id: `client-${seq}`,
          content,
          mime_type: 'text/plain',
          reply_to: null,
          attachments: [],
          mentions: [],
          created_at: at + seq,
        },
      },
    };
    if (seq % 100 === 0) {
      yield {
        key,
        event: { type: 'reaction_added', data: { room_id: roomId, message_id, seq, emoji: '👍', user_id: bob, at: at + seq } },
      };
    }
  }
}

async function openSnapshotDatabase() {
  if (engine === 'sqlite') return openStore({ dataDir: dir });
  const name = `parley_restore_bench_${process.pid}`;
  const admin = await mysql.createConnection({ uri: mysqlUrl });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const store = openStore({ dataDir: dir, databaseUrl: `${mysqlUrl}/${name}` });
  return {
    ...store,
    async close() {
      await store.close();
      const connection = await mysql.createConnection({ uri: mysqlUrl });
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}

/** One partition: the room's. */
async function openLog(): Promise<{ log: Log; dispose(): Promise<void> }> {
  if (process.env.KAFKA) {
    const fresh = await openFreshKafkaLog({ brokers: benchKafkaBrokers(), partitions: 1 });
    return { log: fresh.log, dispose: () => fresh.dispose() };
  }
  const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), onError: (error) => console.error(error) });
  await log.ensureTopics(topicSpecs({ partitions: 1, commandsRetentionMs: 3_600_000, signalsRetentionMs: 3_600_000 }));
  return { log, dispose: () => log.close() };
}

const source = await openLog();
const log = source.log;
let started = performance.now();
// Kafka takes a produce request of at most 1 MB: 1,000 of these events are about 0.3 MB.
await appendEvents(log, codec, oneLongRoom(), 1_000);
const total = await log.endOffset(topics.events, 0);
console.log(
  `generated ${total} events (${messages} messages, ${engine} snapshot store${process.env.KAFKA ? ', Kafka' : ''}) ` +
    `in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);

const store = await openSnapshotDatabase();
await migrateToLatest(store.db);
const snapshotStore = sqlSnapshotStore(store.db, 'bench', snapshotFormat(initialStates()));
/** Queries of the store for cold entries (a message, a client_msg_id) that memory lacked. */
let storeQueries = 0;
const snapshots: SnapshotOptions = {
  store: {
    ...snapshotStore,
    loadEntries: (aggregateId, ids) => {
      storeQueries++;
      return snapshotStore.loadEntries(aggregateId, ids);
    },
  },
  everyEvents: 10_000,
  hotEntries: 1_000,
};
let group = 0;

/** Starts a processor and waits until it owns the partition; returns it with the wall time and its restore report. */
async function takeOver(withSnapshots: boolean) {
  const begin = performance.now();
  const processor = await startProcessor({
    log,
    codec,
    logger,
    instanceId: `bench-${group}`,
    recentCommands: 1000,
    group: `bench-${++group}`,
    ...(withSnapshots ? { snapshots } : {}),
  });
  while (processor.ownedPartitions().length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const wallMs = performance.now() - begin;
  const report = processor.restores()[0]!;
  const heapMb = process.memoryUsage().heapUsed / 1e6;
  return { processor, wallMs, report, heapMb };
}

function print(label: string, result: Awaited<ReturnType<typeof takeOver>>) {
  const { report, wallMs, heapMb } = result;
  const from = report.snapshotOffset === null ? 'no snapshot' : `snapshot at ${report.snapshotOffset}`;
  console.log(
    `${label}: restore ${report.ms} ms, ${report.eventsRead} events read, ${from}, ` +
      `owned after ${wallMs.toFixed(0)} ms, heap ${heapMb.toFixed(0)} MB`,
  );
}

const command = (type: RoomCommand['type'], data: object, user = senders[1]!): RoomCommand =>
  ({
    type,
    data: { room_id: roomId, ...data },
    metadata: { command_id: `bench-${Math.random()}`, user_id: user, at: Date.now() },
  }) as RoomCommand;
const decide = (processor: Processor, c: RoomCommand) => processor.decideHere(c, c.metadata.command_id)!;

const fold = await takeOver(false);
print('fold', fold);
await fold.processor.stop();
globalThis.gc?.();

const first = await takeOver(true);
print('first', first);
console.log(`first snapshot: ${(first.wallMs - first.report.ms).toFixed(0)} ms`);
await first.processor.stop();
globalThis.gc?.();

const takeover = await takeOver(true);
print('takeover', takeover);
started = performance.now();
const cold = await decide(takeover.processor, command('react', { message_id: 'message-1', emoji: '🎉', add: true }));
if (cold.status !== 'accepted') throw new Error(`the reaction on message 1 was refused: ${JSON.stringify(cold)}`);
console.log(`cold: ${(performance.now() - started).toFixed(1)} ms`);
const dataKey = newDataKey();
const more = (n: number) =>
  decide(
    takeover.processor,
    command(
      'send_message',
      {
        message_id: `more-${n}`,
        client_msg_id: `more-${n}`,
        content: seal(`message:more-${n}`, dataKey, 'more'),
        mime_type: 'text/plain',
        reply_to: null,
        attachments: [],
      },
      senders[0],
    ),
  );
// One at a time, as a quiet room's messages come: each its own batch, so a
// lookup of its client_msg_id in the store would be one query per message.
const queriesBefore = storeQueries;
const cpuBefore = process.cpuUsage();
for (let n = 1; n <= 1_000; n++) await more(n);
const cpu = process.cpuUsage(cpuBefore);
console.log(`sends: ${((cpu.user + cpu.system) / 1_000).toFixed(1)} µs CPU each, ${storeQueries - queriesBefore} store queries`);
// The rest in batches of 100 (group commit), for the tail below.
for (let n = 1_001; n <= 5_000; n += 100) await Promise.all(Array.from({ length: 100 }, (_, i) => more(n + i)));
await takeover.processor.stop();
globalThis.gc?.();

const tail = await takeOver(true);
print('tail', tail);
await tail.processor.stop();

await source.dispose();
await store.close();
fs.rmSync(dir, { recursive: true, force: true });
