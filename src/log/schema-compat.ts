// Checks that every version of an event schema can be read by every other
// version, both ways. Backward (new reader, old writer) is what replaying the
// log with new code needs; forward (old reader, new writer) is what a rolling
// deploy needs, when old consumers meet events from upgraded producers.
// Each version is checked against ALL earlier ones, not only its predecessor:
// a field dropped in v2 and brought back with another type in v3 passes both
// neighbouring checks but breaks reading v1 events with v3.

import avro from 'avsc';
import type { SchemaCatalog, SchemaVersion } from './schema-catalog.ts';

export interface CompatibilityProblem {
  readonly type: string;
  /** backward: `reader` is the newer version; forward: `reader` is the older one. */
  readonly direction: 'backward' | 'forward';
  readonly reader: number;
  readonly writer: number;
  /** Path of the offending field (`attachments[].bytes`), or `(record)`. */
  readonly field: string;
  readonly reason: string;
  /** One sentence naming all of the above. */
  readonly message: string;
}

export function checkCatalogCompatibility(catalog: SchemaCatalog): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  for (const [type, versions] of catalog.types) problems.push(...checkTypeCompatibility(type, versions));
  return problems;
}

export function checkTypeCompatibility(type: string, versions: readonly SchemaVersion[]): CompatibilityProblem[] {
  const problems: CompatibilityProblem[] = [];
  versions.forEach((newer, i) => {
    for (const older of versions.slice(0, i)) {
      problems.push(...checkPair(type, 'backward', newer, older));
      problems.push(...checkPair(type, 'forward', older, newer));
    }
  });
  return problems;
}

function checkPair(
  type: string,
  direction: CompatibilityProblem['direction'],
  reader: SchemaVersion,
  writer: SchemaVersion,
): CompatibilityProblem[] {
  return explain(reader.avroType, writer.avroType, '').map(({ field, reason }) => ({
    type,
    direction,
    reader: reader.version,
    writer: writer.version,
    field,
    reason,
    message: `${type}: v${reader.version} cannot read v${writer.version} (${direction}), ` + `field ${field}: ${reason}`,
  }));
}

interface Finding {
  field: string;
  reason: string;
}

/**
 * avsc says whether a reader can resolve a writer, but its messages do not
 * name the field (`cannot read "string" as "long"`). So when it refuses, walk
 * the records (and arrays and maps of them) to find which fields are at fault.
 */
function explain(reader: avro.Type, writer: avro.Type, path: string): Finding[] {
  let refusal: string;
  try {
    reader.createResolver(writer);
    return [];
  } catch (error) {
    refusal = (error as Error).message;
  }

  let findings: Finding[] = [];
  const { RecordType, ArrayType, MapType } = avro.types;
  if (reader instanceof RecordType && writer instanceof RecordType) {
    findings = explainRecord(reader, writer, path);
  } else if (reader instanceof ArrayType && writer instanceof ArrayType) {
    findings = explain(reader.itemsType, writer.itemsType, `${path}[]`);
  } else if (reader instanceof MapType && writer instanceof MapType) {
    findings = explain(reader.valuesType as avro.Type, writer.valuesType as avro.Type, `${path}{}`);
  }
  // Nothing more specific inside (a retyped field, a renamed record …): the
  // refusal belongs to this very path.
  return findings.length > 0 ? findings : [{ field: path === '' ? '(record)' : path, reason: refusal }];
}

function explainRecord(reader: avro.types.RecordType, writer: avro.types.RecordType, path: string): Finding[] {
  const findings: Finding[] = [];
  for (const field of reader.fields) {
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    const names = [field.name, ...field.aliases];
    const written = writer.fields.find((candidate) => names.includes(candidate.name));
    if (written === undefined) {
      if (field.defaultValue() === undefined) {
        findings.push({ field: fieldPath, reason: 'the writer lacks it and the reader has no default for it' });
      }
      continue;
    }
    findings.push(...explain(field.type, written.type, fieldPath));
  }
  return findings;
}
