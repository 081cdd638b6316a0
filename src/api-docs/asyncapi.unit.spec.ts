// The AsyncAPI document: valid AsyncAPI 3.1 by the official parser
// (@asyncapi/parser, which also lints: not one diagnostic; its Avro plugin
// reads the Kafka payloads), every frame type of the OpenAPI document's
// x-websocket a message in the right direction with the same payload schema,
// every event and signal type a message of its topic with its latest Avro
// schema, and served at /asyncapi.json. (That real frames match these
// schemas: test/e2e/asyncapi.e2e.spec.ts.)

import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemasDir } from '../compose.ts';
import { loadConfig } from '../config.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { loadSchemaCatalog } from '../log/schema-catalog.ts';
import { signalTypes } from '../log/signals.ts';
import { topics } from '../log/topics.ts';
import { startTestServer, type TestServer } from '../http/testing/harness.ts';
import { asyncApiMessageName, buildAsyncApiDocument } from './asyncapi.ts';
import { docsRoutes, logSchemas } from './docs-routes.ts';
import { buildOpenApiDocument } from './openapi.ts';

const openapi = buildOpenApiDocument(loadConfig({}));
const schemas = createAvroCodec({ schemasDir }).listSchemas();
const doc = buildAsyncApiDocument(openapi, logSchemas(schemas));
const parse = (document: unknown) => {
  const parser = new Parser();
  parser.registerSchemaParser(AvroSchemaParser());
  return parser.parse(JSON.stringify(document));
};

describe('the AsyncAPI document', () => {
  it('is valid AsyncAPI 3.1 by the official parser, with no diagnostic at all', async () => {
    const { document, diagnostics } = await parse(doc);
    expect(diagnostics.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document?.version()).toBe('3.1.0');
  }, 30_000);

  it('is checked by a parser that does refuse a broken document', async () => {
    const broken = structuredClone(doc) as unknown as { operations: Record<string, { action: string }> };
    Object.values(broken.operations)[0]!.action = 'publish'; // AsyncAPI 2's word
    const { document, diagnostics } = await parse(broken);
    expect(document).toBeUndefined();
    expect(diagnostics.map((d) => d.severity)).toContain(DiagnosticSeverity.Error);
  }, 30_000);

  it('has every frame type of the gateway: Parley receives the client frames and sends the server frames, with the same payloads', async () => {
    const { document } = await parse(doc);
    const ws = openapi['x-websocket'];
    const byAction = (action: 'send' | 'receive') =>
      document!
        .operations()
        .all()
        .filter((operation) => operation.action() === action && operation.channels().all()[0]?.address() === '/ws')
        .flatMap((operation) =>
          operation
            .messages()
            .all()
            .map((message) => message.name()),
        )
        .sort();
    expect(byAction('receive')).toEqual(ws.client_frames.map((f) => f.type).sort());
    expect(byAction('send')).toEqual(ws.server_frames.map((f) => f.type).sort());
    expect(
      document!
        .channels()
        .all()
        .map((channel) => channel.address()),
    ).toEqual(['/ws', topics.events, topics.signals]);

    for (const [direction, frames] of [
      ['client', ws.client_frames],
      ['server', ws.server_frames],
    ] as const) {
      for (const frame of frames) {
        const message = doc.components.messages[asyncApiMessageName(direction, frame.type)] as {
          payload: unknown;
          summary: string;
        };
        expect(message.payload, frame.type).toEqual(frame.schema);
        expect(message.summary, frame.type).toBe(frame.description);
      }
    }
    expect(doc.components.schemas).toBe(openapi.components.schemas);
  }, 30_000);
});

describe('the Kafka topics in the AsyncAPI document', () => {
  it('every event type is a message of parley.events and every signal type of parley.signals, its payload the latest Avro schema', async () => {
    const { document } = await parse(doc);
    const catalog = loadSchemaCatalog(schemasDir);
    const namesOn = (address: string) =>
      document!
        .channels()
        .all()
        .find((channel) => channel.address() === address)!
        .messages()
        .all()
        .map((message) => message.name())
        .sort();
    const signals = new Set<string>(signalTypes);
    expect(namesOn(topics.signals)).toEqual([...signals].sort());
    expect(namesOn(topics.events)).toEqual([...catalog.types.keys()].filter((type) => !signals.has(type)).sort());
    expect(namesOn(topics.events)).toContain('message_sent');

    for (const [type, versions] of catalog.types) {
      const name = `${signals.has(type) ? 'Signal' : 'Event'}_${type}`;
      const message = doc.components.messages[name] as { payload: { schemaFormat: string; schema: unknown } };
      expect(message.payload.schemaFormat, type).toMatch(/^application\/vnd\.apache\.avro\+json/);
      expect(message.payload.schema, type).toEqual(versions.at(-1)!.schema);
    }
    // The parser read the Avro: a field of message_sent is in its model.
    const sent = document!.components().messages().get('Event_message_sent')!;
    expect(Object.keys(sent.payload()!.properties() ?? {})).toContain('client_msg_id');
  }, 30_000);
});

describe('GET /asyncapi.json', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ routers: [docsRoutes({ config: loadConfig({}), schemas })] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the document as JSON, and /docs links to it', async () => {
    const response = await fetch(`${server.base}/asyncapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual(
      JSON.parse(JSON.stringify(buildAsyncApiDocument(buildOpenApiDocument(server.config), logSchemas(schemas)))),
    );
    expect(await (await fetch(`${server.base}/docs`)).text()).toContain('<a href="/asyncapi.json">');
  });
});
