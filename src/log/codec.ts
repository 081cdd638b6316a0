// The codec port of the log: event and signal data ⇄ the bytes of a record
// (Avro, avro-codec.ts; through a schema registry, registry-codec.ts), and the
// one way every reader turns an events-log record into an event.

import { isStaleWrite } from './fencing.ts';
import type { FieldPath } from './personal-fields.ts';
import type { LogRecord } from './port.ts';
import { headers } from './topics.ts';

export interface EventCodec {
  /** Validates `data` against the latest schema of `type` and encodes it. */
  encode(type: string, data: unknown): Buffer;
  /** Reads bytes written with any version of `type`'s schema as its latest version. */
  decode(type: string, value: Buffer): unknown;
  /** The fields of `type` its latest schema marks personal (personal-fields.ts); none for an unknown type. */
  personalFields(type: string): readonly FieldPath[];
}

/** What a record of the events or signals log carries, decoded. */
export interface DecodedRecord {
  type: string;
  data: unknown;
}

/**
 * The event (or signal) a record carries, or null for a record every reader
 * skips: one without an event type, or one a fenced writer appended
 * (fencing.ts). The data has the shape of the type's latest schema, so a
 * caller may assert its own union of events on the result.
 */
export function decodeEventRecord(codec: EventCodec, record: LogRecord): DecodedRecord | null {
  const type = record.headers[headers.eventType];
  if (type === undefined || isStaleWrite(record)) return null;
  return { type, data: codec.decode(type, record.value) };
}

/**
 * True for a decode failure that goes away by itself: a codec that is still
 * fetching the record's schema (registry-codec.ts's RegistrySchemaPendingError)
 * throws an error carrying a `ready` promise. Any other decode failure is the
 * record's own: it will fail the same way every time.
 */
export function isPendingDecodeError(error: unknown): boolean {
  return error instanceof Error && 'ready' in error && error.ready instanceof Promise;
}

/**
 * decodeEventRecord for readers that go on without a record they cannot read
 * (the gateway's best-effort fan-out, the writer restoring its aggregates, a
 * process manager): the record is reported (`skipped`) and read as null, like
 * a record every reader skips. A decode that only waits for its schema still
 * throws, so the log hands the batch out again. The projector does not use
 * this: it parks such a record (projections/runner.ts).
 */
export function decodeOrSkip(
  codec: EventCodec,
  record: LogRecord,
  skipped: (error: unknown, record: LogRecord) => void,
): DecodedRecord | null {
  try {
    return decodeEventRecord(codec, record);
  } catch (error) {
    if (isPendingDecodeError(error)) throw error;
    skipped(error, record);
    return null;
  }
}

/** What a log line says about a record skipped by decodeOrSkip. */
export const undecodableFields = (error: unknown, record: LogRecord) => ({
  err: error,
  topic: record.topic,
  partition: record.partition,
  offset: record.offset,
  type: record.headers[headers.eventType],
});
