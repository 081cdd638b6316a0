// The AsyncAPI 3.1 document of Parley's asynchronous interfaces
// (`GET /asyncapi.json`), for the tools that speak AsyncAPI (generators,
// Studio, linters) and for analysts who read the log:
//
//   * the WebSocket gateway, channel `/ws`: built from the OpenAPI document's
//     `x-websocket` section, which stays the one source — the same frame list,
//     descriptions, limits and payload schemas (the components are copied as
//     they are, so `#/components/schemas/X` resolves in both). Parley receives
//     the client frames and sends the server frames;
//   * the Kafka topics analysts replay, `parley.events` and `parley.signals`:
//     one message per event type, its payload the latest Avro schema of
//     schemas/<type>/ as it is.

import type { AvroSchemaJson } from '../log/schema-catalog.ts';
import { headers as recordHeaders, topics } from '../log/topics.ts';
import type { FrameDoc, JsonSchema, OpenApiDocument } from './openapi.ts';

export interface AsyncApiDocument {
  asyncapi: '3.1.0';
  info: { title: string; version: string; description: string };
  defaultContentType: string;
  channels: Record<string, unknown>;
  operations: Record<string, unknown>;
  components: { schemas: Record<string, JsonSchema>; messages: Record<string, unknown> };
}

const CHANNEL = 'gateway';
const AVRO_FORMAT = 'application/vnd.apache.avro+json;version=1.9.0';

/** The latest schema of one event or signal type (schemas/<type>/v<version>.avsc). */
export interface LogSchema {
  type: string;
  version: number;
  schema: AvroSchemaJson;
}

export interface LogSchemas {
  events: LogSchema[];
  signals: LogSchema[];
}

/** Component names: a type can go both ways (TYPING, READ_RECEIPT), so the direction is part of it. */
export const asyncApiMessageName = (direction: 'client' | 'server', type: string): string =>
  `${direction === 'client' ? 'Client' : 'Server'}_${type}`;

export function buildAsyncApiDocument(openapi: OpenApiDocument, log: LogSchemas): AsyncApiDocument {
  const ws = openapi['x-websocket'];
  const messages: Record<string, unknown> = {};
  const channelMessages: Record<string, { $ref: string }> = {};
  const operations: Record<string, unknown> = {};

  const addFrames = (direction: 'client' | 'server', frames: FrameDoc[]) => {
    for (const frame of frames) {
      const name = asyncApiMessageName(direction, frame.type);
      messages[name] = {
        name: frame.type,
        title: frame.type,
        summary: frame.description,
        contentType: 'application/json',
        payload: frame.schema,
      };
      channelMessages[name] = { $ref: `#/components/messages/${name}` };
      operations[`${direction === 'client' ? 'receive' : 'send'}${name}`] = {
        action: direction === 'client' ? 'receive' : 'send',
        channel: { $ref: `#/channels/${CHANNEL}` },
        summary: direction === 'client' ? `A client sends ${frame.type}.` : `Parley sends ${frame.type}.`,
        messages: [{ $ref: `#/channels/${CHANNEL}/messages/${name}` }],
      };
    }
  };
  addFrames('client', ws.client_frames);
  addFrames('server', ws.server_frames);
  const logChannels = {
    events: logChannel('events', log.events, messages, operations),
    signals: logChannel('signals', log.signals, messages, operations),
  };

  const limits = Object.entries(ws.limits)
    .map(([name, value]) => `\`${name}\` ${value}`)
    .join(', ');
  const closeCodes = Object.entries(ws.close_codes)
    .map(([code, meaning]) => `\`${code}\` ${meaning}`)
    .join('; ');

  return {
    asyncapi: '3.1.0',
    info: {
      title: `${openapi.info.title}: WebSocket gateway`,
      version: openapi.info.version,
      description:
        `${ws.description}\n\nAuthentication: ${ws.authentication}\n\nLimits: ${limits}.\n\nClose codes: ${closeCodes}.\n\n` +
        'The REST API is described by /openapi.json; the payload schemas here are the same.\n\n' +
        'The Kafka topics (distributed mode) are the channels `events` and `signals`: their names get ' +
        '`PARLEY_LOG_NAMESPACE` and a dot in front when it is set.',
    },
    defaultContentType: 'application/json',
    channels: {
      [CHANNEL]: {
        address: ws.path,
        title: 'The event stream',
        description: 'One socket per device: commands in, events out.',
        messages: channelMessages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                token: { type: 'string', description: 'An access token; else the first frame must be AUTH.' },
              },
            },
            bindingVersion: '0.1.0',
          },
        },
      },
      ...logChannels,
    },
    operations,
    components: { schemas: openapi.components.schemas, messages },
  };
}

const logTopics = {
  events: {
    title: 'The event log',
    description:
      'Every domain event, the source of truth: kept forever, replayed by analysts and rebuilds. Key: ' +
      '`room:<id>` for a room’s events, `user:<id>` for a user’s, so each aggregate stays in one partition, in order.',
  },
  signals: {
    title: 'Signals',
    description: 'Ephemeral facts with no history (typing, online/offline, room views); kept for a short retention.',
  },
} as const;

/**
 * One Kafka channel with a message per type. Values are Avro in single-object
 * encoding (`C3 01`, the schema's 8-byte fingerprint, the body), or in the
 * Confluent framing when a schema registry is used; the `event_type` header
 * names the type.
 */
function logChannel(
  topic: 'events' | 'signals',
  schemas: LogSchema[],
  messages: Record<string, unknown>,
  operations: Record<string, unknown>,
) {
  const channelMessages: Record<string, { $ref: string }> = {};
  const prefix = topic === 'events' ? 'Event' : 'Signal';
  for (const { type, version, schema } of schemas) {
    const name = `${prefix}_${type}`;
    const doc = typeof schema === 'object' && !Array.isArray(schema) ? (schema as { doc?: unknown }).doc : undefined;
    messages[name] = {
      name: type,
      title: type,
      summary: typeof doc === 'string' ? doc : `A ${type} ${topic === 'events' ? 'event' : 'signal'}.`,
      description: `Avro schema schemas/${type}/v${version}.avsc (the latest; older versions read as it).`,
      contentType: 'avro/binary',
      headers: {
        type: 'object',
        properties: {
          [recordHeaders.eventType]: { type: 'string', const: type },
          [recordHeaders.at]: { type: 'string', description: 'epoch milliseconds of the append' },
        },
        required: [recordHeaders.eventType],
      },
      payload: { schemaFormat: AVRO_FORMAT, schema },
      bindings: { kafka: { key: { type: 'string', pattern: '^(room|user):' }, bindingVersion: '0.5.0' } },
    };
    channelMessages[name] = { $ref: `#/components/messages/${name}` };
  }
  operations[`append_${topic}`] = {
    action: 'send',
    channel: { $ref: `#/channels/${topic}` },
    summary: topic === 'events' ? 'The command processor appends the events a command decided.' : 'Gateways append signals.',
    messages: Object.keys(channelMessages).map((name) => ({ $ref: `#/channels/${topic}/messages/${name}` })),
  };
  return {
    address: topics[topic],
    ...logTopics[topic],
    messages: channelMessages,
    bindings: { kafka: { topic: topics[topic], bindingVersion: '0.5.0' } },
  };
}
