import { describe, expect, it } from 'vitest';
import { crc64Avro, schemaFingerprint } from './fingerprint.ts';
import { canonicalFormOf, parseAvroSchema } from './schema-catalog.ts';

// From the Avro project's cross-language vectors (share/test/data/schema-tests.txt):
// input schema, its Parsing Canonical Form, and the CRC-64-AVRO fingerprint as
// the signed 64-bit integer Java prints.
const vectors: [input: string, canonical: string, fingerprint: bigint][] = [
  ['"null"', '"null"', 7195948357588979594n],
  ['{"type":"boolean"}', '"boolean"', -6970731678124411036n],
  ['"long"', '"long"', -3434872931120570953n],
  ['{"type":"string"}', '"string"', -8142146995180207161n],
  ['[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  [
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":true},\n{"order":"descending","name":"f2","doc":"Hello","type":"int"}],"type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  [
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  [
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  ['{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', -589620603366471059n],
  ['{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
];

describe('CRC-64-AVRO schema fingerprints', () => {
  it.each(vectors)('%s has the canonical form and fingerprint the Avro spec publishes', (input, canonical, fingerprint) => {
    const form = canonicalFormOf(parseAvroSchema(input));
    expect(form).toBe(canonical);
    expect(BigInt.asIntN(64, crc64Avro(Buffer.from(form)))).toBe(fingerprint);
  });

  it('is stored little-endian, as single-object encoding wants', () => {
    // 7195948357588979594 = 0x63dd24e7cc258f8a
    expect(schemaFingerprint('"null"').toString('hex')).toBe('8a8f25cce724dd63');
  });

  it('leaves logical types out of the canonical form, as the spec strips every attribute but type, name, fields, symbols, items, values, size', () => {
    const form = canonicalFormOf(
      parseAvroSchema({
        type: 'record',
        name: 'r',
        fields: [{ name: 't', type: { type: 'long', logicalType: 'timestamp-millis' } }],
      }),
    );
    expect(form).toBe('{"name":"r","type":"record","fields":[{"name":"t","type":"long"}]}');
  });
});
