// The WebSocket frame format kept from the Go service:
// {"type": "...", "ref": "...", "timestamp": 1686123456789, "data": {...}}.
// Client frames are parsed here with zod; server frames are built here only.

import { z } from 'zod';
import type { CommandInputs } from '../commands/inputs.ts';
import { DEFAULT_MAX_DEPTH, parseJson } from '../http/body.ts';
import { ApiError, validationDetails, type ValidationDetail } from '../http/errors.ts';

export function clientFrameSchemas(inputs: CommandInputs) {
  const roomId = inputs.uuid;
  const frame = <T extends string, D extends z.ZodType>(type: T, data: D) =>
    z.strictObject({
      type: z.literal(type),
      ref: z.string().max(64).optional(),
      timestamp: z.number().optional(),
      // The Go service's clients name themselves on every frame; the socket's
      // user is who sends, so a sender_id is only checked (frame-handlers.ts).
      sender_id: z.string().max(128).optional(),
      data,
    });
  return z.discriminatedUnion('type', [
    frame('AUTH', z.strictObject({ token: z.string().min(1).max(8192) })),
    frame('SEND_MESSAGE', inputs.sendMessage.extend({ chat_room_id: roomId })),
    frame('JOIN_ROOM', z.strictObject({ chat_room_id: roomId, since_seq: inputs.seq.optional() })),
    frame('LEAVE_ROOM', z.strictObject({ chat_room_id: roomId })),
    // A bare TYPING (the Go service's) means typing started.
    frame('TYPING', z.strictObject({ chat_room_id: roomId, is_typing: z.boolean().default(true) })),
    frame('READ_RECEIPT', z.strictObject({ chat_room_id: roomId, seq: inputs.seq })),
    frame('DELIVERED', z.strictObject({ chat_room_id: roomId, seq: inputs.seq })),
    // Catch up from a sync token (none: from now), then stay on the sync feed (sync-stream.ts).
    frame('SYNC', z.strictObject({ since: z.string().min(1).max(10_000).optional() })),
    frame('PING', z.strictObject({}).optional()),
  ]);
}

export type ClientFrameSchemas = ReturnType<typeof clientFrameSchemas>;
export type ClientFrame = z.infer<ClientFrameSchemas>;

/** Why a frame was refused: the ERROR frame's code, message and (for validation_failed) details. */
export interface FrameError {
  code: string;
  message: string;
  details?: ValidationDetail[];
}

/**
 * Parses a client frame. A frame that is not JSON text, names no known type
 * or does not fit its type's schema is refused with the ERROR it earns; the
 * client's `ref` is echoed whenever the frame carried one.
 */
export function parseFrame(
  schemas: ClientFrameSchemas,
  raw: Buffer | ArrayBuffer | Buffer[],
  isBinary: boolean,
): { frame: ClientFrame } | { error: FrameError; ref?: string } {
  if (isBinary) return { error: { code: 'invalid_frame', message: 'frames must be JSON text' } };
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]);
  let value: unknown;
  try {
    // The rules of a REST body (I-JSON: no lone surrogates, no duplicate keys, …),
    // so that one text is refused, or accepted, alike on both.
    value = parseJson(bytes, DEFAULT_MAX_DEPTH, 'frame');
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // A frame that is JSON but breaks a rule still gets its ref back.
    return { error: { code: error.code, message: error.message }, ...refOf(lenientParse(bytes)) };
  }
  const candidate = typeof value === 'object' && value !== null ? (value as { type?: unknown }) : {};
  const withRef = refOf(value);
  const result = schemas.safeParse(value);
  if (result.success) return { frame: result.data };
  if (typeof candidate.type !== 'string' || !frameTypesOf(schemas).has(candidate.type)) {
    return { error: { code: 'unknown_type', message: 'unknown frame type' }, ...withRef };
  }
  // The same shape as a REST 400: one {path, message} per problem.
  return { error: { code: 'validation_failed', message: 'invalid frame', details: validationDetails(result.error) }, ...withRef };
}

/** `{ref}` when `value` is an object carrying a string ref (cut to 64 characters), else `{}`. */
function refOf(value: unknown): { ref?: string } {
  const ref = typeof value === 'object' && value !== null ? (value as { ref?: unknown }).ref : undefined;
  return typeof ref === 'string' ? { ref: ref.slice(0, 64) } : {};
}

function lenientParse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch {
    return undefined;
  }
}

const frameTypes = new WeakMap<ClientFrameSchemas, ReadonlySet<string>>();
/** The client frame types, read off the schema (once per schema). */
function frameTypesOf(schemas: ClientFrameSchemas): ReadonlySet<string> {
  let types = frameTypes.get(schemas);
  if (types === undefined) frameTypes.set(schemas, (types = new Set(schemas.options.map((option) => option.shape.type.value))));
  return types;
}

export function serverFrame(type: string, data: unknown, ref?: string): string {
  return JSON.stringify(ref === undefined ? { type, timestamp: Date.now(), data } : { type, ref, timestamp: Date.now(), data });
}

export function errorFrame(code: string, message: string, ref?: string, details?: unknown): string {
  return serverFrame('ERROR', { ref: ref ?? null, code, message, ...(details === undefined ? {} : { details }) }, ref);
}
