// How many message_sent events per second the Avro codec encodes and decodes.
// Run: node bench/avro-codec.bench.ts   (not part of `npm test`)

import { fileURLToPath } from 'node:url';
import { createAvroCodec } from '../src/log/avro-codec.ts';
import { eventSamples } from '../src/log/event-samples.fixture.ts';

const codec = createAvroCodec({ schemasDir: fileURLToPath(new URL('../schemas', import.meta.url)) });
const durationMs = 2_000;

for (const [label, data] of [
  ['text only', eventSamples.message_sent[0]],
  ['two attachments + reply', eventSamples.message_sent[1]!],
] as const) {
  const size = codec.encode('message_sent', data).length;
  for (let i = 0; i < 50_000; i++) codec.decode('message_sent', codec.encode('message_sent', data)); // warm up

  const time = (run: () => void): number => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      for (let i = 0; i < 1_000; i++) run();
      n += 1_000;
    }
    return Math.round((n / (performance.now() - start)) * 1_000);
  };
  const bytes = codec.encode('message_sent', data);
  const encodes = time(() => codec.encode('message_sent', data));
  const decodes = time(() => codec.decode('message_sent', bytes));
  const both = time(() => codec.decode('message_sent', codec.encode('message_sent', data)));
  console.log(
    `message_sent (${label}, ${size} bytes): encode ${encodes.toLocaleString('en')}/s, ` +
      `decode ${decodes.toLocaleString('en')}/s, encode+decode ${both.toLocaleString('en')}/s`,
  );
}
