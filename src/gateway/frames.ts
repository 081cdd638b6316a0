// The WebSocket frame format kept from the Go service:
// {"type": "...", "ref": "...", "timestamp": 1686123456789, "data": {...}}.
// Client frames are parsed here with zod; server frames are built here only.

import { z } from 'zod';
import type { CommandInputs } from '../commands/inputs.ts';
import { validationDetails, type ValidationDetail } from '../http/errors.ts';

export function clientFrameSchemas(inputs: CommandInputs) {
  const roomId = inputs.uuid;
  const frame = <T extends string, D extends z.ZodType>(type: T, data: D) =>
    z.strictObject({
      type: z.literal(type),
      ref: z.string().max(64).optional(),
      timestamp: z.number().optional(),
      data,
    });
  return z.discriminatedUnion('type', [
    frame('AUTH', z.strictObject({ token: z.string().min(1).max(8192) })),
    frame('SEND_MESSAGE', inputs.sendMessage.extend({ chat_room_id: roomId })),
    frame('JOIN_ROOM', z.strictObject({ chat_room_id: roomId, since_seq: inputs.seq.optional() })),
    frame('LEAVE_ROOM', z.strictObject({ chat_room_id: roomId })),
    frame('TYPING', z.strictObject({ chat_room_id: roomId, is_typing: z.boolean() })),
    frame('READ_RECEIPT', z.strictObject({ chat_room_id: roomId, seq: inputs.seq })),
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
  let value: unknown;
  try {
    value = JSON.parse(
      Buffer.isBuffer(raw) ? raw.toString() : Buffer.concat(Array.isArray(raw) ? raw : [Buffer.from(raw)]).toString(),
    );
  } catch {
    return { error: { code: 'invalid_json', message: 'frame is not valid JSON' } };
  }
  const candidate = typeof value === 'object' && value !== null ? (value as { ref?: unknown; type?: unknown }) : {};
  const ref = typeof candidate.ref === 'string' ? candidate.ref.slice(0, 64) : undefined;
  const withRef = ref === undefined ? {} : { ref };
  const result = schemas.safeParse(value);
  if (result.success) return { frame: result.data };
  if (typeof candidate.type !== 'string' || !frameTypesOf(schemas).has(candidate.type)) {
    return { error: { code: 'unknown_type', message: 'unknown frame type' }, ...withRef };
  }
  // The same shape as a REST 400: one {path, message} per problem.
  return { error: { code: 'validation_failed', message: 'invalid frame', details: validationDetails(result.error) }, ...withRef };
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
