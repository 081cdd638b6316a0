// Throughput of the embedded log: appends (batched, concurrent, one at a time),
// reads, and end-to-end group consumption. Durability is the default ('full':
// every transaction fsync'd). Values are 200 bytes with three headers, about
// the size of an Avro message_sent event and its envelope.
// Run: node bench/sqlite-log.bench.ts   (not part of `npm test`)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppendRecord } from '../src/log/port.ts';
import { openSqliteLog } from '../src/log/sqlite-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'parley-log-bench-'));
const log = openSqliteLog({ path: join(dir, 'log.db') });
const partitions = 12;
await log.ensureTopics([{ name: 'events', partitions, retentionMs: null }]);

const value = Buffer.alloc(200, 7);
const headers = { 'event-type': 'message_sent', 'command-id': '018f6b1e-7c2a-7000-8000-000000000000', time: '1732630000000' };
let keyCounter = 0;
const record = (): AppendRecord => ({ key: `room:${keyCounter++ % 500}`, value, headers });

// Wall-clock rate, and the rate the CPU time alone would allow (fsync waits and
// other processes on a shared machine widen the gap between the two).
async function measure(label: string, records: number, run: () => Promise<void>): Promise<void> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  await run();
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const rate = (s: number) =>
    Math.round(records / s)
      .toLocaleString('en')
      .padStart(10);
  console.log(`${label.padEnd(48)} ${rate(seconds)} records/s   (cpu-bound ${rate(cpuSeconds)})`);
}

await measure('append, 100 records per call, awaited', 200_000, async () => {
  for (let i = 0; i < 2_000; i++) await log.append('events', Array.from({ length: 100 }, record));
});

await measure('append, 1000 records per call, awaited', 200_000, async () => {
  for (let i = 0; i < 200; i++) await log.append('events', Array.from({ length: 1_000 }, record));
});

await measure('append, 1 record per call, 1000 concurrent', 200_000, async () => {
  for (let i = 0; i < 200; i++) await Promise.all(Array.from({ length: 1_000 }, () => log.append('events', [record()])));
});

// Like the processor: a writer per partition, each awaiting its own appends
// through a different number of async frames; group commit gathers them.
await measure('append, 1 record per call, 12 awaiting writers', 60_000, async () => {
  const appendVia = async (depth: number): Promise<unknown> =>
    depth === 0 ? log.append('events', [record()]) : appendVia(depth - 1);
  await Promise.all(
    Array.from({ length: 12 }, async (_, writer) => {
      for (let i = 0; i < 5_000; i++) await appendVia(writer % 6);
    }),
  );
});

await measure('append, 1 record per call, awaited (fsync each)', 5_000, async () => {
  for (let i = 0; i < 5_000; i++) await log.append('events', [record()]);
});

let total = 0;
for (let p = 0; p < partitions; p++) total += await log.endOffset('events', p);

await measure(`read, 500 per call, all ${total.toLocaleString('en')} records`, total, async () => {
  for (let p = 0; p < partitions; p++) {
    for (let offset = 0; ;) {
      const batch = await log.read('events', p, offset, 500);
      if (batch.length === 0) break;
      offset = batch[batch.length - 1]!.offset + 1;
    }
  }
});

await measure('consume with a group (commit per batch of 500)', total, async () => {
  let seen = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const consumer = await log.consume({
    topic: 'events',
    group: 'bench',
    from: 'earliest',
    maxBatchSize: 500,
    eachBatch: (batch) => {
      seen += batch.records.length;
      if (seen >= total) done();
    },
  });
  await finished;
  await consumer.stop();
});

await log.close();
rmSync(dir, { recursive: true, force: true });
