// The AsyncAPI 3.1 document of the WebSocket gateway (`GET /asyncapi.json`),
// for the tools that speak AsyncAPI (generators, Studio, linters). It is built
// from the OpenAPI document's `x-websocket` section, which stays the one
// source: the same frame list, descriptions, limits and payload schemas (the
// components are copied as they are, so `#/components/schemas/X` resolves in
// both). The document describes Parley: it receives the client frames and
// sends the server frames, on one channel, `/ws`.

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

/** Component names: a type can go both ways (TYPING, READ_RECEIPT), so the direction is part of it. */
export const asyncApiMessageName = (direction: 'client' | 'server', type: string): string =>
  `${direction === 'client' ? 'Client' : 'Server'}_${type}`;

export function buildAsyncApiDocument(openapi: OpenApiDocument): AsyncApiDocument {
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
        'The REST API is described by /openapi.json; the payload schemas here are the same.',
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
    },
    operations,
    components: { schemas: openapi.components.schemas, messages },
  };
}
