// The Kafka floor: kafkajs' own produce → consume round trip on the broker
// Parley runs on, with no Parley code in between, so Parley's figures on Kafka
// can be read against what the client library and the broker cost alone.
//
// Each run gets a throwaway topic (Parley's partition count) and consumer
// group that commits nothing (like Parley's group-less readers), both deleted
// afterwards. Records are about a send_message command's size, keyed over
// many keys so they spread over the partitions as rooms do, and produced with
// acks=all as Parley appends them. Records that queue while a produce request
// is in flight go together in the next one (Parley's appender coalesces the
// same way): kafkajs has no linger of its own, and a request per record would
// measure kafkajs' per-request overhead instead of the round trip.
//
// CPU figures are this process's only; the broker (java) runs wherever the
// kernel puts it and its CPU is not counted.

import { randomBytes } from 'node:crypto';
import kafkajs, { type Admin, type Consumer, type logLevel as KafkaLogLevel, type Message, type Producer } from 'kafkajs';
import { Histogram } from '../loadgen/histogram.ts';
import { measuredWindow } from './proc.ts';

const { Kafka, Partitioners, logLevel } = kafkajs;

/** About the bytes of a send_message command on the commands topic (JSON envelope). */
export const RAW_RECORD_BYTES = 420;
/** Parley's default partition count (PARLEY_PARTITIONS). */
export const RAW_PARTITIONS = 12;
/** Distinct keys the records rotate over, like rooms over partitions. */
const RAW_KEYS = 1_000;
/** Largest coalesced produce request, in records: ~840 KB at the default size, so even one partition's batch stays under the broker's 1 MiB. */
const MAX_RECORDS_PER_PRODUCE = 2_000;
/** Idle fetch long-poll, as Parley's Kafka log (maxWaitTimeMs); new records end it at once. */
const FETCH_MAX_WAIT_MS = 500;
/** How long records still in flight after a window may take to come back. */
const DRAIN_MS = 5_000;
/** The open loop's timer: every tick sends what is due by then, catching up when the tick is late. */
const OPEN_LOOP_TICK_MS = 1;
/** The open loop's unmeasured lead-in at the offered rate, unless told otherwise. */
const DEFAULT_WARMUP_S = 1;
/** The consumer must have joined and seen a first record by then. */
const READY_TIMEOUT_MS = 30_000;

// Record layout: what the consumer needs to match a record to its send.
const KIND_AT = 0; // u8: probe or measured
const SLOT_AT = 1; // u32 LE: the closed loop's slot
const SENT_AT = 8; // f64 LE: performance.now() when handed to the producer
const HEADER_BYTES = 16;
const PROBE = 0;
const MEASURED = 1;

export interface RawKafkaSetup {
  brokers: string[];
  /** Default RAW_PARTITIONS. */
  partitions?: number;
  /** Value bytes per record (at least 16); default RAW_RECORD_BYTES. */
  recordBytes?: number;
}

export interface RawLatency {
  p50: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

export interface RawClosedLoopOptions extends RawKafkaSetup {
  /** Records in flight: each slot produces one, waits until the consumer has it, and goes again. */
  inFlight: number;
  warmupS: number;
  durationS: number;
}

export interface RawClosedLoopResult {
  /** Round trips completed inside the window. */
  roundTrips: number;
  windowS: number;
  perS: number;
  /** This process's CPU over the window (producer + consumer + loop). */
  cpuS: number;
  cpuPct: number;
  cpuUsPerRecord: number;
  /** ms from handing a record to the producer until the consumer's handler has it. */
  latency: RawLatency;
}

export interface RawOpenLoopOptions extends RawKafkaSetup {
  /** Records offered per second, whatever happens to the earlier ones. */
  ratePerS: number;
  durationS: number;
  /** Sent at the same rate before the window, not measured; default 1 s. */
  warmupS?: number;
}

export interface RawOpenLoopResult {
  offeredPerS: number;
  /** Records sent inside the window, of them received (after a bounded drain), and the rest. */
  sent: number;
  received: number;
  lost: number;
  windowS: number;
  /** Records sent inside the window that came back, per second of window. */
  achievedPerS: number;
  cpuS: number;
  cpuPct: number;
  /** ms from handing a record to the producer until the consumer's handler has it. */
  latency: RawLatency;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const latencyOf = (histogram: Histogram): RawLatency => {
  const { p50, p99, p999, max } = histogram.summary();
  return { p50, p99, p999, max };
};

/**
 * Closed loop: `inFlight` records outstanding at all times, each produced,
 * consumed, and produced again → round trips per second, p50/p99 and this
 * process's CPU per record. Creates and deletes its own topic.
 */
export async function rawKafkaClosedLoop(options: RawClosedLoopOptions): Promise<RawClosedLoopResult> {
  const waiting: ((() => void) | undefined)[] = new Array(options.inFlight);
  const histogram = new Histogram();
  let recording = false;
  let roundTrips = 0;
  const trip = await openRoundTrip(options, (value, receivedAt) => {
    const slot = value.readUInt32LE(SLOT_AT);
    if (recording) {
      roundTrips++;
      histogram.record(receivedAt - value.readDoubleLE(SENT_AT));
    }
    const resume = waiting[slot];
    waiting[slot] = undefined;
    resume?.();
  });
  try {
    let sending = true;
    const slot = async (index: number) => {
      while (sending) {
        const seen = new Promise<void>((resolve) => (waiting[index] = resolve));
        trip.send(index, index);
        await seen;
      }
    };
    const slots = Promise.all(Array.from({ length: options.inFlight }, (_, i) => slot(i)));
    const { windowS, cpuS } = await measuredWindow(options.warmupS, options.durationS, (open) => (recording = open));
    sending = false;
    await settlesWithin(slots, DRAIN_MS);
    trip.assertHealthy();
    return {
      roundTrips,
      windowS: round(windowS, 3),
      perS: Math.round(roundTrips / windowS),
      cpuS: round(cpuS, 3),
      cpuPct: round((100 * cpuS) / windowS, 1),
      cpuUsPerRecord: roundTrips > 0 ? Math.round((1e6 * cpuS) / roundTrips) : 0,
      latency: latencyOf(histogram),
    };
  } finally {
    await trip.close();
  }
}

/**
 * Open loop: records offered at `ratePerS` for `durationS` (after a warm-up
 * at the same rate), whatever the earlier ones are doing → p50/p99/p99.9 of
 * produce → consume and the rate that actually came back. The Kafka floor of
 * an end-to-end rate: e.g. `rawKafkaOpenLoop({ brokers, ratePerS: 1_000, durationS: 10 })`.
 * Creates and deletes its own topic.
 */
export async function rawKafkaOpenLoop(options: RawOpenLoopOptions): Promise<RawOpenLoopResult> {
  const histogram = new Histogram();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let received = 0;
  const trip = await openRoundTrip(options, (value, receivedAt) => {
    const sentAt = value.readDoubleLE(SENT_AT);
    if (sentAt < windowStart || sentAt >= windowEnd) return;
    received++;
    histogram.record(receivedAt - sentAt);
  });
  try {
    let sent = 0;
    let due = 0;
    const started = performance.now();
    const ticker = setInterval(() => {
      const target = Math.floor(((performance.now() - started) * options.ratePerS) / 1000);
      for (; due < target; due++) {
        const sentAt = trip.send(due, 0);
        if (sentAt >= windowStart && sentAt < windowEnd) sent++;
      }
    }, OPEN_LOOP_TICK_MS);
    const { windowS, cpuS } = await measuredWindow(options.warmupS ?? DEFAULT_WARMUP_S, options.durationS, (open) => {
      if (open) windowStart = performance.now();
      else windowEnd = performance.now();
    });
    clearInterval(ticker);
    const drainUntil = performance.now() + DRAIN_MS;
    while (received < sent && performance.now() < drainUntil) await sleep(10);
    trip.assertHealthy();
    return {
      offeredPerS: options.ratePerS,
      sent,
      received,
      lost: sent - received,
      windowS: round(windowS, 3),
      achievedPerS: Math.round(received / windowS),
      cpuS: round(cpuS, 3),
      cpuPct: round((100 * cpuS) / windowS, 1),
      latency: latencyOf(histogram),
    };
  } finally {
    await trip.close();
  }
}

interface RoundTrip {
  /** Queues a measured record keyed by `keyIndex`, stamped with the slot and the time now; returns that time. */
  send(keyIndex: number, slot: number): number;
  /** Throws the first produce failure, if any. */
  assertHealthy(): void;
  close(): Promise<void>;
}

/**
 * A fresh topic with a consumer (its own group, from the beginning, all
 * partitions at once) already fetching, and a producer; resolves once a probe
 * record has gone round, so the first measured record pays no join.
 */
async function openRoundTrip(setup: RawKafkaSetup, onRecord: (value: Buffer, receivedAt: number) => void): Promise<RoundTrip> {
  const partitions = setup.partitions ?? RAW_PARTITIONS;
  const recordBytes = Math.max(HEADER_BYTES, setup.recordBytes ?? RAW_RECORD_BYTES);
  const name = `bench-raw-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const client = (level: KafkaLogLevel) => new Kafka({ clientId: 'parley-bench-raw', brokers: setup.brokers, logLevel: level });
  // The admin's client stays silent: right after creation the partitions
  // answer "not the leader" for a moment, which is expected and retried here.
  const admin: Admin = client(logLevel.NOTHING).admin();
  const kafka = client(logLevel.ERROR);
  // Nothing to resume from: a fresh group on a fresh topic, read from the start, never committed.
  const consumer: Consumer = kafka.consumer({ groupId: name, maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const sender = new CoalescingSender(producer, name);
  const close = async () => {
    await sender.drained();
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    await admin.deleteTopics({ topics: [name] }).catch(() => undefined);
    await admin.deleteGroups([name]).catch(() => undefined);
    await admin.disconnect();
  };

  try {
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: name, numPartitions: partitions }] });
    await untilTopicServes(admin, name);
    let probeSeen: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (probeSeen = resolve));
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: partitions,
      eachBatch: ({ batch }) => {
        const receivedAt = performance.now();
        for (const message of batch.messages) {
          const value = message.value!;
          if (value[KIND_AT] === PROBE) probeSeen();
          else onRecord(value, receivedAt);
        }
        return Promise.resolve();
      },
    });
    await producer.connect();
    const probe = Buffer.alloc(recordBytes, 'x');
    probe[KIND_AT] = PROBE;
    sender.send({ key: 'probe', value: probe });
    if (!(await settlesWithin(ready, READY_TIMEOUT_MS))) {
      throw new Error(`the raw consumer saw no record within ${READY_TIMEOUT_MS} ms`);
    }
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }

  const keys = Array.from({ length: RAW_KEYS }, (_, i) => `room:${i}`);
  return {
    send(keyIndex, slot) {
      // A fresh buffer per record: kafkajs encodes it later, when the request goes.
      const value = Buffer.alloc(recordBytes, 'x');
      const sentAt = performance.now();
      value[KIND_AT] = MEASURED;
      value.writeUInt32LE(slot, SLOT_AT);
      value.writeDoubleLE(sentAt, SENT_AT);
      sender.send({ key: keys[keyIndex % RAW_KEYS]!, value });
      return sentAt;
    },
    assertHealthy: () => sender.assertHealthy(),
    close,
  };
}

/** True when `promise` settles within `ms`; the timer never outlives it. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until every partition of a just-created topic answers for its offsets. */
async function untilTopicServes(admin: Admin, topic: string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** One produce request in flight; what queues meanwhile goes in the next (acks=all). */
class CoalescingSender {
  readonly #producer: Producer;
  readonly #topic: string;
  #queue: Message[] = [];
  #pumping: Promise<void> | null = null;
  /** What the first failed send threw (boxed: a send may reject with anything). */
  #failure: { error: unknown } | null = null;

  constructor(producer: Producer, topic: string) {
    this.#producer = producer;
    this.#topic = topic;
  }

  send(message: Message): void {
    this.#queue.push(message);
    this.#pumping ??= this.#pump().finally(() => (this.#pumping = null));
  }

  async drained(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  assertHealthy(): void {
    if (this.#failure !== null) throw this.#failure.error;
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const messages = this.#queue.splice(0, MAX_RECORDS_PER_PRODUCE);
      try {
        await this.#producer.send({ topic: this.#topic, acks: -1, messages });
      } catch (error) {
        this.#failure ??= { error };
      }
    }
  }
}
