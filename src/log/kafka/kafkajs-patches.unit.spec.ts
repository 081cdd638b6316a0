// kafkajs-patches.ts, patch 5: request encoders take their buffers from Node's
// pool. What a request says must not change by a byte — compared with a
// pristine copy of kafkajs's Encoder (loaded apart, unpatched) over every kind
// of write, after the pool was dirtied, so an uninitialised byte that left
// would show. (The Kafka adapter's suites send and read real records through
// it on a broker.)

import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import './kafkajs-patches.ts';

const require = createRequire(import.meta.url);

interface Encoder {
  buf: Buffer;
  buffer: Buffer;
  writeInt8(v: number): Encoder;
  writeInt16(v: number): Encoder;
  writeInt32(v: number): Encoder;
  writeInt64(v: number | string): Encoder;
  writeBoolean(v: boolean): Encoder;
  writeString(v: string | null): Encoder;
  writeVarIntString(v: string | null): Encoder;
  writeBytes(v: Buffer | string | null): Encoder;
  writeVarIntBytes(v: Buffer | string | null): Encoder;
  writeVarInt(v: number): Encoder;
  writeVarLong(v: number | string): Encoder;
  writeEncoder(v: Encoder): Encoder;
  writeArray(v: unknown[], type?: string): Encoder;
}
type EncoderClass = new (initialSize?: number) => Encoder;

const encoderPath = require.resolve('kafkajs/src/protocol/encoder.js');
const Patched = require(encoderPath) as EncoderClass;
/** kafkajs's Encoder as it ships: a second copy of the module, loaded past the cache. */
function pristineEncoder(): EncoderClass {
  const cached = require.cache[encoderPath];
  Reflect.deleteProperty(require.cache, encoderPath);
  try {
    return require(encoderPath) as EncoderClass;
  } finally {
    require.cache[encoderPath] = cached;
  }
}
const Pristine = pristineEncoder();

/** Leaves Node's buffer pool full of non-zero bytes, as a busy process would. */
function dirtyThePool(): void {
  for (let i = 0; i < 64; i++) Buffer.allocUnsafe(100).fill(0xa5);
}

/** The same writes on either class: a record-like structure of every field kind and size. */
function encodeSample(Encoder: EncoderClass, valueBytes: number): Buffer {
  dirtyThePool();
  const value = Buffer.alloc(valueBytes, 7);
  const headers = [
    ['parley-type', 'message_sent'],
    ['emoji', 'héllo 👋'],
  ].map(([k, v]) => new Encoder().writeVarIntString(k!).writeVarIntBytes(v!));
  const record = new Encoder()
    .writeInt8(0)
    .writeVarLong('1700000000000')
    .writeVarInt(-3)
    .writeVarIntBytes('room-1')
    .writeVarIntBytes(value)
    .writeVarIntBytes(null)
    .writeArray(headers);
  return new Encoder(valueBytes)
    .writeString('bench-events')
    .writeString(null)
    .writeInt16(-1)
    .writeInt32(30_000)
    .writeInt64('9007199254740993')
    .writeBoolean(true)
    .writeBytes(value)
    .writeBytes('ünïcode')
    .writeEncoder(record).buffer;
}

describe('kafkajs request encoders on pooled buffers (patch 5)', () => {
  test.each([0, 1, 63, 64, 65, 511, 512, 4_096, 100_000])(
    'a request with a %i-byte value is encoded byte for byte as kafkajs encodes it',
    (valueBytes) => {
      const expected = encodeSample(Pristine, valueBytes);
      const actual = encodeSample(Patched, valueBytes);
      expect(actual.length).toBe(expected.length);
      expect(actual.equals(expected)).toBe(true);
    },
  );

  test('a new encoder holds no buffer of its own until it is written to', () => {
    expect(new Pristine().buf.length).toBe(512);
    expect(new Patched().buf.length).toBe(0);
    expect(new Patched().writeInt32(1).buffer).toEqual(Buffer.from([0, 0, 0, 1]));
  });
});
