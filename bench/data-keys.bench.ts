// What crypto-shredding costs, by key granularity: the write path (what the
// edge does per message before appending its command) and a rebuild (what the
// projector does per event before applying it), on the key store of each
// engine. docs/PRIVACY.md reads its decision from these figures.
//
//   per message, ahead   a key per message, stored ahead in batches (what Parley does)
//   per message, inline  a key per message, looked up and stored on the send path
//   per user             a key per sender, cached: erases all of a user's data only
//   per room-day         a key per room and UTC day, cached: erases by age only
//   none                 no sealing (the cost of plain text, for reference)
//
// Run: node bench/data-keys.bench.ts   (MySQL leg when MariaDB is up; not part of `npm test`)

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { migrateToLatest } from '../src/store/migrate.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { messageKeyId, userKeyId } from '../src/privacy/key-store.ts';
import { createVault } from '../src/privacy/vault.ts';
import { testMysqlUrl } from '../test/support/engines.ts';
import mysql from 'mysql2/promise';

const MESSAGES = Number(process.env.MESSAGES ?? 20_000);
const CONCURRENCY = 16; // sends in flight, as on a busy server
const ROOMS = 200;
const USERS = 1_000;
const content = 'benchmark message: the quick brown fox jumps over the lazy dog!!';

const granularities = ['none', 'per message, ahead', 'per message, inline', 'per user', 'per room-day'] as const;
type Granularity = (typeof granularities)[number];

interface Sent {
  type: string;
  data: { content: string };
}

async function openEngine(engine: 'sqlite' | 'mysql'): Promise<{ store: Store; dispose: () => Promise<void> } | null> {
  if (engine === 'sqlite') {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-bench-keys-'));
    const store = openStore({ dataDir: dir });
    await migrateToLatest(store.db);
    const dispose = async () => {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    };
    return { store, dispose };
  }
  const database = `parley_bench_keys_${randomUUID().slice(0, 8)}`;
  const admin = await mysql.createConnection({ uri: testMysqlUrl }).catch(() => null);
  if (admin === null) return null;
  await admin.query(`CREATE DATABASE \`${database}\``);
  const store = openStore({ databaseUrl: `${testMysqlUrl.replace(/\/$/, '')}/${database}`, dataDir: '', poolSize: CONCURRENCY });
  await migrateToLatest(store.db);
  return {
    store,
    dispose: async () => {
      await store.close();
      await admin.query(`DROP DATABASE \`${database}\``);
      await admin.end();
    },
  };
}

function keyIdFor(granularity: Granularity, i: number): string {
  const sender = `0190a1b2-c3d4-7e5f-8a9b-${String(i % USERS).padStart(12, '0')}`;
  const room = `0190a1b2-c3d4-7e5f-8a9c-${String(i % ROOMS).padStart(12, '0')}`;
  if (granularity === 'per user') return userKeyId(sender);
  if (granularity === 'per room-day') return `room-day:${room}:2026-12-04`;
  return messageKeyId(randomUUID());
}

async function writePath(store: Store, granularity: Granularity): Promise<{ usPerMessage: number; events: Sent[] }> {
  const vault = createVault({ db: store.db, cacheTtlMs: 600_000, cacheSize: 100_000, messageKeysAhead: 2_000 });
  const events: Sent[] = new Array<Sent>(MESSAGES);
  let next = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < MESSAGES) {
        const i = next++;
        if (granularity === 'none') {
          events[i] = { type: 'message_sent', data: { content } };
          continue;
        }
        const sealer =
          granularity === 'per message, ahead'
            ? (await vault.newMessage()).sealer
            : await vault.sealerFor(keyIdFor(granularity, i));
        events[i] = { type: 'message_sent', data: { content: sealer.seal(content) } };
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const usPerMessage = ((cpu.user + cpu.system) / MESSAGES) | 0;
  console.log(
    `  write  ${granularity.padEnd(20)} ${String(usPerMessage).padStart(5)} µs CPU/message, ` +
      `${((wallMs * 1000) / MESSAGES).toFixed(0).padStart(5)} µs wall/message at ${CONCURRENCY} in flight`,
  );
  return { usPerMessage, events };
}

/** Opens every event as a projector does, in batches of the projection batch size, with a cold cache. */
async function rebuildPath(store: Store, granularity: Granularity, events: Sent[]): Promise<void> {
  const vault = createVault({ db: store.db, cacheTtlMs: 600_000, cacheSize: 20_000, messageKeysAhead: 1 });
  const batch = 500;
  const started = performance.now();
  for (let i = 0; i < events.length; i += batch) await vault.open(events.slice(i, i + batch));
  const perSecond = Math.round(events.length / ((performance.now() - started) / 1000));
  console.log(`  open   ${granularity.padEnd(20)} ${perSecond.toLocaleString('en').padStart(9)} events/s (batches of ${batch})`);
}

for (const engine of ['sqlite', 'mysql'] as const) {
  const opened = await openEngine(engine);
  if (opened === null) {
    console.log(`${engine}: unreachable, skipped`);
    continue;
  }
  console.log(`${engine} key store, ${MESSAGES.toLocaleString('en')} messages, ${ROOMS} rooms, ${USERS} senders`);
  for (const granularity of granularities) {
    const { events } = await writePath(opened.store, granularity);
    await rebuildPath(opened.store, granularity, events);
  }
  await opened.dispose();
}
