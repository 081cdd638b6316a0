// Throughput and latency of the Kafka log adapter against a real broker:
// appends (batched, single, concurrent single), reads, group consumption, and
// the time from an append resolving to a group-less consumer (a gateway)
// handling the record. Values are 200 bytes with three headers, as in the
// embedded log's bench. Uses throwaway topics and deletes them.
// Run: node bench/kafka-log.bench.ts [brokers]   (default 127.0.0.1:9092; not part of `npm test`)

import { randomBytes } from 'node:crypto';
import { createKafkaLog } from '../src/log/kafka-log.ts';
import type { AppendRecord } from '../src/log/port.ts';

const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const log = createKafkaLog({ brokers, clientId: 'parley-bench', heartbeatIntervalMs: 500, maxWaitTimeMs: 500 });
const suffix = `${Date.now().toString(36)}.${randomBytes(3).toString('hex')}`;
const topic = `bench.events.${suffix}`;
const latencyTopic = `bench.latency.${suffix}`;
const partitions = 12;
await log.ensureTopics([
  { name: topic, partitions, retentionMs: 3_600_000 },
  { name: latencyTopic, partitions, retentionMs: 3_600_000 },
]);

const value = Buffer.alloc(200, 7);
const headers = { 'event-type': 'message_sent', 'command-id': '018f6b1e-7c2a-7000-8000-000000000000', time: '1732630000000' };
let keyCounter = 0;
const record = (): AppendRecord => ({ key: `room:${keyCounter++ % 500}`, value, headers });

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
  console.log(`${label.padEnd(52)} ${rate(seconds)} records/s   (client cpu-bound ${rate(cpuSeconds)})`);
}

try {
  await measure('append, 100 records per call, awaited', 100_000, async () => {
    for (let i = 0; i < 1_000; i++) await log.append(topic, Array.from({ length: 100 }, record));
  });

  await measure('append, 1 record per call, awaited', 3_000, async () => {
    for (let i = 0; i < 3_000; i++) await log.append(topic, [record()]);
  });

  await measure('append, 1 record per call, 1000 concurrent', 100_000, async () => {
    for (let i = 0; i < 100; i++) await Promise.all(Array.from({ length: 1_000 }, () => log.append(topic, [record()])));
  });

  await measure('append, 1 record per call, 12 awaiting writers', 24_000, async () => {
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (let i = 0; i < 2_000; i++) await log.append(topic, [record()]);
      }),
    );
  });

  let total = 0;
  for (let p = 0; p < partitions; p++) total += await log.endOffset(topic, p);

  await measure(`read, 500 per call, all ${total.toLocaleString('en')} records`, total, async () => {
    for (let p = 0; p < partitions; p++) {
      for (let offset = 0; ;) {
        const batch = await log.read(topic, p, offset, 500);
        if (batch.length === 0) break;
        offset = batch[batch.length - 1]!.offset + 1;
      }
    }
  });

  for (const group of [`bench.group.${suffix}`, null]) {
    await measure(`consume, ${group === null ? 'no group' : 'a group (commit per batch of 500)'}`, total, async () => {
      let seen = 0;
      const finished: PromiseWithResolvers<void> = Promise.withResolvers();
      const consumer = await log.consume({
        topic,
        group,
        from: 'earliest',
        maxBatchSize: 500,
        eachBatch: (batch) => {
          seen += batch.records.length;
          if (seen >= total) finished.resolve();
        },
      });
      await finished.promise;
      await consumer.stop();
    });
  }

  // Append → a group-less consumer handles it: 1000 appends one after another
  // (each awaited, then a short pause so they do not queue behind each other).
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const allSeen: PromiseWithResolvers<void> = Promise.withResolvers();
  const consumer = await log.consume({
    topic: latencyTopic,
    group: null,
    from: 'latest',
    eachBatch: (batch) => {
      const now = performance.now();
      for (const r of batch.records) {
        const start = sentAt.get(r.key);
        if (start !== undefined) latencies.push(now - start);
      }
      if (latencies.length >= 1_000) allSeen.resolve();
    },
  });
  // Steady state only: partitions just assigned join kafkajs's next fetch
  // round (up to maxWaitTimeMs), so wait until a first record went through.
  sentAt.set('warm-up', performance.now());
  await log.append(latencyTopic, [{ key: 'warm-up', value, headers }]);
  while (latencies.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  latencies.length = 0;
  const ackLatencies: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const key = `k${i}`;
    const start = performance.now();
    sentAt.set(key, start);
    await log.append(latencyTopic, [{ key, value, headers }]);
    ackLatencies.push(performance.now() - start);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await allSeen.promise;
  await consumer.stop();
  const pct = (list: number[], q: number) => {
    const sorted = [...list].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
  };
  console.log(`append acknowledged (acks=all)        p50 ${pct(ackLatencies, 0.5)} ms   p99 ${pct(ackLatencies, 0.99)} ms`);
  console.log(
    `append → group-less consumer handles  p50 ${pct(latencies, 0.5)} ms   p99 ${pct(latencies, 0.99)} ms   max ${pct(latencies, 1)} ms`,
  );
} finally {
  await log.deleteTopics([topic, latencyTopic]).catch(() => undefined);
  await log.close();
}
