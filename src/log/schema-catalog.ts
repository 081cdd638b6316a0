// Reads the schema history from disk: `<dir>/<event_type>/v1.avsc, v2.avsc …`.
// Everything that can be wrong with the files (bad JSON, a schema avsc rejects,
// a missing version) is reported here, at start-up, naming the file — not
// later, while decoding someone's event.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import avro from 'avsc';
import { schemaFingerprint } from './fingerprint.ts';

/** A schema as JSON: the parsed text of an `.avsc` file, or that text itself. */
export type AvroSchemaJson = string | { readonly [key: string]: unknown } | readonly unknown[];

export interface SchemaVersion {
  /** The event type, i.e. the folder name (`message_sent`). */
  readonly type: string;
  /** 1, 2, 3 … from the file name `v<version>.avsc`. */
  readonly version: number;
  readonly file: string;
  /** The file as written, with docs, defaults and aliases (what a registry wants). */
  readonly schema: AvroSchemaJson;
  /** Parsing Canonical Form: what the fingerprint is taken of. */
  readonly canonicalForm: string;
  /** CRC-64-AVRO of the canonical form, 8 bytes little-endian. */
  readonly fingerprint: Buffer;
  readonly avroType: avro.Type;
}

export interface SchemaCatalog {
  readonly dir: string;
  /** Event type → its versions, oldest first; the last one is the latest. */
  readonly types: ReadonlyMap<string, readonly SchemaVersion[]>;
}

const VERSION_FILE = /^v([1-9][0-9]*)\.avsc$/;

/**
 * Builds an avsc Type the way the codec needs it: fresh options each time
 * (avsc stores named types in the options object it is given, and two
 * versions of one record share a name), and `["null", T]` unions read as
 * `null | T` — the shape of the domain types — with ambiguous unions refused.
 */
export function parseAvroSchema(schema: AvroSchemaJson): avro.Type {
  const parsed: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  return avro.Type.forSchema(parsed as avro.Schema, { wrapUnions: 'never', omitRecordMethods: true });
}

/** The Parsing Canonical Form of a type (avsc's default `schema()` output). */
export function canonicalFormOf(type: avro.Type): string {
  return JSON.stringify(type.schema());
}

export function loadSchemaCatalog(dir: string): SchemaCatalog {
  const types = new Map<string, SchemaVersion[]>();
  const folders = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const type of folders) {
    const versions = loadVersions(dir, type);
    if (versions.length > 0) types.set(type, versions);
  }
  return { dir, types };
}

function loadVersions(dir: string, type: string): SchemaVersion[] {
  const folder = join(dir, type);
  const numbers: number[] = [];
  for (const name of readdirSync(folder)) {
    if (name.startsWith('.')) continue; // editor and OS litter, not a schema
    const match = VERSION_FILE.exec(name);
    if (match === null) {
      throw new Error(`${join(folder, name)}: unexpected file; schema versions are named v1.avsc, v2.avsc …`);
    }
    numbers.push(Number(match[1]));
  }
  numbers.sort((a, b) => a - b);
  // A gap means a published version was deleted: events written with it could
  // no longer be read, so refuse to start rather than fail on them later.
  numbers.forEach((n, i) => {
    if (n !== i + 1) throw new Error(`${folder}: v${i + 1}.avsc is missing (found v${n}.avsc); versions are never deleted`);
  });

  return numbers.map((version) => loadVersion(folder, type, version));
}

function loadVersion(folder: string, type: string, version: number): SchemaVersion {
  const file = join(folder, `v${version}.avsc`);
  let schema: AvroSchemaJson;
  let avroType: avro.Type;
  try {
    schema = JSON.parse(readFileSync(file, 'utf8')) as AvroSchemaJson;
    avroType = parseAvroSchema(schema);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`, { cause: error });
  }
  if (avroType.typeName !== 'record') throw new Error(`${file}: an event schema must be a record`);
  const canonicalForm = canonicalFormOf(avroType);
  return { type, version, file, schema, canonicalForm, fingerprint: schemaFingerprint(canonicalForm), avroType };
}
