// How fast `parley rebuild chat` replays the events log into fresh tables, on
// SQLite and on MySQL/MariaDB. The log is generated (projections/testing/
// chat-events.ts: the real deciders, messages in bursts, reads, reactions,
// edits, members, friends, blocks) into a temp embedded log first, or with
// KAFKA=1 into Kafka (KAFKA_BROKERS, default the local stack's broker) under a
// fresh namespace whose topics and groups are deleted afterwards — the
// distributed stack's rebuild, which then includes joining the consumer group.
// Run: node bench/rebuild.bench.ts [events=200000] [batch=5000]   (not part of `npm test`)
// MySQL: PARLEY_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306); a
// throwaway database is created and dropped. SKIP_MYSQL=1 / SKIP_SQLITE=1.
// SEALED=1: messages carry their text sealed under a key per message, as
// Parley writes them (docs/PRIVACY.md), with the keys in each engine's key
// store: the rebuild then opens every message, as a real one does.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kysely, MysqlDialect, type Dialect, type LogEvent } from 'kysely';
import { createPool } from 'mysql2';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { createAvroCodec } from '../src/log/avro-codec.ts';
import type { Log } from '../src/log/port.ts';
import { openSqliteLog } from '../src/log/sqlite-log.ts';
import { topicSpecs } from '../src/log/topics.ts';
import { chatModel } from '../src/projections/chat-schema.ts';
import { rebuild } from '../src/projections/rebuild.ts';
import { appendEvents, chatEvents } from '../src/projections/testing/chat-events.ts';
import { migrateToLatest } from '../src/store/migrate.ts';
import type { Database } from '../src/store/schema.ts';
import { openSqliteFile } from '../src/store/sqlite-dialect.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { benchKafkaBrokers, openFreshKafkaLog } from './support/fresh-kafka-log.ts';
import { messageKeyId, storeKeys, type NewKey } from '../src/privacy/key-store.ts';
import { newDataKey, seal } from '../src/privacy/sealing.ts';
import { testVault } from '../src/privacy/testing/test-vault.ts';
import type { GeneratedEvent } from '../src/projections/testing/chat-events.ts';

const events = Number(process.argv[2] ?? 200_000);
const batchSize = Number(process.argv[3] ?? 5_000);
const partitions = Number(process.env.PARTITIONS ?? 12);
const mysqlUrl = (process.env.PARLEY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306').replace(/\/$/, '');
const fromKafka = Boolean(process.env.KAFKA);
/** Events per append call while generating (one produce request on Kafka). */
const generateChunk = 5_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-rebuild-bench-'));
const avro = createAvroCodec({ schemasDir: fileURLToPath(new URL('../schemas', import.meta.url)) });
const codec = avro;
const logger = pino({ level: 'warn' });

/** SEALED=1: the message keys the generated log needs, to store in each engine's key store. */
const messageKeys: NewKey[] | null = process.env.SEALED ? [] : null;
function* sealed(generated: Iterable<GeneratedEvent>): Generator<GeneratedEvent> {
  const byMessage = new Map<string, Buffer>();
  for (const item of generated) {
    const { event } = item;
    if (messageKeys === null || (event.type !== 'message_sent' && event.type !== 'message_edited')) {
      yield item;
      continue;
    }
    const id = messageKeyId(event.data.message_id);
    let secret = byMessage.get(id);
    if (secret === undefined) {
      secret = newDataKey();
      byMessage.set(id, secret);
      messageKeys.push({ id, secret });
    }
    yield {
      ...item,
      event: { ...event, data: { ...event.data, content: seal(id, secret, event.data.content) } },
    } as GeneratedEvent;
  }
}

/** The events log to rebuild from; `dispose` closes it and removes what the run left. */
async function openSource(): Promise<{ log: Log; name: string; dispose(): Promise<void> }> {
  if (fromKafka) {
    const fresh = await openFreshKafkaLog({ brokers: benchKafkaBrokers(), partitions });
    return { log: fresh.log, name: `Kafka (namespace ${fresh.namespace})`, dispose: () => fresh.dispose() };
  }
  const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), durability: 'normal' });
  await log.ensureTopics(topicSpecs({ partitions, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
  return { log, name: 'the embedded log', dispose: () => log.close() };
}

const source = await openSource();
const log = source.log;
/** Rows name where the events came from when it is not the embedded log. */
const from = fromKafka ? ' from Kafka' : '';

// STATS=1: time per statement kind (summed over concurrent partitions).
const stats = new Map<string, { count: number; ms: number }>();
const logQuery = (event: LogEvent) => {
  const key = event.query.sql.replace(/\s+/g, ' ').slice(0, 60);
  const entry = stats.get(key) ?? { count: 0, ms: 0 };
  entry.count++;
  entry.ms += event.queryDurationMillis;
  stats.set(key, entry);
};
function withStats(store: Store, dialect: () => Dialect): Store {
  if (!process.env.STATS) return store;
  const db = new Kysely<Database>({ dialect: dialect(), log: logQuery });
  return {
    db,
    close: async () => {
      await store.close();
      await db.destroy();
    },
  };
}

async function measure(label: string, store: Store): Promise<void> {
  stats.clear();
  await migrateToLatest(store.db);
  for (let i = 0; i < (messageKeys?.length ?? 0); i += 500) await storeKeys(store.db, messageKeys!.slice(i, i + 500), Date.now());
  const cpu = process.cpuUsage();
  const result = await rebuild({
    log,
    db: store.db,
    codec,
    vault: testVault(store.db),
    logger,
    model: chatModel,
    batchSize,
    handoverMs: 0,
  });
  const used = process.cpuUsage(cpu);
  const seconds = result.ms / 1000;
  console.log(
    `${label}: ${result.events.toLocaleString('en')} events in ${seconds.toFixed(1)} s = ` +
      `${Math.round(result.events / seconds).toLocaleString('en')} events/s; ` +
      `this process's CPU ${(((used.user + used.system) / 1000 / result.ms) * 100).toFixed(0)}% ` +
      `(${((used.user + used.system) / result.events).toFixed(1)} µs/event); load average ${os.loadavg()[0]!.toFixed(1)}`,
  );
  if (stats.size > 0) {
    const ms = [...stats.values()].reduce((sum, entry) => sum + entry.ms, 0);
    const count = [...stats.values()].reduce((sum, entry) => sum + entry.count, 0);
    console.log(
      `  ${ms.toFixed(0).padStart(7)} ms in all ${count.toLocaleString('en')} statements ` +
        `(${((ms * 1000) / result.events).toFixed(1)} µs/event, ${((count * 1000) / result.events).toFixed(1)} per 1,000 events)`,
    );
  }
  for (const [key, { count, ms }] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)) {
    console.log(`  ${ms.toFixed(0).padStart(7)} ms ${String(count).padStart(6)}× ${key}`);
  }
}

try {
  const generated = Date.now();
  await appendEvents(log, codec, sealed(chatEvents({ seed: 42, users: 2_000, rooms: 1_000, events })), generateChunk);
  console.log(
    `generated ${events.toLocaleString('en')} events in ${partitions} partitions of ${source.name} in ${Date.now() - generated} ms` +
      (messageKeys === null ? '' : `, ${messageKeys.length.toLocaleString('en')} messages sealed`),
  );
  if (!process.env.SKIP_SQLITE) {
    const file = path.join(dir, 'read-models.sqlite');
    const store = withStats(openStore({ dataDir: dir }), () => openSqliteFile(file).dialect);
    await measure(`SQLite${from}, batch ${batchSize}`, store);
    await store.close();
  }
  if (!process.env.SKIP_MYSQL) {
    const database = `parley_bench_rebuild_${process.pid}`;
    const admin = await mysql.createConnection({ uri: mysqlUrl });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    try {
      const url = `${mysqlUrl}/${database}`;
      const store = withStats(openStore({ dataDir: dir, databaseUrl: url, poolSize: partitions + 2 }), () => {
        const pool = createPool({
          uri: url,
          connectionLimit: partitions + 2,
          charset: 'utf8mb4_unicode_ci',
          supportBigNumbers: true,
          bigNumberStrings: false,
        });
        return new MysqlDialect({ pool });
      });
      await measure(`MySQL${from}, batch ${batchSize}`, store);
      await store.close();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    }
  }
} finally {
  await source.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}
