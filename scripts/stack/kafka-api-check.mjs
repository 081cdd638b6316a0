// Checks, API by API, that the broker accepts the protocol version kafkajs
// will send. kafkajs picks min(its newest version, the broker's max) and never
// looks at the broker's *min*; Kafka 4.0 raised many minimums (KIP-896), so a
// broker upgrade can break kafkajs only where its newest version falls below
// the broker's floor. Run this after changing the Kafka version in stack.sh.
//
// Usage: node scripts/stack/kafka-api-check.mjs [host:port]   (default 127.0.0.1:9092)
// Exit code 0 when every API kafkajs implements is in range.
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// kafkajs's own tables of implemented request versions (internal modules,
// stable across the unmaintained 2.2.x line).
const { requests } = require('kafkajs/src/protocol/requests');
const apiKeys = require('kafkajs/src/protocol/requests/apiKeys');

const [host, port] = (process.argv[2] ?? process.env.KAFKA_BROKERS?.split(',')[0] ?? '127.0.0.1:9092').split(':');

// ApiVersions v0 request: every broker answers it (v0 is never removed).
const clientId = Buffer.from('parley-api-check');
const body = Buffer.alloc(10 + clientId.length);
body.writeInt16BE(18, 0); // api key ApiVersions
body.writeInt16BE(0, 2); // version 0
body.writeInt32BE(1, 4); // correlation id
body.writeInt16BE(clientId.length, 8);
clientId.copy(body, 10);
const size = Buffer.alloc(4);
size.writeInt32BE(body.length);

const socket = net.connect(Number(port), host, () => socket.write(Buffer.concat([size, body])));
socket.setTimeout(5000, () => {
  console.error('timed out waiting for ApiVersions');
  process.exit(2);
});
socket.on('error', (e) => {
  console.error(`cannot reach ${host}:${port}: ${e.message}`);
  process.exit(2);
});
let buf = Buffer.alloc(0);
socket.on('data', (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  if (buf.length < 4 || buf.length < 4 + buf.readInt32BE(0)) return;
  socket.end();
  const errorCode = buf.readInt16BE(8);
  if (errorCode !== 0) {
    console.error(`ApiVersions error code ${errorCode}`);
    process.exit(2);
  }
  const count = buf.readInt32BE(10);
  const broker = new Map();
  for (let i = 0; i < count; i++) {
    const o = 14 + i * 6;
    broker.set(buf.readInt16BE(o), [buf.readInt16BE(o + 2), buf.readInt16BE(o + 4)]);
  }
  const bad = [];
  for (const [name, def] of Object.entries(requests)) {
    if (def.versions.length === 0) continue; // kafkajs does not implement it
    const newest = Math.max(...def.versions.map(Number));
    const range = broker.get(apiKeys[name]);
    const sent = range ? Math.min(newest, range[1]) : undefined;
    const ok = range !== undefined && sent >= range[0];
    if (!ok) bad.push(name);
    console.log(
      `${name.padEnd(28)} kafkajs<=v${newest}  broker ${range ? `v${range[0]}-v${range[1]}` : 'absent'}  sends ${sent === undefined ? '-' : `v${sent}`}  ${ok ? 'ok' : 'UNSUPPORTED'}`,
    );
  }
  console.log(
    bad.length ? `UNSUPPORTED by this broker: ${bad.join(', ')}` : 'every API kafkajs implements is supported by this broker',
  );
  process.exit(bad.length ? 1 : 0);
});
