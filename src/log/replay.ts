// `parley replay`: the log as analysts read it. Decodes a range of a topic to
// JSON lines — by partition, offset or time range, event type, aggregate — and
// optionally follows it live. It only reads committed records with the plain
// read API: it never joins a consumer group the service uses.

import type { Writable } from 'node:stream';
import type { EventCodec } from './codec.ts';
import { isStaleWrite } from './fencing.ts';
import type { Consumer, Log, LogRecord } from './port.ts';
import { headers } from './topics.ts';
import { upcast } from './upcasters.ts';

export interface ReplayOptions {
  topic: string;
  /** Partitions to read; all when empty. */
  partitions: number[];
  /** First offset to read in each partition (inclusive); the start of retention when absent. */
  fromOffset?: number | undefined;
  /** Last offset to read in each partition (inclusive). */
  toOffset?: number | undefined;
  /** Records appended at or after this time (epoch ms). */
  fromTime?: number | undefined;
  /** Records appended before this time (epoch ms). */
  toTime?: number | undefined;
  /** Only these event types (header `event_type`). */
  types: string[];
  /** Only records with this key (aggregate id, e.g. `room:<id>`). */
  aggregate?: string | undefined;
  /** Keep reading new records as they are appended. */
  follow: boolean;
  /** Include events that a fenced (stale) writer appended; readers of the service skip them. */
  includeStale: boolean;
  pageSize?: number;
}

export interface ReplayLine {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string;
  type: string | null;
  headers: Record<string, string>;
  data: unknown;
  stale?: true;
}

export interface ReplayProgress {
  (done: number, total: number): void;
}

/**
 * Decodes one record: Avro events and signals by their type (the codec runs
 * their upcasters), commands and outcomes as JSON, a command's data through
 * its upcaster too — what older records say that no reader may see is not
 * printed either.
 */
export function decodeRecord(codec: EventCodec, record: LogRecord): ReplayLine {
  const eventType = record.headers[headers.eventType];
  const commandType = record.headers[headers.commandType];
  let data: unknown;
  if (eventType !== undefined) data = codec.decode(eventType, record.value);
  else {
    try {
      data = JSON.parse(record.value.toString('utf8'));
    } catch {
      data = { base64: record.value.toString('base64') };
    }
    if (commandType !== undefined && typeof data === 'object' && data !== null && 'data' in data) {
      data = { ...data, data: upcast(commandType, data.data) };
    }
  }
  const type = eventType ?? commandType ?? null;
  return {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key,
    type,
    headers: record.headers,
    data,
    ...(isStaleWrite(record) ? { stale: true as const } : {}),
  };
}

function matches(options: ReplayOptions, record: LogRecord): boolean {
  if (options.fromTime !== undefined && record.timestamp < options.fromTime) return false;
  if (options.toTime !== undefined && record.timestamp >= options.toTime) return false;
  if (options.aggregate !== undefined && record.key !== options.aggregate) return false;
  if (options.types.length > 0) {
    const type = record.headers[headers.eventType] ?? record.headers[headers.commandType];
    if (type === undefined || !options.types.includes(type)) return false;
  }
  if (!options.includeStale && isStaleWrite(record)) return false;
  return true;
}

/**
 * Every partition of a topic. A replay is often the process's first use of the
 * topic and runs no ensureTopics (an analyst's settings need not match the
 * deployment's): the Kafka adapter learns a topic's partitions on first use,
 * so one read of partition 0 comes first. An unknown topic fails there, by name.
 */
async function allPartitions(log: Log, topic: string): Promise<number[]> {
  await log.startOffset(topic, 0);
  return Array.from({ length: log.partitionCount(topic) }, (_, p) => p);
}

/**
 * Writes the matching records as JSON lines to `out`; resolves with the number
 * written once the range is done (or, with `follow`, when `signal` aborts).
 */
export async function replay(
  log: Log,
  codec: EventCodec,
  options: ReplayOptions,
  out: Writable,
  extras: {
    progress?: ReplayProgress | undefined;
    signal?: AbortSignal | undefined;
    /**
     * What the lines show of personal data, a page at a time: hidden, or
     * opened with the key store (cli/replay.ts). Lines go out as given when absent.
     */
    present?: ((lines: ReplayLine[]) => Promise<ReplayLine[]> | ReplayLine[]) | undefined;
  } = {},
): Promise<number> {
  const { progress, signal, present } = extras;
  const partitions = options.partitions.length > 0 ? options.partitions : await allPartitions(log, options.topic);
  const pageSize = options.pageSize ?? 1000;
  let written = 0;
  const emit = async (records: readonly LogRecord[]) => {
    const decoded = records.filter((record) => matches(options, record)).map((record) => decodeRecord(codec, record));
    const lines = present === undefined ? decoded : await present(decoded);
    for (const line of lines) {
      written++;
      if (!out.write(`${JSON.stringify(line)}\n`)) await new Promise((resolve) => out.once('drain', resolve));
    }
  };

  // The committed range first, partition by partition.
  const ranges = await Promise.all(
    partitions.map(async (partition) => {
      const start = Math.max(options.fromOffset ?? 0, await log.startOffset(options.topic, partition));
      const end = await log.endOffset(options.topic, partition);
      const last = Math.min(end - 1, options.toOffset ?? Number.MAX_SAFE_INTEGER);
      return { partition, start, last, end };
    }),
  );
  const total = ranges.reduce((sum, r) => sum + Math.max(0, r.last - r.start + 1), 0);
  let done = 0;
  for (const range of ranges) {
    let offset = range.start;
    while (offset <= range.last && !signal?.aborted) {
      const records = await log.read(options.topic, range.partition, offset, Math.min(pageSize, range.last - offset + 1));
      if (records.length === 0) break;
      const page: LogRecord[] = [];
      for (const record of records) {
        if (record.offset > range.last) break;
        // Past the end of the time range: later records are later still.
        if (options.toTime !== undefined && record.timestamp >= options.toTime && !options.follow) {
          offset = range.last + 1;
          break;
        }
        page.push(record);
      }
      await emit(page);
      const next = records[records.length - 1]!.offset + 1;
      done += Math.max(0, Math.min(next, range.last + 1) - offset);
      offset = Math.max(offset, next);
      progress?.(done, total);
    }
  }
  if (!options.follow || signal?.aborted) return written;

  // Then live: a group-less consumer from where the range ended.
  const ends = new Map(ranges.map((r) => [r.partition, r.end]));
  const consumer: Consumer = await log.consume({
    topic: options.topic,
    group: null,
    from: 'latest',
    startAt: (partition) => Promise.resolve(ends.get(partition) ?? null),
    eachBatch: async ({ partition, records }) => {
      if (!partitions.includes(partition)) return;
      await emit(records);
    },
  });
  await new Promise<void>((resolve) => {
    if (signal === undefined) return; // follow forever
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await consumer.stop();
  return written;
}
