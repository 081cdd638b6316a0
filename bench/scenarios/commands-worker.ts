// One measured run of scenario 5, in its own process (the harness pins it to
// the server CPU). In-process, as `parley start` wires it, on the embedded log
// (`log: 'sqlite'`) or on Kafka (`log: 'kafka'`: Parley's Kafka adapter under a
// fresh namespace, bench/support/fresh-kafka-log.ts):
//
//   processor: the command bus appends send_message commands for many rooms
//              and senders, the processor decides them, appends the events
//              and answers the outcomes; W commands stay in flight (closed
//              loop) → commands accepted per second and CPU per command. Then
//              the processor is stopped and a new one restores every
//              partition's aggregates from the events it produced → restore
//              time per partition and events restored per second.
//   log:       the floor under it: the same number of records in flight, each
//              appended to the log and seen by a consumer (append → consume
//              round trip), nothing decided. On Kafka the floor is kafkajs
//              itself, no Parley code (bench/support/kafka-raw.ts), so it
//              shows what the adapter and the processor add to the client
//              library and the broker.
//
//   node bench/scenarios/commands-worker.ts '<json args>'   → one JSON line

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createCommandBus } from '../../src/commands/command-bus.ts';
import { startProcessor } from '../../src/commands/processor.ts';
import { createAvroCodec } from '../../src/log/avro-codec.ts';
import type { Log } from '../../src/log/port.ts';
import { openSqliteLog } from '../../src/log/sqlite-log.ts';
import { topics, topicSpecs } from '../../src/log/topics.ts';
import { openFreshKafkaLog } from '../support/fresh-kafka-log.ts';
import { rawKafkaClosedLoop, RAW_RECORD_BYTES } from '../support/kafka-raw.ts';
import { measuredWindow } from '../support/proc.ts';

export interface CommandsArgs {
  kind: 'processor' | 'log';
  log: 'sqlite' | 'kafka';
  /** Kafka's bootstrap brokers (log: 'kafka'). */
  brokers: string[];
  rooms: number;
  membersPerRoom: number;
  inFlight: number;
  warmupS: number;
  durationS: number;
  partitions: number;
}

export interface CommandsResult {
  kind: 'processor' | 'log';
  accepted: number;
  windowS: number;
  perS: number;
  cpuS: number;
  cpuPct: number;
  cpuUsPerCommand: number;
  latency: { p50: number | null; p99: number | null };
  rejected: number;
  restore?: {
    partitions: number;
    events: number;
    aggregates: number;
    /** Wall time from starting the new processor until every partition was restored. */
    wallMs: number;
    /** Sum and max of the per-partition restore times the processor logs. */
    sumMs: number;
    maxMs: number;
    eventsPerS: number;
  };
}

const args = JSON.parse(process.argv[2]!) as CommandsArgs;
const schemasDir = fileURLToPath(new URL('../../schemas/', import.meta.url));
const onError = (error: unknown, context: string) => console.error(context, error);

/** The log this run measures, with Parley's topics; `close` also removes what the run left. */
async function openLog(): Promise<{ log: Log; close: () => Promise<void> }> {
  if (args.log === 'kafka') {
    const fresh = await openFreshKafkaLog({ brokers: args.brokers, partitions: args.partitions, onError });
    return { log: fresh.log, close: () => fresh.dispose() };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bench-commands-'));
  const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), onError });
  await log.ensureTopics(
    topicSpecs({ partitions: args.partitions, commandsRetentionMs: 86_400_000, signalsRetentionMs: 3_600_000 }),
  );
  return {
    log,
    async close() {
      await log.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Restore reports arrive as log lines; collect them.
const restored: { partition: number; aggregates: number; events: number; ms: number }[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) {
      if (!line.includes('partition restored')) continue;
      restored.push(JSON.parse(line) as (typeof restored)[number]);
    }
    done();
  },
});
const logger = pino({ level: 'info' }, sink);

const rooms = Array.from({ length: args.rooms }, () => ({
  id: randomUUID(),
  members: Array.from({ length: args.membersPerRoom }, () => randomUUID()),
}));
const content = 'benchmark message: the quick brown fox jumps over the lazy dog!!';

let stopSending = false;
let recording = false;
let accepted = 0;
let rejected = 0;
let next = 0;
const latencies: number[] = [];

/** Keeps `inFlight` operations running; `one(i)` resolves true when accepted. */
async function closedLoop(one: (i: number) => Promise<boolean>): Promise<void> {
  const worker = async () => {
    while (!stopSending) {
      const i = next++;
      const started = performance.now();
      const ok = await one(i);
      if (recording) {
        if (ok) accepted++;
        else rejected++;
        latencies.push(performance.now() - started);
      }
    }
  };
  await Promise.all(Array.from({ length: args.inFlight }, worker));
}

async function measure(one: (i: number) => Promise<boolean>) {
  const loop = closedLoop(one);
  const { windowS, cpuS } = await measuredWindow(args.warmupS, args.durationS, (open) => (recording = open));
  stopSending = true;
  await loop;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 100) / 100;
  return {
    accepted,
    windowS: Math.round(windowS * 1000) / 1000,
    perS: Math.round(accepted / windowS),
    cpuS: Math.round(cpuS * 1000) / 1000,
    cpuPct: Math.round((1000 * cpuS) / windowS) / 10,
    cpuUsPerCommand: accepted > 0 ? Math.round((1e6 * cpuS) / accepted) : 0,
    latency: { p50: q(0.5), p99: q(0.99) },
    rejected,
  };
}

/** Bus + processor: commands accepted per second, then the restore of every partition. */
async function processorRun(log: Log): Promise<CommandsResult> {
  const avro = createAvroCodec({ schemasDir });
  const codec = avro;
  const processor = await startProcessor({ log, codec, logger, instanceId: randomUUID(), recentCommands: 1000 });
  const bus = await createCommandBus({ log, instanceId: randomUUID(), timeoutMs: 60_000 });
  const metadata = (userId: string) => ({ command_id: randomUUID(), user_id: userId, at: Date.now() });
  for (let i = 0; i < rooms.length; i += 100) {
    await Promise.all(
      rooms.slice(i, i + 100).map((room) =>
        bus.send({
          type: 'create_room',
          data: { room_id: room.id, type: 'group', name: 'bench', member_ids: room.members.slice(1) },
          metadata: metadata(room.members[0]!),
        }),
      ),
    );
  }
  const measured = await measure(async (i) => {
    const room = rooms[i % rooms.length]!;
    const sender = room.members[Math.floor(i / rooms.length) % room.members.length]!;
    const outcome = await bus.send({
      type: 'send_message',
      data: {
        room_id: room.id,
        message_id: randomUUID(),
        client_msg_id: String(i),
        content,
        mime_type: 'text/plain',
        reply_to: null,
        attachments: [],
      },
      metadata: metadata(sender),
    });
    return outcome.status === 'accepted';
  });
  await processor.stop();

  // Restore: a fresh processor (new instance) takes every partition and
  // rebuilds its aggregates from the events log.
  restored.length = 0;
  const started = performance.now();
  const second = await startProcessor({ log, codec, logger, instanceId: randomUUID(), recentCommands: 1000 });
  while (restored.length < args.partitions && performance.now() - started < 300_000) await sleep(5);
  const wallMs = performance.now() - started;
  await second.stop();
  await bus.stop();
  const events = restored.reduce((sum, r) => sum + r.events, 0);
  const sumMs = restored.reduce((sum, r) => sum + r.ms, 0);
  return {
    kind: 'processor',
    ...measured,
    restore: {
      partitions: restored.length,
      events,
      aggregates: restored.reduce((sum, r) => sum + r.aggregates, 0),
      wallMs: Math.round(wallMs),
      sumMs,
      maxMs: Math.max(0, ...restored.map((r) => r.ms)),
      eventsPerS: Math.round(events / (wallMs / 1000)),
    },
  };
}

/** Append → consume round trip on Parley's bare log: same record size as a command. */
async function bareLogRun(log: Log): Promise<CommandsResult> {
  const waiting = new Map<string, () => void>();
  const consumer = await log.consume({
    topic: topics.commands,
    group: null,
    from: 'latest',
    eachBatch: ({ records }) => {
      for (const record of records) {
        const id = record.headers.id!;
        waiting.get(id)?.();
        waiting.delete(id);
      }
    },
  });
  const value = Buffer.alloc(RAW_RECORD_BYTES, 120);
  const measured = await measure(async (i) => {
    const room = rooms[i % rooms.length]!;
    const id = String(i);
    const seen = new Promise<void>((resolve) => waiting.set(id, resolve));
    await log.append(topics.commands, [{ key: `room:${room.id}`, value, headers: { id } }]);
    await seen;
    return true;
  });
  await consumer.stop();
  return { kind: 'log', ...measured };
}

/** kafkajs' own produce → consume round trip, as many in flight, no Parley code. */
async function rawKafkaRun(): Promise<CommandsResult> {
  const raw = await rawKafkaClosedLoop({
    brokers: args.brokers,
    partitions: args.partitions,
    inFlight: args.inFlight,
    warmupS: args.warmupS,
    durationS: args.durationS,
  });
  return {
    kind: 'log',
    accepted: raw.roundTrips,
    windowS: raw.windowS,
    perS: raw.perS,
    cpuS: raw.cpuS,
    cpuPct: raw.cpuPct,
    cpuUsPerCommand: raw.cpuUsPerRecord,
    latency: { p50: raw.latency.p50, p99: raw.latency.p99 },
    rejected: 0,
  };
}

let result: CommandsResult;
if (args.kind === 'log' && args.log === 'kafka') {
  result = await rawKafkaRun();
} else {
  const { log, close } = await openLog();
  result = args.kind === 'processor' ? await processorRun(log) : await bareLogRun(log);
  await close();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
