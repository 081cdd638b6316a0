// JSON request bodies, read with plain Node streams and held to I-JSON (RFC 7493):
// UTF-8 without a byte order mark, no lone surrogates, no duplicate keys, finite
// numbers. On top of that: a size limit enforced while reading (413 as soon as it
// is passed), bounded nesting, and no `__proto__` / `constructor` / `prototype`
// keys anywhere, so nothing downstream can be tricked into prototype pollution.
// The parsed value lands on `ctx.request.body` as `unknown`: routes validate it
// with `parseBody` (validate.ts).

import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { invalidJson, payloadTooLarge, unsupportedMediaType, ApiError } from './errors.ts';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body; `undefined` when the request had none. Validate it with `parseBody`. */
    body?: unknown;
    /** The exact bytes received, for signatures computed over the raw body (webhooks). */
    rawBody?: Buffer;
  }
}

export interface JsonBodyOptions {
  /** Largest body accepted, in bytes (config PARLEY_MAX_BODY_BYTES). */
  maxBytes: number;
  /** Deepest nesting of arrays and objects accepted; `{}` is depth 1. */
  maxDepth?: number;
}

/** Nesting deeper than this is refused: no legitimate Parley payload comes close. */
export const DEFAULT_MAX_DEPTH = 64;

/** Keys that could reach an object's prototype when a body is merged or assigned somewhere. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function jsonBody(options: JsonBodyOptions): Middleware {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  return async (ctx, next) => {
    const req = ctx.req;
    if (!declaresBody(req)) {
      await next();
      return;
    }

    // Refuse by the declared length before reading a byte of the body.
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > options.maxBytes) {
      throw closing(payloadTooLarge(options.maxBytes));
    }
    if (!isJsonContentType(req.headers['content-type'])) throw closing(unsupportedMediaType());

    const raw = await readBody(req, options.maxBytes);
    if (raw.length > 0) {
      ctx.request.rawBody = raw;
      ctx.request.body = parseJson(raw, maxDepth);
    }
    await next();
  };
}

/** True when the request carries a body (RFC 9112 §6.3: a transfer coding or a non-zero length). */
function declaresBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > 0;
}

/** `application/json`, with no charset or `charset=utf-8`. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => {
    const [name, value] = param.split('=').map((part) => part.trim());
    return name !== 'charset' || value === 'utf-8' || value === 'utf8' || value === '"utf-8"';
  });
}

/**
 * A refused body is left unread: the response asks for the connection to close,
 * so Node tears the socket down after answering instead of draining (or, for a
 * chunked body without end, waiting on) the rest.
 */
export function closing(error: ApiError): ApiError {
  return new ApiError(error.status, error.code, error.message, error.details, {
    headers: { ...error.headers, Connection: 'close' },
  });
}

/**
 * Reads the body, counting bytes as they arrive; past `maxBytes` it stops and
 * rejects with 413 (and asks for the connection to close). Also used by routes
 * that take a non-JSON body (direct uploads).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const fail = (error: ApiError) => {
      cleanup();
      req.pause();
      reject(closing(error));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) fail(payloadTooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, received));
    };
    const onError = () => fail(new ApiError(400, 'request_aborted', 'the request body was not received completely'));
    const onClose = () => {
      if (!req.complete) onError();
    };
    // Stays attached after cleanup: a late socket error must not become an unhandled 'error' event.
    req.on('error', noop);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const noop = () => {};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes and parses a body by the rules above; any violation is 400 `invalid_json`.
 * WebSocket frames are held to the same rules (gateway/frames.ts): `what` names
 * the input in the messages.
 */
export function parseJson(raw: Uint8Array, maxDepth: number = DEFAULT_MAX_DEPTH, what = 'request body'): unknown {
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
    throw invalidJson(`${what} must not start with a byte order mark`);
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw invalidJson(`${what} is not valid UTF-8`);
  }
  // Before JSON.parse: bounds the depth (so the walk below can recurse safely) and
  // finds duplicate keys, which JSON.parse silently resolves to the last one.
  const structureProblem = scanStructure(text, maxDepth);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input; the client already has it.
    throw invalidJson(`${what} is not valid JSON`);
  }
  if (structureProblem !== null) throw invalidJson(`${what} ${structureProblem}`);
  const valueProblem = checkValue(value);
  if (valueProblem !== null) throw invalidJson(`${what} ${valueProblem}`);
  return value;
}

interface Frame {
  /** Keys seen so far, for an object; null for an array. */
  keys: Set<string> | null;
  /** In an object, whether the next string is a key. */
  expectKey: boolean;
}

/**
 * One pass over the text: nesting depth and duplicate keys. Lenient about syntax
 * (JSON.parse judges that); strings are skipped so brackets inside them don't count.
 */
function scanStructure(text: string, maxDepth: number): string | null {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      const top = stack.at(-1);
      if (top?.keys && top.expectKey) {
        top.expectKey = false;
        const key = escaped ? decodeKey(text.slice(i, j + 1)) : text.slice(i + 1, j);
        if (key !== null) {
          if (top.keys.has(key)) return 'repeats a key in one object';
          top.keys.add(key);
        }
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= maxDepth) return `nests deeper than ${maxDepth} levels`;
      stack.push({ keys: c === 0x7b ? new Set() : null, expectKey: c === 0x7b });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.keys) top.expectKey = true;
    }
  }
  return null;
}

function decodeKey(quoted: string): string | null {
  try {
    const key: unknown = JSON.parse(quoted);
    return typeof key === 'string' ? key : null;
  } catch {
    return null; // malformed; JSON.parse of the whole body reports it
  }
}

/** Walks the parsed value (depth already bounded) for forbidden keys, lone surrogates and ±Infinity. */
function checkValue(value: unknown): string | null {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? null : 'contains a lone surrogate (invalid Unicode)';
    case 'number':
      return Number.isFinite(value) ? null : 'contains a number out of range';
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (const item of value) {
          const problem = checkValue(item);
          if (problem !== null) return problem;
        }
        return null;
      }
      for (const [key, item] of Object.entries(value)) {
        if (FORBIDDEN_KEYS.has(key)) return 'contains a forbidden key';
        if (!key.isWellFormed()) return 'contains a lone surrogate (invalid Unicode)';
        const problem = checkValue(item);
        if (problem !== null) return problem;
      }
      return null;
    }
    default:
      return null;
  }
}
