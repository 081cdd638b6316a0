// Conversions between kafkajs messages and the port's records, shared by the
// reader and the consumers.

import type { LogRecord } from '../port.ts';

/** A fetched message as kafkajs decodes it (consumer batches and raw fetches alike). */
export interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  isControlRecord?: boolean;
}

const empty = Buffer.alloc(0);

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string {
  // A header written twice comes back as an array; the port has one value per
  // name (Parley never writes duplicates), so the last one wins, as in a map.
  const one = Array.isArray(value) ? value[value.length - 1] : value;
  if (one === undefined) return '';
  return typeof one === 'string' ? one : one.toString('utf8');
}

export function toLogRecord(topic: string, partition: number, message: FetchedMessage): LogRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = headerText(value);
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? '' : message.key.toString('utf8'),
    value: message.value ?? empty,
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** Kafka offsets are int64 strings; Parley's stay far below 2^53. */
export function offsetOf(value: string | number): number {
  const offset = Number(value);
  if (!Number.isSafeInteger(offset)) throw new RangeError(`offset ${value} is not a safe integer`);
  return offset;
}
