// What a produce request costs to encode in kafkajs, as it ships and with the
// pooled encoders of src/log/kafka/kafkajs-patches.ts (patch 5): five records
// of a message_sent's size with a Parley record's headers, CPU per request,
// rounds alternated. The two must give the same bytes.
// Run: node bench/kafka-encoder.bench.ts [records per request] [value bytes]   (not part of `npm test`)

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const PRODUCE_V3 = 'kafkajs/src/protocol/requests/produce/v3/request.js';

interface ProduceRequest {
  encode(): Promise<{ buffer: Buffer }>;
}
type Produce = (request: object) => ProduceRequest;

// kafkajs as it ships, then — its modules loaded afresh — patched.
const pristine = require(PRODUCE_V3) as Produce;
for (const loaded of Object.keys(require.cache)) {
  if (loaded.includes('/node_modules/kafkajs/')) Reflect.deleteProperty(require.cache, loaded);
}
await import('../src/log/kafka/kafkajs-patches.ts');
const patched = require(PRODUCE_V3) as Produce;

const records = Number(process.argv[2] ?? 5);
const valueBytes = Number(process.argv[3] ?? 600);
const value = Buffer.alloc(valueBytes, 7);
const request = (produce: Produce, n: number) =>
  produce({
    acks: -1,
    timeout: 30_000,
    topicData: [
      {
        topic: 'parley.events',
        partitions: [
          {
            partition: n % 12,
            firstSequence: n,
            messages: Array.from({ length: records }, (_, i) => ({
              key: `0190f5d2-7c1e-7a4b-9c3d-${String(i).padStart(12, '0')}`,
              value,
              headers: { 'parley-event': 'message_sent', 'parley-schema': '7', 'parley-command': `cmd-${n}-${i}` },
              timestamp: 1_765_000_000_000 + n,
            })),
          },
        ],
      },
    ],
  });

const first = [await request(pristine, 1).encode(), await request(patched, 1).encode()];
if (!first[0]!.buffer.equals(first[1]!.buffer)) throw new Error('the patched encoders gave other bytes');

async function cpuMicrosPerRequest(produce: Produce, n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await request(produce, i).encode();
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / n;
}

for (const produce of [pristine, patched]) await cpuMicrosPerRequest(produce, 5_000); // warm up
const results: Record<string, number[]> = { 'as shipped': [], pooled: [] };
for (let round = 0; round < 5; round++) {
  results['as shipped']!.push(await cpuMicrosPerRequest(pristine, 20_000));
  results.pooled!.push(await cpuMicrosPerRequest(patched, 20_000));
}
console.log(`produce request, ${records} records of ${valueBytes} bytes: µs of CPU per encode, 5 alternated rounds`);
for (const [label, values] of Object.entries(results)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`  ${label.padEnd(11)} median ${sorted[2]!.toFixed(1)}  [${sorted[0]!.toFixed(1)}–${sorted[4]!.toFixed(1)}]`);
}
