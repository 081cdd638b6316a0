// API documentation routes: `GET /openapi.json` (the OpenAPI 3.1 document of
// openapi.ts), `GET /asyncapi.json` (the AsyncAPI 3.1 document of the
// WebSocket gateway, asyncapi.ts), Swagger UI over it at `GET /swagger/index.html`
// (swagger-ui-routes.ts), and `GET /docs`, the same document as a plain HTML
// page rendered here on the server. The page loads nothing (no scripts, no CDN, no fonts), and
// its Content-Security-Policy says so, so it works offline and leaks nothing.

import Router from '@koa/router';
import type { Config } from '../config.ts';
import type { AppState } from '../http/auth-middleware.ts';
import {
  buildOpenApiDocument,
  type FrameDoc,
  type JsonSchema,
  type OpenApiDocument,
  type OperationObject,
  type ResponseObject,
} from './openapi.ts';
import type { SchemaVersion } from '../log/schema-catalog.ts';
import { signalTypes } from '../log/signals.ts';
import { buildAsyncApiDocument, type LogSchemas } from './asyncapi.ts';
import { addSwaggerUiRoutes } from './swagger-ui-routes.ts';

/** Nothing may load: only the inline stylesheet is allowed. */
export const DOCS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function docsRoutes(options: {
  config: Config;
  version?: string;
  /** Every version of every event and signal type, as the event codec loaded them. */
  schemas: readonly SchemaVersion[];
}): Router<AppState> {
  const document = buildOpenApiDocument(options.config, options.version === undefined ? {} : { version: options.version });
  const json = Buffer.from(JSON.stringify(document));
  const asyncApiJson = Buffer.from(JSON.stringify(buildAsyncApiDocument(document, logSchemas(options.schemas))));
  // A Buffer, not a string: app.ts turns string bodies that look like HTML into text/plain.
  const html = Buffer.from(renderDocsHtml(document));
  const router = new Router<AppState>();

  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = json;
  });

  router.get('/asyncapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = asyncApiJson;
  });

  router.get('/docs', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('Content-Security-Policy', DOCS_CSP);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = html;
  });

  addSwaggerUiRoutes(router);
  return router;
}

/** The latest Avro schema of every event and signal type, split by topic. */
export function logSchemas(schemas: readonly SchemaVersion[]): LogSchemas {
  const signals = new Set<string>(signalTypes);
  const newest = new Map<string, SchemaVersion>();
  for (const version of schemas)
    if ((newest.get(version.type)?.version ?? 0) < version.version) newest.set(version.type, version);
  const latest = [...newest.values()];
  const of = (wanted: boolean) =>
    latest.filter((v) => signals.has(v.type) === wanted).map(({ type, version, schema }) => ({ type, version, schema }));
  return { events: of(false), signals: of(true) };
}

// ---------------------------------------------------------------------------
// HTML rendering.

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Escapes, then renders `code` and **bold** spans (all the markup the descriptions use). */
const prose = (value: string): string =>
  escapeHtml(value)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');

const refName = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
const schemaLink = (name: string): string => `<a href="#schema-${escapeHtml(name)}"><code>${escapeHtml(name)}</code></a>`;

/** A one-line description of a schema: type, format, bounds, enum, default; $refs as links. */
export function schemaSummary(schema: JsonSchema | undefined): string {
  if (schema === undefined) return '';
  if (typeof schema.$ref === 'string') return schemaLink(refName(schema.$ref));
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (Array.isArray(variants)) return variants.map((variant) => schemaSummary(variant)).join(' | ');
  const parts: string[] = [];
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type as string | undefined);
  if (schema.const !== undefined) parts.push(`<code>${escapeHtml(JSON.stringify(schema.const))}</code>`);
  else if (Array.isArray(schema.enum))
    parts.push(schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | '));
  else if (type === 'array') parts.push(`array of ${schemaSummary(schema.items as JsonSchema | undefined) || 'any'}`);
  else if (type !== undefined) parts.push(escapeHtml(type));
  else parts.push('any');
  if (typeof schema.format === 'string') parts.push(`(${escapeHtml(schema.format)})`);
  const bound = (label: string, key: string) => {
    if (schema[key] !== undefined) parts.push(`${label} ${escapeHtml(textOf(schema[key]))}`);
  };
  bound('min length', 'minLength');
  bound('max length', 'maxLength');
  bound('≥', 'minimum');
  bound('≤', 'maximum');
  bound('at most', 'maxItems');
  bound('at least', 'minProperties');
  // A uuid's pattern says nothing the format does not.
  if (typeof schema.pattern === 'string' && schema.format !== 'uuid')
    parts.push(`pattern <code>${escapeHtml(schema.pattern)}</code>`);
  if (schema.default !== undefined) parts.push(`default <code>${escapeHtml(JSON.stringify(schema.default))}</code>`);
  return parts.join(', ');
}

function propertiesTable(schema: JsonSchema): string {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties === undefined || Object.keys(properties).length === 0) return '';
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties).map(
    ([name, property]) =>
      `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? '' : ' <small>optional</small>'}</td>` +
      `<td>${schemaSummary(property)}</td><td>${prose(textOf(property.description))}</td></tr>`,
  );
  return `<table><tr><th>field</th><th>type</th><th>notes</th></tr>${rows.join('')}</table>`;
}

function responseRow(status: string, response: ResponseObject | { $ref: string }, doc: OpenApiDocument): string {
  const resolved = '$ref' in response ? doc.components.responses[refName(response.$ref)] : response;
  if (resolved === undefined) return '';
  const content = resolved.content === undefined ? undefined : Object.entries(resolved.content)[0];
  const body = content === undefined ? '' : `${escapeHtml(content[0])} ${schemaSummary(content[1].schema)}`;
  const headers =
    resolved.headers === undefined ? '' : ` <small>headers: ${Object.keys(resolved.headers).map(escapeHtml).join(', ')}</small>`;
  return `<tr><td>${escapeHtml(status)}</td><td>${prose(resolved.description)}${headers}</td><td>${body}</td></tr>`;
}

function operationHtml(method: string, path: string, op: OperationObject, doc: OpenApiDocument): string {
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  const params = (op.parameters ?? [])
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${p.in}${p.required ? '' : ', optional'}</td>` +
        `<td>${schemaSummary(p.schema)}</td><td>${prose(p.description ?? textOf(p.schema.description))}</td></tr>`,
    )
    .join('');
  const body = op.requestBody?.content['application/json']?.schema;
  return [
    `<section class="op" id="op-${escapeHtml(op.operationId)}">`,
    `<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p>${prose(op.summary)}${isPublic ? ' <small>(public)</small>' : ' <small>(bearer token)</small>'}</p>`,
    op.description === undefined ? '' : `<p>${prose(op.description)}</p>`,
    params === '' ? '' : `<table><tr><th>parameter</th><th>in</th><th>type</th><th>notes</th></tr>${params}</table>`,
    body === undefined ? '' : `<p>Request body (<code>application/json</code>): ${schemaSummary(body)}</p>`,
    body !== undefined || op.requestBody === undefined
      ? ''
      : `<p>Request body: the raw bytes, as ${Object.keys(op.requestBody.content)
          .map((type) => `<code>${escapeHtml(type)}</code>`)
          .join(', ')}</p>`,
    '<table><tr><th>status</th><th>meaning</th><th>body</th></tr>',
    ...Object.entries(op.responses).map(([status, response]) => responseRow(status, response, doc)),
    '</table>',
    '</section>',
  ].join('\n');
}

function framesTable(frames: FrameDoc[]): string {
  const rows = frames.map(
    (frame) =>
      `<tr><td><code>${escapeHtml(frame.type)}</code></td><td>${prose(frame.description)}</td><td>${schemaSummary(frame.schema)}</td></tr>`,
  );
  return `<table><tr><th>type</th><th>meaning</th><th>schema</th></tr>${rows.join('')}</table>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
code,pre{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em}
pre{padding:.6em;overflow:auto}
table{border-collapse:collapse;margin:.4em 0 1em}
td,th{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
.op{border-top:1px solid #ccc;padding-top:.3em}
.method{display:inline-block;min-width:4.2em;font-size:13px;color:#fff;padding:.1em .4em;border-radius:3px;background:#555}
.get{background:#2f6f9f}.post{background:#3c8a3c}.put{background:#8a6d1c}.patch{background:#7a4f9a}.delete{background:#a33}
nav ul{columns:2}
`;

/** The whole document as one self-contained HTML page. */
/** A schema keyword's value as text: strings as they are, anything else as JSON. */
function textOf(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function renderDocsHtml(doc: OpenApiDocument): string {
  const operations: { tag: string; method: string; path: string; op: OperationObject }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      operations.push({ tag: op.tags[0] ?? 'other', method, path, op });
    }
  }
  const byTag = doc.tags.map((tag) => ({ tag, ops: operations.filter((o) => o.tag === tag.name) }));
  const nav = byTag
    .filter(({ ops }) => ops.length > 0)
    .map(
      ({ tag, ops }) =>
        `<li><a href="#tag-${escapeHtml(tag.name)}">${escapeHtml(tag.name)}</a><ul>` +
        ops
          .map(
            (o) => `<li><a href="#op-${escapeHtml(o.op.operationId)}">${o.method.toUpperCase()} ${escapeHtml(o.path)}</a></li>`,
          )
          .join('') +
        '</ul></li>',
    )
    .join('');
  const sections = byTag
    .filter(({ ops }) => ops.length > 0)
    .map(
      ({ tag, ops }) =>
        `<h2 id="tag-${escapeHtml(tag.name)}">${escapeHtml(tag.name)}</h2><p>${prose(tag.description)}</p>` +
        ops.map((o) => operationHtml(o.method, o.path, o.op, doc)).join('\n'),
    )
    .join('\n');
  const ws = doc['x-websocket'];
  const wsHtml = [
    `<h2 id="websocket">WebSocket <code>GET ${escapeHtml(ws.path)}</code></h2>`,
    `<p>${prose(ws.authentication)}</p>`,
    `<p>${prose(ws.description)}</p>`,
    '<h3>Client → server</h3>',
    framesTable(ws.client_frames),
    '<h3>Server → client</h3>',
    framesTable(ws.server_frames),
    '<h3>Limits</h3><table>',
    ...Object.entries(ws.limits).map(([name, value]) => `<tr><td><code>${escapeHtml(name)}</code></td><td>${value}</td></tr>`),
    '</table><h3>Close codes</h3><table>',
    ...Object.entries(ws.close_codes).map(([code, meaning]) => `<tr><td>${escapeHtml(code)}</td><td>${prose(meaning)}</td></tr>`),
    '</table>',
  ].join('\n');
  const schemas = Object.entries(doc.components.schemas)
    .map(
      ([name, schema]) =>
        `<section id="schema-${escapeHtml(name)}"><h3><code>${escapeHtml(name)}</code></h3>` +
        (schema.description === undefined ? '' : `<p>${prose(textOf(schema.description))}</p>`) +
        (propertiesTable(schema) || `<p>${schemaSummary(schema)}</p>`) +
        `<details><summary>JSON Schema</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details></section>`,
    )
    .join('\n');
  const auth = doc.components.securitySchemes.bearerAuth as { description?: string };

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} API ${escapeHtml(doc.info.version)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(doc.info.title)} API <small>${escapeHtml(doc.info.version)}</small></h1>
${doc.info.description
  .split('\n\n')
  .map((paragraph) => `<p>${prose(paragraph)}</p>`)
  .join('\n')}
<p>Authentication: <code>Authorization: Bearer &lt;access token&gt;</code>. ${prose(auth.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}), the WebSocket gateway in <a href="/asyncapi.json">/asyncapi.json</a> (AsyncAPI 3.1); interactive: <a href="/swagger/index.html">Swagger UI</a>.</p>
<nav><h2>Contents</h2><ul>${nav}<li><a href="#websocket">websocket</a></li><li><a href="#schemas">schemas</a></li></ul></nav>
${sections}
${wsHtml}
<h2 id="schemas">Schemas</h2>
${schemas}
</body>
</html>
`;
}
