// Domain event data ⇄ bytes for the events log.
//
// Values are written in Avro single-object encoding: 0xC3 0x01, the 8-byte
// little-endian CRC-64-AVRO fingerprint of the writer schema, then the Avro
// binary body. The fingerprint lets a reader find the exact schema the bytes
// were written with among all versions of the event type, and resolve it to
// the latest one, so events written years ago read with today's fields (and
// their defaults). Values in the Confluent wire format (0x00, a 4-byte schema
// id, the body) are read too, with the writer schema found through a registry
// lookup the caller provides.
//
// Everything costly (parsing, canonical forms, fingerprints, resolvers) is done
// once at start or on the first sight of a registry id; encode and decode do
// no JSON and no schema work. What a schema cannot say about old values (a
// secret no reader may see again) is an upcaster's, run after decoding
// (upcasters.ts).

import avro from 'avsc';
import { findInvalidFields } from './avro-validation.ts';
import type { EventCodec } from './codec.ts';
import { personalFieldPaths, type FieldPath } from './personal-fields.ts';
import { upcast } from './upcasters.ts';
import { parseAvroSchema, loadSchemaCatalog, type AvroSchemaJson, type SchemaVersion } from './schema-catalog.ts';

/**
 * Finds a writer schema by its Confluent schema registry id. It is called at
 * most once per id (the answer is kept), and must answer synchronously:
 * a registry adapter fetches or registers the ids it will meet beforehand.
 * `undefined` means the id is unknown.
 */
export type RegistryLookup = (schemaId: number) => AvroSchemaJson | undefined;

export interface AvroCodecOptions {
  /** The folder holding `<event_type>/v<n>.avsc`. */
  schemasDir: string;
  registryLookup?: RegistryLookup;
}

/**
 * `encode` validates `data` against the latest schema of `type` and writes it
 * in single-object encoding; `decode` reads single-object or Confluent-framed
 * bytes as the latest schema of `type`.
 */
export interface AvroCodec extends EventCodec {
  /** Every version of every event type, oldest first within a type. */
  listSchemas(): readonly SchemaVersion[];
}

/** Anything the codec refuses; `eventType` says which event was concerned. */
export class AvroCodecError extends Error {
  readonly eventType: string;
  constructor(eventType: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AvroCodecError';
    this.eventType = eventType;
  }
}

const SINGLE_OBJECT_MAGIC = [0xc3, 0x01] as const;
const SINGLE_OBJECT_HEADER = 10; // magic (2) + fingerprint (8)
const CONFLUENT_MAGIC = 0x00;
const CONFLUENT_HEADER = 5; // magic (1) + schema id (4)
const STRICT: Partial<avro.IsValidOptions> = { noUndeclaredFields: true };

interface Reader {
  readonly writer: string; // names the writer schema in error messages
  /** Absent when the writer schema is the latest itself: no resolution needed. */
  readonly resolver: avro.Resolver | undefined;
}

interface EventTypeCodec {
  readonly latest: SchemaVersion;
  /** Magic + fingerprint of the latest version, written before every body. */
  readonly header: Buffer;
  /** Writer fingerprint (as an unsigned 64-bit integer) → how to read it. */
  readonly byFingerprint: ReadonlyMap<bigint, Reader>;
  /** Confluent schema id → how to read it; filled on first sight of an id. */
  readonly byRegistryId: Map<number, Reader>;
}

export function createAvroCodec(options: AvroCodecOptions): AvroCodec {
  const catalog = loadSchemaCatalog(options.schemasDir);
  const codecs = new Map<string, EventTypeCodec>();
  for (const [type, versions] of catalog.types) codecs.set(type, buildTypeCodec(type, versions));
  const listing = [...catalog.types.values()].flat();

  // One growing scratch buffer for all encodes: the body is written right
  // after the header, then copied out once (toBuffer + concat would copy twice).
  let scratch = Buffer.allocUnsafe(64 * 1024);

  function codecFor(type: string): EventTypeCodec {
    const codec = codecs.get(type);
    if (codec === undefined) {
      throw new AvroCodecError(type, `unknown event type "${type}": there is no schema for it in ${catalog.dir}`);
    }
    return codec;
  }

  function encode(type: string, data: unknown): Buffer {
    const { latest, header } = codecFor(type);
    const avroType = latest.avroType;
    if (!avroType.isValid(data, STRICT)) {
      const problems = findInvalidFields(avroType, data);
      throw new AvroCodecError(type, `invalid ${type} event (schema v${latest.version}): ${problems.join('; ')}`);
    }
    header.copy(scratch, 0);
    let end = avroType.encode(data, scratch, SINGLE_OBJECT_HEADER);
    while (end < 0) {
      // `encode` answers with minus the bytes it lacked.
      scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - end));
      header.copy(scratch, 0);
      end = avroType.encode(data, scratch, SINGLE_OBJECT_HEADER);
    }
    const out = Buffer.allocUnsafe(end);
    scratch.copy(out, 0, 0, end);
    return out;
  }

  function decode(type: string, value: Buffer): unknown {
    const codec = codecFor(type);
    let reader: Reader;
    let bodyStart: number;
    if (value.length >= SINGLE_OBJECT_HEADER && value[0] === SINGLE_OBJECT_MAGIC[0] && value[1] === SINGLE_OBJECT_MAGIC[1]) {
      reader = singleObjectReader(codec, type, value);
      bodyStart = SINGLE_OBJECT_HEADER;
    } else if (value.length >= CONFLUENT_HEADER && value[0] === CONFLUENT_MAGIC) {
      reader = confluentReader(codec, type, value.readUInt32BE(1));
      bodyStart = CONFLUENT_HEADER;
    } else {
      throw new AvroCodecError(
        type,
        `cannot decode ${type}: neither Avro single-object encoding (C3 01 …) nor Confluent framing (00 …); ` +
          `value starts with ${value.subarray(0, 4).toString('hex') || 'nothing'} (${value.length} bytes)`,
      );
    }

    let decoded: { value: unknown; offset: number };
    try {
      decoded = codec.latest.avroType.decode(value, bodyStart, reader.resolver);
    } catch (error) {
      // avsc throws on an unsafe long ("potential precision loss") or bytes
      // that do not parse as the writer schema.
      throw new AvroCodecError(type, `cannot decode ${type} written with ${reader.writer}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (decoded.offset !== value.length) {
      const what = decoded.offset < 0 ? 'the value is truncated' : `${value.length - decoded.offset} bytes left over`;
      throw new AvroCodecError(type, `cannot decode ${type} written with ${reader.writer}: ${what}`);
    }
    return upcast(type, decoded.value);
  }

  function singleObjectReader(codec: EventTypeCodec, type: string, value: Buffer): Reader {
    const fingerprint = value.readBigUInt64LE(2);
    const reader = codec.byFingerprint.get(fingerprint);
    if (reader !== undefined) return reader;
    const hex = value.subarray(2, SINGLE_OBJECT_HEADER).toString('hex');
    const elsewhere = listing.find((v) => v.fingerprint.equals(value.subarray(2, SINGLE_OBJECT_HEADER)));
    const hint =
      elsewhere === undefined
        ? 'it was written with a schema this process does not have (a newer version not deployed here?)'
        : `it is ${elsewhere.type} v${elsewhere.version} (wrong event type header?)`;
    throw new AvroCodecError(type, `cannot decode ${type}: unknown writer schema fingerprint ${hex}; ${hint}`);
  }

  function confluentReader(codec: EventTypeCodec, type: string, schemaId: number): Reader {
    const known = codec.byRegistryId.get(schemaId);
    if (known !== undefined) return known;
    if (options.registryLookup === undefined) {
      throw new AvroCodecError(
        type,
        `cannot decode ${type}: the value is in Confluent wire format (schema id ${schemaId}) and no registry lookup is configured`,
      );
    }
    const schema = options.registryLookup(schemaId);
    if (schema === undefined) {
      throw new AvroCodecError(type, `cannot decode ${type}: schema id ${schemaId} is unknown to the registry`);
    }
    const writer = `registry schema id ${schemaId}`;
    let resolver: avro.Resolver;
    try {
      resolver = codec.latest.avroType.createResolver(parseAvroSchema(schema));
    } catch (error) {
      throw new AvroCodecError(
        type,
        `cannot decode ${type}: ${writer} cannot be read as ${type} v${codec.latest.version}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const reader = { writer, resolver };
    codec.byRegistryId.set(schemaId, reader);
    return reader;
  }

  const personal = new Map<string, readonly FieldPath[]>();
  for (const [type, { latest }] of codecs) personal.set(type, personalFieldPaths(latest.schema));
  const personalFields = (type: string) => personal.get(type) ?? [];

  return { encode, decode, personalFields, listSchemas: () => listing };
}

function buildTypeCodec(type: string, versions: readonly SchemaVersion[]): EventTypeCodec {
  const latest = versions[versions.length - 1]!;
  const byFingerprint = new Map<bigint, Reader>();
  for (const version of versions) {
    const writer = `${type} v${version.version}`;
    let resolver: avro.Resolver | undefined;
    if (version !== latest) {
      try {
        resolver = latest.avroType.createResolver(version.avroType);
      } catch (error) {
        // Refuse to start: every event written with this version would fail.
        throw new Error(`${latest.file} cannot read events written with ${version.file}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    // Versions that differ only in docs, defaults or aliases share a
    // fingerprint and are the same as writers; the later one wins, so the
    // latest maps to "no resolution needed".
    byFingerprint.set(version.fingerprint.readBigUInt64LE(0), { writer, resolver });
  }
  const header = Buffer.concat([Buffer.from(SINGLE_OBJECT_MAGIC), latest.fingerprint]);
  return { latest, header, byFingerprint, byRegistryId: new Map() };
}
