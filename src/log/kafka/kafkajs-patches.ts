// Fixes to kafkajs 2.2.4 (unmaintained; pinned), applied once on import by the
// Kafka log adapter. All patch kafkajs's own classes, so every client the
// adapter makes (producer, consumers, admin, the reader's cluster) has them.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The patches reach into kafkajs's private classes, which any release may
// change: package.json pins the exact version, and a different one refuses to
// load rather than run half-patched.
const PATCHED_VERSION = '2.2.4';
const installed = (require('kafkajs/package.json') as { version: string }).version;
if (installed !== PATCHED_VERSION) {
  throw new Error(`kafkajs ${installed} is installed; src/log/kafka/kafkajs-patches.ts patches ${PATCHED_VERSION} only`);
}

// 1. Idle connections must not spin. After every look at a connection's queue
// of pending requests, kafkajs arms a timer for the next look — also when
// nothing is pending. Its delay is then `throttledUntil - now` with
// throttledUntil = -1, a negative number that Node turns into 1 ms: every
// broker connection wakes the event loop about a thousand times a second for
// as long as it is open (kafkajs#1751 reports the TimeoutNegativeWarning Node
// 24 prints for it). Measured here: 3.6 % of a core on a gateway-only instance
// with no client. With nothing pending there is nothing to look at: a request
// that has to wait arms the timer itself (RequestQueue.push), and every
// response or timeout looks again.

interface RequestQueue {
  pending: unknown[];
  scheduleCheckPendingRequests: (this: RequestQueue) => void;
}

const requestQueue = (require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue }).prototype;
const scheduleCheck = requestQueue.scheduleCheckPendingRequests;
requestQueue.scheduleCheckPendingRequests = function scheduleCheckWhenPending(this: RequestQueue) {
  if (this.pending.length === 0) return;
  scheduleCheck.call(this);
};

// 2. One socket per connection. A broker's connection pool connects a
// connection on first use, and Connection.connect opens a new socket per call
// while one is still connecting: twelve first fetches at once (a restore or a
// rebuild reading every partition) opened twelve sockets, of which the
// connection kept one — eleven stayed open past disconnect(), and the process
// could not exit. Concurrent calls now share the connect in flight.

interface Connection {
  connect: (this: Connection) => Promise<unknown>;
  processData: (this: Connection, data: Buffer) => unknown;
  chunks: Buffer[];
  bytesBuffered: number;
  bytesNeeded: number;
  send: (this: Connection, request: unknown) => Promise<unknown>;
  isConnected: (this: Connection) => boolean;
  rejectRequests: (this: Connection, error: Error) => void;
  disconnect: (this: Connection) => Promise<unknown>;
  socket?: { destroy(): void };
  host: string;
  port: number;
}

const connection = (require('kafkajs/src/network/connection.js') as { prototype: Connection }).prototype;
const connect = connection.connect;
const connecting = new WeakMap<Connection, Promise<unknown>>();
connection.connect = function connectOnce(this: Connection) {
  let attempt = connecting.get(this);
  if (attempt === undefined) {
    // Patch 4 (below): a new socket starts a new stream.
    if (!this.isConnected()) forgetPartialResponse(this);
    attempt = connect.call(this).finally(() => connecting.delete(this));
    connecting.set(this, attempt);
  }
  return attempt;
};

// 3. A connection whose request timed out is dropped. kafkajs rejects the
// request but keeps the socket, and every retry goes down it again: once a
// connection is half-open (the peer or a middlebox lost it without a FIN or
// RST) or its stream is out of step, no request on it is ever answered, and a
// producer never acknowledges again — found by the network-fault suite
// (test/faults/network-faults.e2e.spec.ts), the stall lasted until restart.
// The Java client does what this does: on a request timeout it closes the
// connection, fails what else was in flight on it (retriable), and the next
// request connects afresh.

const { KafkaJSConnectionError } = require('kafkajs') as {
  KafkaJSConnectionError: new (message: string, details: object) => Error;
};
/**
 * Fails what is in flight on the connection (retriable), destroys its socket
 * at once (no late byte of it is read) and closes it: the next request
 * connects afresh. Patches 3 and 4.
 */
function dropConnection(conn: Connection, why: string): void {
  const socket = conn.socket;
  conn.rejectRequests(new KafkaJSConnectionError(`Connection dropped: ${why}`, { broker: `${conn.host}:${conn.port}` }));
  socket?.destroy();
  void conn.disconnect();
}

const send = connection.send;
connection.send = async function sendOrDropStalledConnection(this: Connection, request: unknown) {
  try {
    return await send.call(this, request);
  } catch (error) {
    if ((error as Error | undefined)?.name === 'KafkaJSRequestTimeoutError' && this.isConnected()) {
      dropConnection(this, 'a request on it timed out');
    }
    throw error;
  }
};

// 4. Each socket's bytes are read as a stream of their own. A connection keeps
// the bytes of a response it has not finished reading in fields set once, in
// its constructor: when a connection dropped mid-response (a reset, a timeout
// above) connects again, the new socket's first response was read after the
// old half one — garbage — and a length read past the end threw out of the
// socket's 'data' handler, which ended the process (the network-fault suite
// saw it). Now a (re)connect starts from empty; a closed connection's socket
// is destroyed, so no late bytes of it reach the next one; and a response that
// cannot be read drops its connection (its requests fail, retriably) instead
// of throwing.

const INT32_BYTES = 4;
function forgetPartialResponse(conn: Connection): void {
  conn.chunks = [];
  conn.bytesBuffered = 0;
  conn.bytesNeeded = INT32_BYTES;
}

const disconnect = connection.disconnect;
connection.disconnect = async function disconnectAndDestroy(this: Connection) {
  const socket = this.socket;
  const result = await disconnect.call(this);
  socket?.destroy();
  return result;
};

const processData = connection.processData;
connection.processData = function processDataOrDrop(this: Connection, data: Buffer) {
  try {
    return processData.call(this, data);
  } catch (error) {
    forgetPartialResponse(this);
    dropConnection(this, `a response could not be read (${String(error)})`);
    return undefined;
  }
};

// 5. Request encoding takes its buffers from Node's pool. kafkajs builds every
// request out of small Encoder objects (one per record, header, partition,
// topic …), and each began with `Buffer.alloc(512)`: a zero-filled buffer with
// a backing store of its own, for GC to track and free. A produce request of
// five 600-byte records took 63 µs of CPU to encode, 45 without those
// allocations (bench/kafka-encoder.bench.ts; bench/README, fix 32). An encoder
// now starts empty and its first write takes a buffer from Node's pool
// (Buffer.allocUnsafe: no zeroing, one backing store per 8 KiB), growing by
// powers of two as before. No uninitialised byte can leave: an encoder's bytes
// are `buf[0, offset)`, and every write moves `offset` past exactly the bytes
// it wrote.

interface EncoderClass {
  nextPowerOfTwo(value: number): number;
  prototype: { buf: Buffer; offset: number; ensureAvailable(this: EncoderClass['prototype'], length: number): void };
}

/** An encoder's first buffer: room for a few fields without growing. */
const FIRST_ENCODER_BYTES = 64;
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
// The constructor sizes its first buffer with nextPowerOfTwo, kafkajs's only
// caller of it besides ensureAvailable (replaced below): answering 0 makes a
// new encoder allocate nothing.
Encoder.nextPowerOfTwo = () => 0;
Encoder.prototype.ensureAvailable = function ensureAvailableFromPool(length) {
  const needed = this.offset + length;
  if (needed <= this.buf.length) return;
  // The power of two above `needed`, as kafkajs's own nextPowerOfTwo gave.
  const grown = Buffer.allocUnsafe(Math.max(FIRST_ENCODER_BYTES, 1 << (32 - Math.clz32(needed))));
  this.buf.copy(grown, 0, 0, this.offset);
  this.buf = grown;
};
