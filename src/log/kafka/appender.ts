// Appends through one idempotent kafkajs producer (acks=-1), with exact
// per-record positions.
//
// kafkajs serialises an idempotent producer's requests per broker (a lock
// around sequence numbers), so concurrent send() calls would only queue behind
// each other. Instead, appends that arrive while a send is in flight are
// coalesced into the next send (group commit): one request, one record batch
// per partition. Kafka numbers a batch from its baseOffset in the order its
// records were given, and a call's records are placed contiguously, in input
// order, so each record's offset is baseOffset + its index within its
// partition's part of the send.
//
// Sends may also linger (lingerMs, the producer's linger.ms): a send starts no
// sooner than lingerMs after the one before it started, and appends made
// meanwhile join it. Under load each consumer of the topic then fetches
// several records per round trip instead of one; after a quiet spell an
// append is sent at once (bench/README, fix 24).
//
// When a send fails for good (retries exhausted, or a non-retriable error) its
// outcome is unknown: the records may or may not be in the log. Every append
// of that send is rejected and the producer is replaced by a new one (a new
// producer id), so the failed batch's sequence numbers are never reused: an
// old producer reusing them could have its next batch taken for a duplicate
// of a batch that did land, and silently dropped.

import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka, Message, Producer, ProducerConfig, RecordMetadata } from 'kafkajs';
import type { LogWrite, Position } from '../port.ts';
import { offsetOf } from './records.ts';

/**
 * A send that failed for good: the records may or may not be in the log. The
 * code lets the HTTP layer answer 503 `unavailable` (a passing outage: brokers
 * away, too few replicas in sync, leaders moving), and callers retry with the
 * same ids, which Parley deduplicates.
 */
export class AppendUnconfirmed extends Error {
  readonly code = 'LOG_APPEND_UNCONFIRMED';
  constructor(topic: string, cause: unknown) {
    super(`append to ${topic} not confirmed by Kafka: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AppendUnconfirmed';
  }
}

export interface RecordToSend {
  key: string;
  value: Buffer;
  headers?: Record<string, string>;
  partition: number;
}

export interface AppenderSettings {
  kafka: Kafka;
  producer: ProducerConfig;
  /** Broker-side wait for acks=all (ProduceRequest timeout). */
  ackTimeoutMs: number;
  /** A coalesced send stops growing at this many records (one call is never split). */
  maxBatchRecords: number;
  /** … or at about this many bytes of keys, values and headers. */
  maxBatchBytes: number;
  /** Least time between the starts of two sends; appends meanwhile join the next (0: never waits). */
  lingerMs: number;
  onError(error: unknown, context: string): void;
  /** Told after each produce request the broker acknowledged. */
  onWrite?: ((write: LogWrite) => void) | undefined;
}

interface PendingAppend {
  topic: string;
  records: RecordToSend[];
  bytes: number;
  resolve(positions: Position[]): void;
  reject(error: unknown): void;
}

function sizeOf(record: RecordToSend): number {
  let bytes = Buffer.byteLength(record.key) + record.value.length + 16;
  for (const [name, value] of Object.entries(record.headers ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
  }
  return bytes;
}

export class Appender {
  readonly #settings: AppenderSettings;
  #queue: PendingAppend[] = [];
  #pumping: Promise<void> | null = null;
  #producer: Producer | null = null;
  #connected: Promise<void> | null = null;
  /** Producers replaced after a failure, still disconnecting. */
  #retired = new Set<Promise<void>>();
  /** When the last send started (performance.now()), for lingerMs. */
  #lastSendAt = Number.NEGATIVE_INFINITY;

  constructor(settings: AppenderSettings) {
    this.#settings = settings;
  }

  append(topic: string, records: RecordToSend[]): Promise<Position[]> {
    return new Promise((resolve, reject) => {
      const bytes = records.reduce((sum, r) => sum + sizeOf(r), 0);
      this.#queue.push({ topic, records, bytes, resolve, reject });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#pumping) return;
    this.#pumping = this.#pump().finally(() => {
      this.#pumping = null;
      // An append queued after the loop's last look starts the next round.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Resolves once every append queued so far has been answered. */
  async drained(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  async close(): Promise<void> {
    await this.drained();
    const producer = this.#producer;
    this.#producer = null;
    this.#connected = null;
    await Promise.allSettled([producer?.disconnect(), ...this.#retired]);
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const lingerLeft = this.#settings.lingerMs - (performance.now() - this.#lastSendAt);
      if (lingerLeft > 0) await delay(lingerLeft);
      const batch = this.#take();
      this.#lastSendAt = performance.now();
      try {
        const positions = await this.#send(batch);
        this.#settings.onWrite?.({ records: batch.reduce((sum, call) => sum + call.records.length, 0) });
        batch.forEach((call, i) => call.resolve(positions[i]!));
      } catch (error) {
        for (const call of batch) call.reject(new AppendUnconfirmed(call.topic, error));
        this.#retire();
      }
    }
  }

  /** The next send: queued calls in order, bounded by records and bytes (at least one call). */
  #take(): PendingAppend[] {
    const { maxBatchRecords, maxBatchBytes } = this.#settings;
    let records = 0;
    let bytes = 0;
    let n = 0;
    for (const call of this.#queue) {
      if (n > 0 && (records + call.records.length > maxBatchRecords || bytes + call.bytes > maxBatchBytes)) break;
      records += call.records.length;
      bytes += call.bytes;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #send(batch: PendingAppend[]): Promise<Position[][]> {
    const producer = await this.#producerReady();
    const messagesByTopic = new Map<string, Message[]>();
    for (const call of batch) {
      let messages = messagesByTopic.get(call.topic);
      if (!messages) messagesByTopic.set(call.topic, (messages = []));
      for (const r of call.records) {
        messages.push({ key: r.key, value: r.value, headers: r.headers, partition: r.partition });
      }
    }
    const response = await producer.sendBatch({
      acks: -1,
      timeout: this.#settings.ackTimeoutMs,
      topicMessages: [...messagesByTopic].map(([topic, messages]) => ({ topic, messages })),
    });
    return positionsOf(batch, response);
  }

  #producerReady(): Promise<Producer> {
    if (!this.#producer) {
      const producer = this.#settings.kafka.producer(this.#settings.producer);
      this.#producer = producer;
      this.#connected = producer.connect();
    }
    const producer = this.#producer;
    return this.#connected!.then(() => producer);
  }

  /** Drops the producer after a failed send; the next send gets a new producer id. */
  #retire(): void {
    const producer = this.#producer;
    this.#producer = null;
    this.#connected = null;
    if (!producer) return;
    const disconnecting = producer
      .disconnect()
      .catch((error: unknown) => this.#settings.onError(error, 'disconnect of a replaced producer'))
      .finally(() => this.#retired.delete(disconnecting));
    this.#retired.add(disconnecting);
  }
}

/** Each call's positions, from the baseOffset of every (topic, partition) in the send. */
export function positionsOf(batch: readonly PendingAppendLike[], response: RecordMetadata[]): Position[][] {
  const base = new Map<string, number>();
  for (const r of response) {
    if (r.errorCode !== 0 || r.baseOffset === undefined) {
      throw new Error(`produce to ${r.topicName}[${r.partition}] answered error code ${r.errorCode}`);
    }
    base.set(`${r.topicName}\u0000${r.partition}`, offsetOf(r.baseOffset));
  }
  const next = new Map<string, number>();
  return batch.map((call) =>
    call.records.map((record) => {
      const key = `${call.topic}\u0000${record.partition}`;
      const first = base.get(key);
      if (first === undefined) throw new Error(`no produce answer for ${call.topic}[${record.partition}]`);
      const index = next.get(key) ?? 0;
      next.set(key, index + 1);
      return { topic: call.topic, partition: record.partition, offset: first + index };
    }),
  );
}

export interface PendingAppendLike {
  topic: string;
  records: readonly { partition: number }[];
}
