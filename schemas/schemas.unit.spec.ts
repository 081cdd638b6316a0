// The published schemas: one folder per domain event type and per signal type
// (src/log/signals.ts), fields as in their `data` (but for retired ones, kept
// only so that versions stay compatible), and every version readable by every
// other, both ways.

import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createAvroCodec } from '../src/log/avro-codec.ts';
import { eventSamples, signalSamples } from '../src/log/event-samples.fixture.ts';
import { loadSchemaCatalog, type SchemaVersion } from '../src/log/schema-catalog.ts';
import { checkCatalogCompatibility } from '../src/log/schema-compat.ts';
import { makeSchemaDir, record } from '../src/log/schema-dir.fixture.ts';

const catalog = loadSchemaCatalog(fileURLToPath(new URL('.', import.meta.url)));
const latest = [...catalog.types.values()].map((versions) => versions[versions.length - 1]!);

interface FieldJson {
  name: string;
  type: unknown;
  default?: unknown;
  /** A field no version writes any more and no reader may see (schemas/README.md, "Retiring a field"). */
  'parley.retired'?: boolean;
}
const fieldsOf = (v: SchemaVersion): FieldJson[] => (v.schema as { fields: FieldJson[] }).fields;
const liveFieldsOf = (v: SchemaVersion): FieldJson[] => fieldsOf(v).filter((field) => field['parley.retired'] !== true);
const pascal = (type: string) => type.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
const isSignal = (type: string): type is keyof typeof signalSamples => Object.hasOwn(signalSamples, type);

describe('the schemas folder', () => {
  it('has a schema for every domain event type and signal type, and none for types neither has', () => {
    expect([...catalog.types.keys()].sort()).toEqual([...Object.keys(eventSamples), ...Object.keys(signalSamples)].sort());
  });

  it('never gives an event and a signal the same type name', () => {
    expect(Object.keys(signalSamples).filter((type) => Object.hasOwn(eventSamples, type))).toEqual([]);
  });

  it.each(latest.map((v) => [v.type, v] as const))(
    '%s: record parley.events.<PascalCase> (parley.signals.… for a signal) with the fields of its data',
    (type, v) => {
      expect(v.avroType.name).toBe(`parley.${isSignal(type) ? 'signals' : 'events'}.${pascal(type)}`);
      // The samples are typed by the domain (and signals.ts), so their keys are the fields of `data`.
      const sample = isSignal(type) ? signalSamples[type][0] : eventSamples[type as keyof typeof eventSamples][0];
      expect(
        liveFieldsOf(v)
          .map((f) => f.name)
          .sort(),
      ).toEqual(Object.keys(sample).sort());
    },
  );

  const retired = latest.flatMap((v) =>
    fieldsOf(v)
      .filter((f) => f['parley.retired'] === true)
      .map((f) => [v.type, f.name, f] as const),
  );
  it.each(retired)('%s.%s is retired: it has a default and is never read', (type, _name, field) => {
    // Written by nobody: the default fills it.
    expect(field.default).toBeDefined();
    // Read by nobody: an event that still carries a value in it (written with an
    // older version) decodes without it — the codec's upcaster drops it.
    const codec = createAvroCodec({ schemasDir: catalog.dir });
    const sample = eventSamples[type as keyof typeof eventSamples][0] as Record<string, unknown>;
    const withValue = createAvroCodec({ schemasDir: catalog.dir }).encode(type, { ...sample, [field.name]: 'an old value' });
    expect(withValue.includes('an old value')).toBe(true);
    expect(codec.decode(type, withValue)).toEqual(sample);
  });

  it.each(latest.map((v) => [v.type, v] as const))('%s: nullable fields are ["null", T] with default null', (_, v) => {
    for (const field of fieldsOf(v)) {
      if (Array.isArray(field.type) && field.type.includes('null')) {
        expect({ field: field.name, type: field.type[0], default: field.default }).toEqual({
          field: field.name,
          type: 'null',
          default: null,
        });
      }
    }
  });

  it.each(latest.map((v) => [v.type, v] as const))('%s: at and *_at fields are epoch-ms longs (timestamp-millis)', (_, v) => {
    const times = fieldsOf(v).filter((f) => f.name === 'at' || f.name.endsWith('_at'));
    expect(times.length).toBeGreaterThan(0);
    for (const field of times)
      expect({ field: field.name, type: field.type }).toEqual({
        field: field.name,
        type: { type: 'long', logicalType: 'timestamp-millis' },
      });
  });
});

describe('compatibility between versions', () => {
  it('every version of every event type reads, and is read by, all earlier versions', () => {
    expect(checkCatalogCompatibility(catalog).map((p) => p.message)).toEqual([]);
  });
});

describe('the compatibility check catches bad changes', () => {
  const id = { name: 'id', type: 'string' };
  const attachment = (bytesType: string) => ({
    name: 'attachments',
    type: { type: 'array', items: { type: 'record', name: 'Attachment', fields: [{ name: 'bytes', type: bytesType }] } },
  });
  const fixture = makeSchemaDir({
    // Fine: a nullable field with a default, then a rename through an alias of a field with a default.
    'good/v1.avsc': record('Good', [id, { name: 'title', type: 'string', default: '' }]),
    'good/v2.avsc': record('Good', [
      id,
      { name: 'title', type: 'string', default: '' },
      { name: 'note', type: ['null', 'string'], default: null },
    ]),
    'good/v3.avsc': record('Good', [
      id,
      { name: 'name', type: 'string', default: '', aliases: ['title'] },
      { name: 'note', type: ['null', 'string'], default: null },
    ]),
    // A new field without a default: new code cannot read old events.
    'no_default/v1.avsc': record('NoDefault', [id]),
    'no_default/v2.avsc': record('NoDefault', [id, { name: 'due_at', type: 'long' }]),
    // A retyped field, deep inside an array of records.
    'retyped/v1.avsc': record('Retyped', [id, attachment('long')]),
    'retyped/v2.avsc': record('Retyped', [id, attachment('string')]),
    // Dropped in v2 (it had a default, so that is fine) and brought back with another type in v3:
    // each neighbour pair is compatible, v1 and v3 are not.
    'reused/v1.avsc': record('Reused', [id, { name: 'note', type: 'string', default: '' }]),
    'reused/v2.avsc': record('Reused', [id]),
    'reused/v3.avsc': record('Reused', [id, { name: 'note', type: 'long', default: 0 }]),
    // A rename of a required field: new readers follow the alias, old readers find nothing.
    'renamed/v1.avsc': record('Renamed', [id, { name: 'title', type: 'string' }]),
    'renamed/v2.avsc': record('Renamed', [id, { name: 'name', type: 'string', aliases: ['title'] }]),
  });
  afterAll(fixture.remove);
  const problems = checkCatalogCompatibility(loadSchemaCatalog(fixture.dir));
  const about = (type: string) =>
    problems.filter((p) => p.type === type).map(({ direction, reader, writer, field }) => ({ direction, reader, writer, field }));

  it('accepts compatible changes', () => {
    expect(about('good')).toEqual([]);
  });

  it('reports a new field without a default, naming type, versions and field', () => {
    expect(about('no_default')).toEqual([{ direction: 'backward', reader: 2, writer: 1, field: 'due_at' }]);
    expect(problems.find((p) => p.type === 'no_default')?.message).toBe(
      'no_default: v2 cannot read v1 (backward), field due_at: the writer lacks it and the reader has no default for it',
    );
  });

  it('reports a retyped field by its path, both ways', () => {
    expect(about('retyped')).toEqual([
      { direction: 'backward', reader: 2, writer: 1, field: 'attachments[].bytes' },
      { direction: 'forward', reader: 1, writer: 2, field: 'attachments[].bytes' },
    ]);
    expect(problems.find((p) => p.type === 'retyped')?.message).toMatch(
      /^retyped: v2 cannot read v1 \(backward\), field attachments\[\]\.bytes: cannot read "long" as "string"/,
    );
  });

  it('reports a field name reused with another type against every earlier version, not only the previous one', () => {
    expect(about('reused')).toEqual([
      { direction: 'backward', reader: 3, writer: 1, field: 'note' },
      { direction: 'forward', reader: 1, writer: 3, field: 'note' },
    ]);
  });

  it('reports renaming a field that has no default: old readers cannot find it', () => {
    expect(about('renamed')).toEqual([{ direction: 'forward', reader: 1, writer: 2, field: 'title' }]);
  });
});
