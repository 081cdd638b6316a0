// The OpenAPI document: valid OpenAPI 3.1 (the official schema, through
// @seriousme/openapi-schema-validator, plus our own structural checks); in
// step with the routers (every registered route is documented and every
// documented route is registered, walked from the real routers' stacks); its
// request schemas refuse what the routes' zod schemas refuse; its limits follow
// the config; and /openapi.json and /docs serve it without loading anything.

import { Validator } from '@seriousme/openapi-schema-validator';
import { pino } from 'pino';
import type { Router } from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminInputs, authRoutes, loginBody, refreshBody, registerBody } from '../auth/http-routes.ts';
import { commandRoutes } from '../commands/http-routes.ts';
import { pushRoutes } from '../push/http-routes.ts';
import { reportInputs, reportRoutes } from '../commands/report-routes.ts';
import { syncQuerySchema, syncRoutes } from '../queries/sync-routes.ts';
import { webhookInputs, webhookRoutes } from '../webhooks/webhook-routes.ts';
import { botRoutes } from '../bots/bot-routes.ts';
import { asOfQuerySchema, asOfRoutes } from '../queries/as-of-routes.ts';
import { commandInputs } from '../commands/inputs.ts';
import { loadConfig, type Config } from '../config.ts';
import { clientFrameSchemas } from '../gateway/frames.ts';
import { queryRoutes, queryInputs } from '../queries/http-routes.ts';
import { requestView } from '../queries/social-queries.ts';
import { messageView, userView } from '../queries/wire.ts';
import { createHttpApp } from '../http/app.ts';
import { noMetrics } from '../infra/metrics.ts';
import { DOCS_CSP, docsRoutes } from './docs-routes.ts';
import { demoRoutes } from '../http/demo-routes.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { localStorageRoutes } from '../uploads/local-storage-routes.ts';
import { schemasDir } from '../compose.ts';
import { uploadRoutes } from '../uploads/routes.ts';
import { errorBody, validationError } from '../http/errors.ts';
import { buildOpenApiDocument, toOpenApiPath, type HttpMethod, type JsonSchema, type OpenApiDocument } from './openapi.ts';
import { startTestServer, type TestServer } from '../http/testing/harness.ts';
import { schemaValidator } from './testing/schema-validator.ts';

const config = loadConfig({});
const doc = buildOpenApiDocument(config);
const schemas = createAvroCodec({ schemasDir }).listSchemas();
const METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'patch', 'delete'];

function operations(document: OpenApiDocument) {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, path, op: item[method]! })),
  );
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 by the official schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('is checked by a validator that does refuse a broken document', async () => {
    const broken = structuredClone(doc) as unknown as Record<string, unknown>;
    delete broken.info;
    (broken.paths as Record<string, unknown>)['/x'] = { get: { summary: 'no responses', responses: 'none' } };
    expect((await new Validator().validate(broken as never)).valid).toBe(false);
  });

  it('has the required fields, unique operation ids and declared path parameters', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe('Parley');
    expect(typeof doc.info.version).toBe('string');
    const ids = new Set<string>();
    for (const { method, path, op } of operations(doc)) {
      expect(path.startsWith('/'), path).toBe(true);
      expect(op.operationId, `${method} ${path}`).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
      expect(ids.has(op.operationId), `duplicate ${op.operationId}`).toBe(false);
      ids.add(op.operationId);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
      expect(op.tags.every((tag) => doc.tags.some((t) => t.name === tag))).toBe(true);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      expect(declared, `${method} ${path}`).toEqual(templated);
      for (const p of op.parameters ?? []) if (p.in === 'path') expect(p.required).toBe(true);
    }
  });

  it('resolves every $ref', () => {
    const refs: string[] = [];
    JSON.stringify(doc, (key, value: unknown) => {
      if (key === '$ref' && typeof value === 'string') refs.push(value);
      return value;
    });
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      let node: unknown = doc;
      for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown> | undefined)?.[part];
      expect(node, ref).toBeDefined();
    }
  });

  it('compiles every component schema as JSON Schema 2020-12', () => {
    const validator = schemaValidator(doc);
    for (const name of Object.keys(doc.components.schemas)) expect(() => validator.component(name), name).not.toThrow();
  });

  it('documents bearer JWT security, public auth routes and the error responses', () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/api/v1/auth/login']?.post?.security).toEqual([]);
    expect(doc.paths['/api/v1/rooms']?.get?.security).toBeUndefined();
    const responses = doc.components.responses;
    for (const name of [
      'BadRequest',
      'Unauthorized',
      'Forbidden',
      'NotFound',
      'Conflict',
      'PayloadTooLarge',
      'UnsupportedMediaType',
      'TooManyRequests',
      'ServiceUnavailable',
    ]) {
      expect(responses[name]?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    expect(Object.keys(responses.BadRequest?.content?.['application/json']?.examples ?? {})).toEqual([
      'validation_failed',
      'invalid_json',
    ]);
    expect(responses.TooManyRequests?.headers).toHaveProperty('Retry-After');
    expect(responses.ServiceUnavailable?.headers).toHaveProperty('Retry-After');
    expect(responses.Unauthorized?.headers).toHaveProperty('WWW-Authenticate');
    const send = doc.paths['/api/v1/rooms/{id}/messages']?.post?.responses ?? {};
    expect(Object.keys(send).sort()).toEqual(['201', '400', '401', '403', '404', '409', '413', '415', '429', '500', '503']);
    expect(Object.keys(doc.paths['/api/v1/auth/login']?.post?.responses ?? {})).toContain('429');
  });

  it('documents every WebSocket frame type of the gateway', () => {
    const ws = doc['x-websocket'];
    expect(ws.client_frames.map((f) => f.type).sort()).toEqual(
      clientFrameSchemas(commandInputs(config))
        .options.map((o) => o.shape.type.value)
        .sort(),
    );
    const serverTypes = ws.server_frames.map((f) => f.type);
    for (const type of [
      'ACK',
      'ERROR',
      'PONG',
      'NEW_MESSAGE',
      'MESSAGE_UPDATED',
      'MESSAGE_DELETED',
      'REACTION_UPDATED',
      'JOIN_SUCCESS',
      'USERS',
      'USER_JOINED',
      'USER_LEFT',
      'TYPING',
      'READ_RECEIPT',
      'PRESENCE',
      'FRIEND_REQUEST',
      'FRIEND_REQUEST_UPDATED',
      'ROOM_UPDATED',
      'MEMBER_ADDED',
      'MEMBER_REMOVED',
    ]) {
      expect(serverTypes, type).toContain(type);
    }
    for (const frame of [...ws.client_frames, ...ws.server_frames]) {
      expect(doc.components.schemas[frame.schema.$ref.split('/').pop()!], frame.type).toBeDefined();
    }
  });

  it('takes its limits from the config', () => {
    const small = loadConfig({
      PARLEY_MAX_MESSAGE_CHARS: '123',
      PARLEY_MAX_ATTACHMENTS: '2',
      PARLEY_MAX_ROOM_NAME_CHARS: '17',
      PARLEY_MAX_ROOM_MEMBERS_ON_CREATE: '5',
      PARLEY_PAGE_DEFAULT: '3',
      PARLEY_PAGE_MAX: '7',
      PARLEY_SEARCH_MAX: '9',
      PARLEY_MAX_BODY_BYTES: '4096',
      PARLEY_MAX_FRAME_BYTES: '2048',
    });
    const d = buildOpenApiDocument(small);
    const props = (name: string) => d.components.schemas[name]?.properties as Record<string, JsonSchema>;
    expect(props('SendMessageRequest').content).toMatchObject({ maxLength: 123, minLength: 1 });
    expect(props('SendMessageRequest').attachments).toMatchObject({ maxItems: 2 });
    expect(props('CreateRoomRequest').name).toMatchObject({ maxLength: 17 });
    expect(props('CreateRoomRequest').member_ids).toMatchObject({ maxItems: 5 });
    expect(props('UpdateRoomRequest').name).toMatchObject({ maxLength: 17 });
    expect(props('EditMessageRequest').content).toMatchObject({ maxLength: 123 });
    const limitOf = (path: string) => d.paths[path]?.get?.parameters?.find((p) => p.name === 'limit')?.schema;
    expect(limitOf('/api/v1/rooms/{id}/messages')).toEqual({ type: 'integer', minimum: 1, maximum: 7, default: 3 });
    expect(limitOf('/api/v1/users')).toEqual({ type: 'integer', minimum: 1, maximum: 7, default: 3 });
    expect(limitOf('/api/v1/search/messages')).toEqual({ type: 'integer', minimum: 1, maximum: 9, default: 20 });
    expect(d.components.responses.PayloadTooLarge?.description).toContain('4096');
    expect(d['x-websocket'].limits.max_frame_bytes).toBe(2048);
    const frameProps = d.components.schemas.WsClientFrame_SEND_MESSAGE?.properties as Record<string, JsonSchema>;
    expect((frameProps.data?.properties as Record<string, JsonSchema>).content).toMatchObject({ maxLength: 123 });
  });
});

describe('routes and document agree', () => {
  function registeredRoutes(cfg: Config): string[] {
    const stub = {} as never;
    const pass = async (_ctx: unknown, next: () => Promise<void>) => next();
    const logger = pino({ level: 'silent' });
    const routers = [
      authRoutes({
        config: cfg,
        db: stub,
        executor: stub,
        tokens: stub,
        refreshTokens: stub,
        signingKey: stub,
        limiter: stub,
        vault: stub,
        requireUser: pass,
        revocations: stub,
        mailer: stub,
        publicOrigin: () => 'http://127.0.0.1:8080',
        logger,
      }),
      queryRoutes({ config: cfg, db: stub, requireUser: pass, presence: stub }),
      commandRoutes({ config: cfg, chat: stub, social: stub, requireUser: pass }),
      docsRoutes({ config: cfg, schemas }),
      pushRoutes({ config: cfg, vapid: stub, subscriptions: stub, rateLimits: stub, requireUser: pass }),
      reportRoutes({ config: cfg, reports: stub, requireUser: pass }),
      syncRoutes({ config: cfg, db: stub, requireUser: pass, model: stub }),
      webhookRoutes({ config: cfg, webhooks: stub, requireUser: pass }),
      botRoutes({ config: cfg, bots: stub, requireUser: pass }),
      asOfRoutes({ config: cfg, deps: stub, requireUser: pass }),
      demoRoutes(),
    ];
    // The upload routers (mounted before the JSON body parser), with the local storage's own endpoints.
    const rawBodyRouters = uploadRoutes({
      config: cfg,
      db: stub,
      storage: stub,
      limiter: stub,
      requireUser: pass,
      storageRoutes: (receive) => localStorageRoutes(stub, receive, { avatarSizePx: 256 }),
      setAvatar: stub,
    });
    const app = createHttpApp({
      config: cfg,
      logger,
      routers,
      rawBodyRouters,
      readiness: () => Promise.resolve({}),
      metrics: { http: noMetrics.http, endpoint: { render: () => Promise.resolve(''), contentType: 'text/plain' } },
    });
    // Every router the app mounts, the probes and /metrics included: each `routes()` middleware carries its router.
    const mounted = app.middleware
      .map((middleware) => (middleware as { router?: Router }).router)
      .filter((router): router is Router => router !== undefined);
    expect(mounted.length).toBe(routers.length + rawBodyRouters.length + 2);
    const routes = new Set<string>();
    for (const router of mounted) {
      for (const layer of router.stack) {
        if (layer.methods.length === 0) continue; // router.use middleware
        expect(typeof layer.path, 'routes are declared with string paths').toBe('string');
        for (const method of layer.methods) {
          if (method === 'HEAD') continue; // added for every GET
          routes.add(`${method.toLowerCase()} ${toOpenApiPath(String(layer.path))}`);
        }
      }
    }
    return [...routes].sort();
  }

  it('every registered route is documented, with its method and path, and nothing else is', () => {
    const documented = operations(doc)
      .map(({ method, path }) => `${method} ${path}`)
      .sort();
    const registered = registeredRoutes(config);
    expect(registered.length).toBeGreaterThan(30);
    expect(documented).toEqual(registered);
  });

  it('includes the routes API.md lists and the extra ones', () => {
    const documented = new Set(operations(doc).map(({ method, path }) => `${method.toUpperCase()} ${path}`));
    for (const route of [
      'POST /api/v1/auth/register',
      'GET /api/v1/users',
      'PATCH /api/v1/rooms/{id}/members/{user_id}',
      'GET /api/v1/search/messages',
      'PUT /api/v1/rooms/{id}/messages/{message_id}/reactions/{emoji}',
      'GET /.well-known/jwks.json',
      'GET /healthz',
      'GET /metrics',
      'GET /openapi.json',
      'GET /docs',
      'GET /swagger/{asset}',
      'POST /api/v1/uploads/sign',
      'POST /api/v1/uploads/local/{upload_id}',
      'GET /api/v1/uploads/{id}',
    ]) {
      expect(documented, route).toContain(route);
    }
  });

  it('documents each query string from the zod schema the route parses it with', () => {
    const q = queryInputs(config);
    const byPath: Record<string, z.ZodObject> = {
      '/api/v1/rooms/{id}/messages': q.historyQuery,
      '/api/v1/users': q.userSearchQuery,
      '/api/v1/friends/requests': q.friendRequestsQuery,
      '/api/v1/invitations': q.invitationsQuery,
      '/api/v1/search/messages': q.messageSearchQuery,
      '/api/v1/mentions': q.mentionsQuery,
      '/api/v1/threads': q.followedThreadsQuery,
      '/api/v1/admin/audit': adminInputs(config).auditQuery,
      '/api/v1/reports': reportInputs(config).reportsQuery,
      '/api/v1/sync': syncQuerySchema(config),
      '/api/v1/webhooks/{webhook_id}/deliveries': webhookInputs(config).deliveriesQuery,
      '/api/v1/rooms/{id}/as-of': asOfQuerySchema(config),
      '/api/v1/rooms/{id}/messages/{message_id}/thread': q.threadQuery,
    };
    for (const { method, path, op } of operations(doc)) {
      const query = (op.parameters ?? []).filter((p) => p.in === 'query');
      const schema = byPath[path];
      if (path === '/api/v1/uploads/local/{upload_id}') {
        // Not a zod schema: the fields the sign answer issued, passed back as they were (local-storage.ts).
        expect(query.map((p) => p.name).sort()).toEqual(
          ['bytes', 'expires_at', 'mime_type', 'purpose', 'signature', 'user_id'].sort(),
        );
        continue;
      }
      if (method !== 'get' || schema === undefined) {
        expect(query, `${method} ${path}`).toEqual([]);
        continue;
      }
      expect(query.map((p) => p.name).sort()).toEqual(Object.keys(schema.shape).sort());
      for (const param of query) {
        const field = schema.shape[param.name] as z.ZodType;
        expect(param.required, `${path} ${param.name}`).toBe(!field.safeParse(undefined).success);
        if (param.schema.type !== 'integer') continue;
        // Integers travel as decimal strings: the documented bounds are exactly zod's.
        const { minimum, maximum } = param.schema as { minimum: number; maximum: number };
        expect(field.safeParse(String(minimum)).success, `${path} ${param.name}=${minimum}`).toBe(true);
        expect(field.safeParse(String(maximum)).success, `${path} ${param.name}=${maximum}`).toBe(true);
        if (minimum > 0) expect(field.safeParse(String(minimum - 1)).success).toBe(false);
        if (maximum < Number.MAX_SAFE_INTEGER) expect(field.safeParse(String(maximum + 1)).success).toBe(false);
        if (param.schema.default !== undefined) expect(field.parse(undefined)).toBe(param.schema.default);
      }
    }
  });
});

describe('request schemas refuse what the routes refuse', () => {
  const cfg = loadConfig({
    PARLEY_MAX_MESSAGE_CHARS: '10',
    PARLEY_MAX_ATTACHMENTS: '2',
    PARLEY_MAX_ROOM_NAME_CHARS: '5',
    PARLEY_MAX_ROOM_MEMBERS_ON_CREATE: '2',
  });
  const document = buildOpenApiDocument(cfg);
  const validator = schemaValidator(document);
  const inputs = commandInputs(cfg);
  const uuid = '0190a3c2-7b1e-7c3d-8e4f-5a6b7c8d9e0f';
  const UUID = uuid.toUpperCase();
  const attachment = { url: 'https://files.example/a.png', mime_type: 'image/png', bytes: 10 };

  /** Each sample must be accepted or refused alike by zod (the route) and the generated JSON Schema. */
  const cases: [component: string, schema: z.ZodType, samples: unknown[]][] = [
    [
      'SendMessageRequest',
      inputs.sendMessage,
      [
        { client_msg_id: 'c1', content: 'hi' },
        {
          client_msg_id: 'c1',
          content: '😀'.repeat(10),
          reply_to: UUID,
          attachments: [attachment, { ...attachment, name: null }],
        },
        { client_msg_id: 'c1', content: '😀'.repeat(11) },
        { client_msg_id: 'c1', content: 'x'.repeat(11) },
        { client_msg_id: 'c1', content: '' },
        { client_msg_id: 'c1', content: ' \n\t ' },
        { content: 'hi' },
        { client_msg_id: '', content: 'hi' },
        { client_msg_id: 'c'.repeat(65), content: 'hi' },
        { client_msg_id: 'c1', content: 'hi', sender_id: uuid },
        { client_msg_id: 'c1', content: 'hi', attachments: [attachment, attachment, attachment] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, extra: 1 }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, bytes: -1 }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, bytes: 1.5 }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, url: 'not a url' }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, url: 'javascript:alert(1)' }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, url: 'data:text/plain,hi' }] },
        { client_msg_id: 'c1', content: 'hi', attachments: [{ ...attachment, url: 'HTTP://files.example/a' }] },
        { client_msg_id: 'c1', content: 'hi', reply_to: 'not-a-uuid' },
        { client_msg_id: 'c1', content: 'hi', mime_type: '' },
        { client_msg_id: 'c1', content: 42 },
        null,
        [],
      ],
    ],
    ['EditMessageRequest', inputs.editMessage, [{ content: 'ok' }, { content: '  ' }, { content: 'x'.repeat(11) }, {}]],
    [
      'CreateRoomRequest',
      inputs.createRoom,
      [
        { name: 'team' },
        { name: ' tea ', member_ids: [uuid, UUID] },
        { name: '' },
        { name: '   ' },
        { name: 'abcdef' },
        { name: 'team', member_ids: [uuid, uuid, uuid] },
        { name: 'team', member_ids: ['x'] },
        { name: 'team', owner_id: uuid },
        {},
      ],
    ],
    [
      'UpdateRoomRequest',
      inputs.updateRoom,
      [{ name: 'a' }, { topic: '' }, {}, { name: '' }, { topic: 'x'.repeat(1001) }, { type: 'direct' }],
    ],
    [
      'UpdateProfileRequest',
      inputs.updateProfile,
      [
        { bio: 'x' },
        { avatar_url: null },
        { avatar_url: 'https://a.example/p.png' },
        {},
        { avatar_url: 'nope' },
        { avatar_url: 'file:///etc/passwd' },
        { display_name: '  ' },
        { username: 'root' },
      ],
    ],
    [
      'AddMemberRequest',
      inputs.addMember,
      [{ user_id: uuid }, { user_id: uuid, role: 'admin' }, { user_id: uuid, role: 'superuser' }, { role: 'member' }],
    ],
    ['ChangeRoleRequest', inputs.changeRole, [{ role: 'owner' }, { role: 'guest' }, {}]],
    [
      'ReadReceiptRequest',
      inputs.readReceipt,
      [{ seq: 0 }, { seq: 12 }, { seq: -1 }, { seq: 1.5 }, { seq: '1' }, { seq: 2 ** 53 }],
    ],
    ['UserRef', inputs.userRef, [{ user_id: uuid }, { user_id: UUID }, { user_id: 1 }, { user_id: 'me' }, {}]],
    [
      'RegisterRequest',
      registerBody,
      [
        { username: 'alice', email: 'alice@example.com', password: 'correct horse' },
        { username: 'alice', email: 'alice@example.com', password: 'correct horse', display_name: 'Alice' },
        { username: 'alice', password: 'correct horse' },
        { username: 'alice', email: 'nope', password: 'correct horse' },
        { username: 'alice', email: 'alice@example.com', password: 'short' },
        { username: 'alice', email: 'alice@example.com', password: 'x'.repeat(73) },
        { username: 'alice', email: 'alice@example.com', password: 'correct horse', display_name: '   ' },
        { username: 'alice', email: 'alice@example.com', password: 'correct horse', role: 'admin' },
      ],
    ],
    ['LoginRequest', loginBody, [{ login: 'alice', password: 'x' }, { login: '', password: 'x' }, { login: 'alice' }]],
    ['RefreshRequest', refreshBody, [{ refresh_token: 'abc' }, { refresh_token: 'x'.repeat(513) }, { refresh_token: '' }]],
  ];

  for (const [component, schema, samples] of cases) {
    it(`${component}: the JSON Schema and zod agree on ${samples.length} samples`, () => {
      const validate = validator.component(component);
      const verdicts = samples.map((sample) => ({ sample, zod: schema.safeParse(sample).success, jsonSchema: validate(sample) }));
      expect(verdicts.filter((v) => v.zod !== v.jsonSchema)).toEqual([]);
      expect(verdicts.some((v) => v.zod)).toBe(true);
      expect(verdicts.some((v) => !v.zod)).toBe(true);
    });
  }

  it('WebSocket client frames: the JSON Schemas and the gateway parser agree', () => {
    const frames = clientFrameSchemas(inputs);
    const validate = validator.schema({
      oneOf: document['x-websocket'].client_frames.map((frame) => frame.schema),
    });
    const samples: unknown[] = [
      { type: 'PING' },
      { type: 'PING', ref: 'r1', data: {} },
      { type: 'PING', data: { x: 1 } },
      { type: 'AUTH', data: { token: 'abc' } },
      { type: 'AUTH', data: { token: '' } },
      { type: 'SEND_MESSAGE', ref: 'r2', data: { chat_room_id: uuid, client_msg_id: 'c', content: 'hi' } },
      { type: 'SEND_MESSAGE', data: { chat_room_id: uuid, client_msg_id: 'c', content: '   ' } },
      { type: 'SEND_MESSAGE', data: { client_msg_id: 'c', content: 'hi' } },
      { type: 'JOIN_ROOM', data: { chat_room_id: uuid, since_seq: 4 } },
      { type: 'JOIN_ROOM', data: { chat_room_id: uuid, since_seq: -1 } },
      { type: 'TYPING', data: { chat_room_id: uuid, is_typing: 'yes' } },
      { type: 'READ_RECEIPT', data: { chat_room_id: uuid, seq: 3 } },
      { type: 'LEAVE_ROOM', data: { chat_room_id: uuid }, extra: true },
      { type: 'SHOUT', data: {} },
      { type: 'PING', ref: 'r'.repeat(65) },
    ];
    const disagreements = samples
      .map((sample) => ({ sample, zod: frames.safeParse(sample).success, jsonSchema: validate(sample) }))
      .filter((v) => v.zod !== v.jsonSchema);
    expect(disagreements).toEqual([]);
  });

  it('known gaps: rules JSON Schema cannot state are described, and only zod enforces them', () => {
    // If one of these starts to agree, the schema learned the rule: move the sample up.
    const gaps: [component: string, schema: z.ZodType, sample: unknown, rule: string][] = [
      [
        'RegisterRequest',
        registerBody,
        { username: 'ab', email: 'a@example.com', password: 'correct horse' },
        'username is checked after NFKC and lower-casing',
      ],
      [
        'RegisterRequest',
        registerBody,
        { username: 'alice', email: 'a@example.com', password: 'password123' },
        'common passwords',
      ],
      [
        'RegisterRequest',
        registerBody,
        { username: 'alice', email: 'a@example.com', password: '😀'.repeat(19) },
        'password ≤ 72 UTF-8 bytes',
      ],
    ];
    for (const [component, schema, sample, rule] of gaps) {
      expect(schema.safeParse(sample).success, rule).toBe(false);
      expect(validator.component(component)(sample), rule).toBe(true);
    }
    // The other way round, the schema is only stricter: it counts the blanks zod trims away.
    expect(inputs.createRoom.safeParse({ name: '  team  ' }).success).toBe(true);
    expect(validator.component('CreateRoomRequest')({ name: '  team  ' })).toBe(false);
    const emoji = document.paths['/api/v1/rooms/{id}/messages/{message_id}/reactions/{emoji}']?.put?.parameters?.find(
      (p) => p.name === 'emoji',
    );
    expect(String(emoji?.schema.description)).toContain('shortcode');
    expect(inputs.emoji.safeParse('ab').success).toBe(false);
    expect(validator.schema(emoji!.schema)('ab')).toBe(true);
  });
});

describe('response schemas describe what the server sends', () => {
  const validator = schemaValidator(doc);
  const id = (n: number) => `0190a3c2-7b1e-7c3d-8e4f-5a6b7c8d9e0${n}`;

  it('a user, a message, a friend request and an error as the read models render them', () => {
    const user = userView({
      id: id(1),
      username: 'alice',
      display_name: 'Alice',
      avatar_url: null,
      bio: '',
      created_at: 1700000000000,
    } as never);
    expect(validator.component('User')(user)).toBe(true);
    expect(validator.component('UserWithStatus')({ ...user, status: { online: false, last_seen_at: null } })).toBe(true);
    expect(validator.component('User')({ ...user, avatar_url: 3 })).toBe(false);

    const message = messageView({
      id: id(2),
      room_id: id(3),
      seq: 1,
      sender_id: id(1),
      client_msg_id: 'c1',
      content: 'hi @alice',
      mime_type: 'text/plain',
      reply_to: null,
      attachments: JSON.stringify([{ url: 'https://f.example/x', mime_type: 'image/png', bytes: 1, name: null }]),
      mentions: JSON.stringify([id(1)]),
      reactions: JSON.stringify({ '👍': [id(1)] }),
      created_at: 1700000000000,
      edited_at: null,
      deleted: 0,
    });
    expect(validator.component('Message')(message)).toBe(true);
    expect(validator.component('MessageList')({ messages: [message] })).toBe(true);

    const request = requestView({
      id: id(4),
      from_user_id: id(1),
      to_user_id: id(5),
      status: 'pending',
      created_at: 1,
      updated_at: 2,
    } as never);
    expect(validator.component('FriendRequest')(request)).toBe(true);
    expect(validator.component('FriendRequest')({ ...request, status: 'maybe' })).toBe(false);

    const failure = errorBody(validationError(z.strictObject({ a: z.string() }).safeParse({ b: 1 }).error!, 'request body'));
    expect(validator.component('Error')(failure)).toBe(true);
    expect(validator.component('Error')({ code: 'x' })).toBe(false);
  });
});

describe('GET /openapi.json and GET /docs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ routers: [docsRoutes({ config, schemas })] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the document as JSON', async () => {
    const response = await fetch(`${server.base}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument(server.config))));
  });

  it('serves a self-contained HTML page listing every operation and frame', async () => {
    const response = await fetch(`${server.base}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toBe(DOCS_CSP);
    const html = await response.text();
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Loads nothing: no scripts, no external stylesheets, images or links.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|src=/i);
    for (const [, href] of html.matchAll(/href="([^"]*)"/g))
      expect(href, href).toMatch(/^(#|\/openapi\.json$|\/asyncapi\.json$|\/swagger\/index\.html$)/);
    for (const { method, path, op } of operations(doc)) {
      expect(html).toContain(`id="op-${op.operationId}"`);
      expect(html).toContain(`${method.toUpperCase()}</span> <code>${path}</code>`);
    }
    for (const frame of doc['x-websocket'].server_frames) expect(html).toContain(`<code>${frame.type}</code>`);
    for (const name of Object.keys(doc.components.schemas)) expect(html).toContain(`id="schema-${name}"`);
  });

  it('escapes what it renders', async () => {
    const html = await (await fetch(`${server.base}/docs`)).text();
    // The emoji shortcode pattern and descriptions contain <, >, & only as entities.
    const text = html.replace(/<\/?(?:[a-z0-9]+)(?:\s[^>]*)?>/gi, '').replace(/<!doctype html>/i, '');
    expect(text).not.toMatch(/[<>]/);
  });
});
