// The registry codec against a real Confluent-compatible schema registry:
// registration at start, the Confluent wire format, single-object values
// from before the registry, refusals of incompatible versions, and ids of
// other versions resolved to the latest shape.
//
// Needs a registry (`npm run stack:up` starts Apicurio Registry on :8081;
// PARLEY_TEST_SCHEMA_REGISTRY_URL, default http://127.0.0.1:8081/apis/ccompat/v7).
// Unreachable: the suite is skipped with a loud warning, unless
// PARLEY_REQUIRE_INFRA=1 (CI), where it fails.
//
// The registry keeps what it is given (the local stack's stores it on disk),
// so the fixture subjects live in a namespace of their own per run; the
// real schemas/ subjects are shared with everything else that uses the
// registry, which is fine: registering them is idempotent.

import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import confluent from '@kafkajs/confluent-schema-registry';
import { assert, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { schemaRegistryAvailable } from '../../test/support/infra.ts';
import { AvroCodecError, createAvroCodec } from './avro-codec.ts';
import { eventSamples, signalSamples } from './event-samples.fixture.ts';
import { createRegistryCodec, RegistrySchemaPendingError, type RegistryCodec } from './registry-codec.ts';
import { parseAvroSchema } from './schema-catalog.ts';
import { addSchemaFiles, schemaDirsRemovedAfterEach } from './schema-dir.fixture.ts';

const registryUrl = await schemaRegistryAvailable('registry codec');
const schemasDir = fileURLToPath(new URL('../../schemas', import.meta.url));

const tempSchemas = schemaDirsRemovedAfterEach();

// Fresh subjects for every run (see the top of the file).
const namespace = `parley.test.r${randomBytes(6).toString('hex')}`;
const fixtureRecord = (name: string, fields: object[]) => ({ type: 'record', name, namespace, fields });

async function subjectConfig(subject: string): Promise<unknown> {
  const response = await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`);
  return response.json();
}

function framedWith(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe.runIf(registryUrl !== undefined)('registry codec on a real schema registry', () => {
  const url = registryUrl!;
  let codec: RegistryCodec;
  beforeAll(async () => {
    codec = await createRegistryCodec({ url, schemasDir });
  });

  const sampleCases = Object.entries({ ...eventSamples, ...signalSamples }).flatMap(([type, samples]) =>
    samples.map((data, i) => [`${type} #${i + 1}`, type, data] as const),
  );

  describe('registration at start', () => {
    it('registers every version of every type, under the record name, with FULL_TRANSITIVE set on the subject', async () => {
      const local = createAvroCodec({ schemasDir }).listSchemas();
      expect(codec.registered.map((r) => `${r.type} v${r.version}`)).toEqual(local.map((v) => `${v.type} v${v.version}`));
      const messageSent = codec.registered.filter((r) => r.type === 'message_sent');
      expect(messageSent.map((r) => r.subject)).toEqual(
        local.filter((v) => v.type === 'message_sent').map(() => 'parley.events.MessageSent'),
      );
      expect(new Set(messageSent.map((r) => r.id)).size).toBeGreaterThanOrEqual(2);
      expect(codec.writeIds.get('message_sent')).toBe(messageSent.at(-1)!.id);
      expect(await subjectConfig('parley.events.MessageSent')).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
      expect(await subjectConfig('parley.signals.TypingStarted')).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
    });

    it('is idempotent: a second start gets the same ids and registers no new version', async () => {
      const again = await createRegistryCodec({ url, schemasDir });
      expect(again.registered).toEqual(codec.registered);
      const versions = await fetch(`${url}/subjects/parley.events.MessageSent/versions`).then((r) => r.json());
      expect((versions as number[]).length).toBeGreaterThanOrEqual(2);
      const again2 = await createRegistryCodec({ url, schemasDir });
      expect(await fetch(`${url}/subjects/parley.events.MessageSent/versions`).then((r) => r.json())).toEqual(versions);
      expect(again2.writeIds).toEqual(codec.writeIds);
    });
  });

  describe('writing and reading', () => {
    it.each(sampleCases)('%s: Confluent-framed with the latest id, and decodes to the same data', (_, type, data) => {
      const value = codec.encode(type, data);
      expect(value[0]).toBe(0x00);
      expect(value.readUInt32BE(1)).toBe(codec.writeIds.get(type));
      // The body is the same Avro as the embedded default's.
      const singleObject = createAvroCodec({ schemasDir }).encode(type, data);
      expect(value.subarray(5)).toEqual(singleObject.subarray(10));
      expect(codec.decode(type, value)).toEqual(data);
    });

    it('writes what another Confluent client reads (@kafkajs/confluent-schema-registry decode, schema fetched by id)', async () => {
      const other = new confluent.SchemaRegistry({ host: url });
      const message = eventSamples.message_sent[1]!;
      expect(await other.decode(codec.encode('message_sent', message))).toEqual(message);
    });

    it.each(sampleCases)('%s: reads single-object values written before the registry was configured', (_, type, data) => {
      const embedded = createAvroCodec({ schemasDir });
      expect(codec.decode(type, embedded.encode(type, data))).toEqual(data);
    });

    it('refuses data that does not fit the latest schema, as the embedded codec does', () => {
      const error = errorOf(() => codec.encode('message_sent', { ...eventSamples.message_sent[0], seq: 'one' }));
      expect(error).toBeInstanceOf(AvroCodecError);
      expect(error.message).toMatch(/invalid message_sent event \(schema v3\): .*seq/);
    });
  });

  describe('schema evolution through the registry', () => {
    // Each test its own record, so one test's registrations are not
    // another's history.
    let v1: ReturnType<typeof fixtureRecord>;
    let v2: ReturnType<typeof fixtureRecord>;
    let subject: string;
    beforeEach(() => {
      const name = `ThingHappened${randomBytes(3).toString('hex')}`;
      subject = `${namespace}.${name}`;
      v1 = fixtureRecord(name, [
        { name: 'id', type: 'string' },
        { name: 'title', type: 'string' },
      ]);
      v2 = fixtureRecord(name, [
        { name: 'id', type: 'string' },
        { name: 'title', type: 'string' },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
        { name: 'priority', type: 'long', default: 3 },
      ]);
    });

    it('reads a value framed with an older version id into the latest shape, defaults filled in', async () => {
      const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
      const old = await createRegistryCodec({ url, schemasDir: dir });
      const oldValue = old.encode('thing_happened', { id: 't-1', title: 'first' });

      addSchemaFiles(dir, { 'thing_happened/v2.avsc': v2 });
      const upgraded = await createRegistryCodec({ url, schemasDir: dir });
      const [r1, r2] = upgraded.registered;
      expect(r1).toEqual({ type: 'thing_happened', version: 1, subject, id: old.writeIds.get('thing_happened') });
      expect(r2!.id).not.toBe(r1!.id);
      expect(oldValue.readUInt32BE(1)).toBe(r1!.id);
      expect(upgraded.decode('thing_happened', oldValue)).toEqual({
        id: 't-1',
        title: 'first',
        note: null,
        tags: [],
        priority: 3,
      });

      // And a body written by hand with v1's id, as any Confluent producer would.
      const handWritten = framedWith(r1!.id, parseAvroSchema(v1).toBuffer({ id: 't-2', title: 'second' }));
      expect(upgraded.decode('thing_happened', handWritten)).toEqual({
        id: 't-2',
        title: 'second',
        note: null,
        tags: [],
        priority: 3,
      });
    });

    it('lets a process that only has v1 read v2 values: the new id is fetched from the registry, once', async () => {
      const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
      const old = await createRegistryCodec({ url, schemasDir: dir });
      addSchemaFiles(dir, { 'thing_happened/v2.avsc': v2 });
      const upgraded = await createRegistryCodec({ url, schemasDir: dir });
      const newValue = upgraded.encode('thing_happened', { id: 't-3', title: 'third', note: 'n', tags: ['a'], priority: 1 });

      // `old` started before v2 existed: the id is new to it.
      const pending = errorOf(() => old.decode('thing_happened', newValue));
      assert.instanceOf(pending, RegistrySchemaPendingError);
      expect(pending.message).toMatch(/schema id \d+ is new to this process and is being fetched/);
      await pending.ready;
      expect(old.decode('thing_happened', newValue)).toEqual({ id: 't-3', title: 'third' });

      // A process started after v2 was registered knows it from the start,
      // even without the v2 file.
      rmSync(join(dir, 'thing_happened/v2.avsc'));
      const laterOld = await createRegistryCodec({ url, schemasDir: dir });
      expect(laterOld.decode('thing_happened', newValue)).toEqual({ id: 't-3', title: 'third' });
    });

    it('prefetch makes a new id decodable without the pending error', async () => {
      const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
      const old = await createRegistryCodec({ url, schemasDir: dir });
      addSchemaFiles(dir, { 'thing_happened/v2.avsc': v2 });
      const upgraded = await createRegistryCodec({ url, schemasDir: dir });
      const values = [1, 2].map((i) =>
        upgraded.encode('thing_happened', { id: `p-${i}`, title: 't', note: null, tags: [], priority: i }),
      );
      expect(errorOf(() => old.decode('thing_happened', values[0]!))).toBeInstanceOf(RegistrySchemaPendingError);
      await old.prefetch(values);
      expect(values.map((v) => old.decode('thing_happened', v))).toEqual([
        { id: 'p-1', title: 't' },
        { id: 'p-2', title: 't' },
      ]);
    });

    it('says so when the registry does not have the id', async () => {
      const dir = tempSchemas({ 'thing_happened/v1.avsc': v1 });
      const local = await createRegistryCodec({ url, schemasDir: dir });
      const unknown = framedWith(2_000_000_000, Buffer.from([2, 0x61, 2, 0x62]));
      const pending = errorOf(() => local.decode('thing_happened', unknown));
      assert.instanceOf(pending, RegistrySchemaPendingError);
      await pending.ready;
      const final = errorOf(() => local.decode('thing_happened', unknown));
      expect(final).toBeInstanceOf(AvroCodecError);
      expect(final).not.toBeInstanceOf(RegistrySchemaPendingError);
      expect(final.message).toMatch(/schema id 2000000000 is unknown to the registry/);
    });

    it('is refused by the registry at start when a version is not FULL_TRANSITIVE-compatible, naming the subject', async () => {
      // int → long: the new version reads the old one (so the local codec
      // starts), but the old one cannot read the new: forward-incompatible,
      // which only the registry's transitive check catches at start.
      const name = subject.slice(namespace.length + 1);
      const dir = tempSchemas({
        'counted/v1.avsc': fixtureRecord(name, [
          { name: 'id', type: 'string' },
          { name: 'count', type: 'int' },
        ]),
        'counted/v2.avsc': fixtureRecord(name, [
          { name: 'id', type: 'string' },
          { name: 'count', type: 'long' },
        ]),
      });
      expect(() => createAvroCodec({ schemasDir: dir })).not.toThrow();
      const refusal = createRegistryCodec({ url, schemasDir: dir });
      await expect(refusal).rejects.toThrow(
        new RegExp(
          `the registry refused counted v2 \\(.*counted/v2\\.avsc\\) for subject ${subject.replaceAll('.', '\\.')}: ` +
            'it is not FULL_TRANSITIVE-compatible with the versions registered before it: .+',
        ),
      );
      // v1 went in, v2 did not.
      expect(await fetch(`${url}/subjects/${subject}/versions`).then((r) => r.json())).toEqual([1]);
    });

    it('refuses to start when two versions of a type name different records', async () => {
      const dir = tempSchemas({
        'renamed/v1.avsc': fixtureRecord('OldName', [{ name: 'id', type: 'string' }]),
        'renamed/v2.avsc': { ...fixtureRecord('NewName', [{ name: 'id', type: 'string' }]), aliases: [`${namespace}.OldName`] },
      });
      await expect(createRegistryCodec({ url, schemasDir: dir })).rejects.toThrow(/renamed: its versions name different records/);
    });
  });
});
