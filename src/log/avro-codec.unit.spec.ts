import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { AvroCodecError, createAvroCodec } from './avro-codec.ts';
import { eventSamples, signalSamples } from './event-samples.fixture.ts';
import { parseAvroSchema } from './schema-catalog.ts';
import { addSchemaFiles, schemaDirsRemovedAfterEach, record } from './schema-dir.fixture.ts';

const schemasDir = fileURLToPath(new URL('../../schemas', import.meta.url));
const codec = createAvroCodec({ schemasDir });

const tempSchemas = schemaDirsRemovedAfterEach();

const sampleCases = Object.entries({ ...eventSamples, ...signalSamples }).flatMap(([type, samples]) =>
  samples.map((data, i) => [`${type} #${i + 1}`, type, data] as const),
);
const allTypes = [...Object.keys(eventSamples), ...Object.keys(signalSamples)].sort();
const message = eventSamples.message_sent[1]!;

function errorOf(run: () => unknown): AvroCodecError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AvroCodecError);
    return error as AvroCodecError;
  }
  throw new Error('expected an AvroCodecError, nothing was thrown');
}

describe('round trips', () => {
  it.each(sampleCases)('%s decodes to the data it was encoded from', (_, type, data) => {
    const decoded = codec.decode(type, codec.encode(type, data));
    expect(decoded).toEqual(data);
  });

  it('decodes epoch-ms times and sequence numbers as plain numbers, not bigints', () => {
    const decoded = codec.decode('message_sent', codec.encode('message_sent', message)) as typeof message;
    expect(typeof decoded.created_at).toBe('number');
    expect(decoded.seq).toBe(9_007_199_254_740_990);
    expect(decoded.attachments[1]?.bytes).toBe(5_368_709_120);
  });

  it('writes single-object encoding: C3 01, the schema fingerprint (little-endian), then the Avro body', () => {
    const bytes = codec.encode('message_sent', message);
    const latest = codec.listSchemas().find((v) => v.type === 'message_sent' && v.version === 2)!;
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(bytes.subarray(2, 10)).toEqual(latest.fingerprint);
    expect(bytes.subarray(10)).toEqual(parseAvroSchema(latest.schema).toBuffer(message));
  });

  it('encodes events larger than its scratch buffer', () => {
    const big = { ...message, content: '🙂'.repeat(100_000) };
    expect(codec.decode('message_sent', codec.encode('message_sent', big))).toEqual(big);
    expect(codec.decode('message_sent', codec.encode('message_sent', message))).toEqual(message);
  });
});

describe('encoding refuses data that does not fit the latest schema', () => {
  const refusal = (data: unknown) => errorOf(() => codec.encode('message_sent', data)).message;

  it('names the event type and a missing field', () => {
    const { content: _, ...withoutContent } = message;
    expect(refusal(withoutContent)).toMatch(
      /^invalid message_sent event \(schema v3\): content must be string, got nothing \(missing\)/,
    );
  });

  it('names the path of a wrong value inside an array of records', () => {
    const data = { ...message, attachments: [message.attachments[0], { ...message.attachments[1], bytes: '12' }] };
    expect(refusal(data)).toContain('attachments[1].bytes must be long (an integer within ±9007199254740990), got a string');
  });

  it('refuses null where the schema has no null', () => {
    expect(refusal({ ...message, sender_id: null })).toContain('sender_id must be string, got null');
  });

  it('refuses an integer beyond 2^53 rather than writing a rounded one', () => {
    expect(refusal({ ...message, seq: 2 ** 60 })).toContain(
      'seq must be long (an integer within ±9007199254740990), got an integer beyond that',
    );
    expect(refusal({ ...message, seq: 1.5 })).toContain(
      'seq must be long (an integer within ±9007199254740990), got a non-integer number',
    );
  });

  it('refuses a field the schema does not have, instead of dropping it', () => {
    expect(refusal({ ...message, edited_at: 1 })).toContain('edited_at is not a field of the schema');
  });

  it('does not print the value, which may be private', () => {
    const data = eventSamples.user_registered[0];
    const text = errorOf(() => codec.encode('user_registered', { ...data, created_at: data.email })).message;
    expect(text).toContain('created_at must be long (an integer within ±9007199254740990), got a string');
    expect(text).not.toContain(data.email);
  });

  it('refuses an unknown event type', () => {
    const error = errorOf(() => codec.encode('message_teleported', {}));
    expect(error.eventType).toBe('message_teleported');
    expect(error.message).toMatch(/unknown event type "message_teleported"/);
  });
});

describe('decoding refuses bytes it cannot trust', () => {
  const bytes = codec.encode('message_sent', message);

  it('says which event type the fingerprint belongs to when the type header is wrong', () => {
    expect(errorOf(() => codec.decode('room_created', bytes)).message).toMatch(
      /cannot decode room_created: unknown writer schema fingerprint [0-9a-f]{16}; it is message_sent v2/,
    );
  });

  it('refuses a fingerprint no version has', () => {
    const tampered = Buffer.from(bytes);
    tampered[9] = tampered[9]! ^ 0xff;
    expect(errorOf(() => codec.decode('message_sent', tampered)).message).toMatch(/unknown writer schema fingerprint/);
  });

  it('refuses a truncated value and trailing bytes', () => {
    expect(errorOf(() => codec.decode('message_sent', bytes.subarray(0, bytes.length - 3))).message).toMatch(
      /written with message_sent v3: .*truncated/,
    );
    const longer = Buffer.concat([bytes, Buffer.from([0])]);
    expect(errorOf(() => codec.decode('message_sent', longer)).message).toMatch(/1 bytes left over/);
  });

  it('refuses bytes in no known framing', () => {
    expect(errorOf(() => codec.decode('message_sent', Buffer.from('{"seq":1}'))).message).toMatch(
      /neither Avro single-object encoding .* nor Confluent framing/,
    );
  });

  it('refuses a long beyond 2^53 written by another producer, rather than rounding it', () => {
    const dir = tempSchemas({ 'counted/v1.avsc': record('Counted', [{ name: 'n', type: 'long' }]) });
    const local = createAvroCodec({ schemasDir: dir });
    const header = local.encode('counted', { n: 1 }).subarray(0, 10);
    const zigzag = 2n ** 60n * 2n; // zig-zag form of 2^60
    const varint: number[] = [];
    for (let v = zigzag; ; v >>= 7n) {
      if (v < 0x80n) {
        varint.push(Number(v));
        break;
      }
      varint.push(Number((v & 0x7fn) | 0x80n));
    }
    expect(errorOf(() => local.decode('counted', Buffer.concat([header, Buffer.from(varint)]))).message).toMatch(
      /cannot decode counted written with counted v1: potential precision loss/,
    );
  });
});

describe('schema evolution', () => {
  const messageSentV1 = () => readFileSync(join(schemasDir, 'message_sent/v1.avsc'), 'utf8');

  it('reads a message_sent written with v1 (before mentions) as v2, with no mentions', () => {
    // A process that only had v1: its bytes carry v1's fingerprint.
    const dir = tempSchemas({ 'message_sent/v1.avsc': messageSentV1() });
    const { mentions: _, ...v1Message } = message;
    const oldBytes = createAvroCodec({ schemasDir: dir }).encode('message_sent', v1Message);
    const v1 = codec.listSchemas().find((v) => v.type === 'message_sent' && v.version === 1)!;
    expect(oldBytes.subarray(2, 10)).toEqual(v1.fingerprint);
    expect(codec.decode('message_sent', oldBytes)).toEqual({ ...v1Message, mentions: [] });
  });

  it('writes a message_sent given without mentions with the default, no mentions', () => {
    const { mentions: _, ...withoutMentions } = message;
    expect(codec.decode('message_sent', codec.encode('message_sent', withoutMentions))).toEqual({ ...message, mentions: [] });
  });

  it('tells a process that only has message_sent v1 that a v2 event needs a newer schema', () => {
    const dir = tempSchemas({ 'message_sent/v1.avsc': messageSentV1() });
    const newBytes = codec.encode('message_sent', message);
    expect(errorOf(() => createAvroCodec({ schemasDir: dir }).decode('message_sent', newBytes)).message).toMatch(
      /newer version not deployed here/,
    );
  });

  const v1 = record('ThingHappened', [
    { name: 'id', type: 'string' },
    { name: 'title', type: 'string' },
  ]);
  const v2 = record('ThingHappened', [
    { name: 'id', type: 'string' },
    { name: 'name', type: 'string', aliases: ['title'] }, // renamed
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'priority', type: 'long', default: 3 },
  ]);

  it('reads an event written with v1 through the v2 schema, filling in the defaults', () => {
    const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
    const oldBytes = createAvroCodec({ schemasDir: dir }).encode('thing_happened', { id: 't-1', title: 'first' });

    addSchemaFiles(dir, { 'thing_happened/v2.avsc': v2 });
    const upgraded = createAvroCodec({ schemasDir: dir });
    expect(upgraded.decode('thing_happened', oldBytes)).toEqual({ id: 't-1', name: 'first', note: null, tags: [], priority: 3 });

    const newData = { id: 't-2', name: 'second', note: 'hello', tags: ['a'], priority: 1 };
    expect(upgraded.decode('thing_happened', upgraded.encode('thing_happened', newData))).toEqual(newData);
    expect(upgraded.listSchemas().map((v) => `${v.type} v${v.version}`)).toEqual(['thing_happened v1', 'thing_happened v2']);
  });

  it('writes with the latest version, which a process without that schema file cannot read', () => {
    const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
    const old = createAvroCodec({ schemasDir: dir });
    addSchemaFiles(dir, { 'thing_happened/v2.avsc': v2 });
    const bytes = createAvroCodec({ schemasDir: dir }).encode('thing_happened', {
      id: 't',
      name: 'n',
      note: null,
      tags: [],
      priority: 1,
    });
    expect(errorOf(() => old.decode('thing_happened', bytes)).message).toMatch(/newer version not deployed here/);
  });

  it('refuses to start when the latest version cannot read an older one', () => {
    const dir = tempSchemas({
      'thing_happened/v1.avsc': v1,
      'thing_happened/v2.avsc': record('ThingHappened', [...(v1 as { fields: object[] }).fields, { name: 'due', type: 'long' }]),
    });
    expect(() => createAvroCodec({ schemasDir: dir })).toThrow(
      /thing_happened\/v2\.avsc cannot read events written with .*thing_happened\/v1\.avsc/,
    );
  });

  it('refuses to start when a version file is missing from the history', () => {
    const dir = tempSchemas({ 'thing_happened/v1.avsc': v1, 'thing_happened/v3.avsc': v2 });
    expect(() => createAvroCodec({ schemasDir: dir })).toThrow(/v2\.avsc is missing/);
  });

  it('names the file of a schema that does not parse', () => {
    const dir = tempSchemas({ 'thing_happened/v1.avsc': '{ "type": "record", ' });
    expect(() => createAvroCodec({ schemasDir: dir })).toThrow(/thing_happened\/v1\.avsc: /);
    const badType = tempSchemas({ 'thing_happened/v1.avsc': record('ThingHappened', [{ name: 'id', type: 'strng' }]) });
    expect(() => createAvroCodec({ schemasDir: badType })).toThrow(/thing_happened\/v1\.avsc: .*strng/);
  });
});

describe('Confluent wire format', () => {
  const writerSchema = record('ThingHappened', [{ name: 'id', type: 'string' }]);
  const readerDir = () =>
    tempSchemas({
      'thing_happened/v1.avsc': writerSchema,
      'thing_happened/v2.avsc': record('ThingHappened', [
        { name: 'id', type: 'string' },
        { name: 'note', type: ['null', 'string'], default: null },
      ]),
    });
  const confluent = (schemaId: number, body: Buffer) => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(schemaId, 1);
    return Buffer.concat([header, body]);
  };
  const body = parseAvroSchema(writerSchema).toBuffer({ id: 'x-1' });

  it('reads a value whose writer schema the registry lookup provides, resolved to the latest version', () => {
    const lookup = vi.fn((id: number) => (id === 70_000 ? JSON.stringify(writerSchema) : undefined));
    const local = createAvroCodec({ schemasDir: readerDir(), registryLookup: lookup });
    expect(local.decode('thing_happened', confluent(70_000, body))).toEqual({ id: 'x-1', note: null });
    expect(local.decode('thing_happened', confluent(70_000, body))).toEqual({ id: 'x-1', note: null });
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('says so when no registry lookup is configured', () => {
    const local = createAvroCodec({ schemasDir: readerDir() });
    expect(errorOf(() => local.decode('thing_happened', confluent(7, body))).message).toMatch(
      /Confluent wire format \(schema id 7\) and no registry lookup is configured/,
    );
  });

  it('says so when the registry does not know the id, or its schema is not this event', () => {
    const other = record('SomethingElse', [{ name: 'x', type: 'long' }]);
    const local = createAvroCodec({ schemasDir: readerDir(), registryLookup: (id) => (id === 8 ? other : undefined) });
    expect(errorOf(() => local.decode('thing_happened', confluent(7, body))).message).toMatch(
      /schema id 7 is unknown to the registry/,
    );
    expect(errorOf(() => local.decode('thing_happened', confluent(8, body))).message).toMatch(
      /registry schema id 8 cannot be read as thing_happened v2/,
    );
  });
});

describe('listSchemas', () => {
  it('lists every event and signal type of the repository schemas with its versions, canonical form and fingerprint', () => {
    const listed = codec.listSchemas();
    expect([...new Set(listed.map((v) => v.type))].sort()).toEqual(allTypes);
    const versions = (type: string) => listed.filter((v) => v.type === type).map((v) => v.version);
    const laterVersions: Record<string, number[]> = {
      message_sent: [1, 2, 3],
      user_registered: [1, 2, 3, 4],
      user_deleted: [1, 2],
      message_edited: [1, 2],
      user_profile_updated: [1, 2],
      value_released: [1, 2],
      room_updated: [1, 2],
    };
    for (const type of allTypes) expect(versions(type), type).toEqual(laterVersions[type] ?? [1]);
    for (const v of listed) {
      expect(v.canonicalForm).not.toContain('"doc"');
      expect(v.fingerprint).toHaveLength(8);
    }
    const [v1, v2, v3] = listed.filter((v) => v.type === 'message_sent');
    expect(v2!.canonicalForm).toContain('"mentions"');
    expect(v1!.canonicalForm).not.toContain('"mentions"');
    expect(v2!.fingerprint).not.toEqual(v1!.fingerprint);
    // v3 only marks personal fields: an attribute, outside the canonical form.
    expect(v3!.fingerprint).toEqual(v2!.fingerprint);
  });

  it('names the personal fields the latest schema marks, nested ones by path', () => {
    expect(codec.personalFields('message_sent')).toEqual([
      ['content'],
      ['attachments', '*', 'url'],
      ['attachments', '*', 'name'],
    ]);
    expect(codec.personalFields('user_registered')).toEqual([['email'], ['display_name']]);
    expect(codec.personalFields('room_created')).toEqual([]);
    expect(codec.personalFields('no_such_type')).toEqual([]);
  });
});
