// The WebSocket frame format kept from the Go service:
// {"type": "...", "ref": "...", "timestamp": 1686123456789, "data": {...}}.
// Client frames are parsed with zod; server frames are built here only.

import { z } from 'zod';
import type { CommandInputs } from '../commands/inputs.ts';

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
    frame('JOIN_ROOM', z.strictObject({ chat_room_id: roomId, since_seq: z.number().int().min(0).optional() })),
    frame('LEAVE_ROOM', z.strictObject({ chat_room_id: roomId })),
    frame('TYPING', z.strictObject({ chat_room_id: roomId, is_typing: z.boolean() })),
    frame('READ_RECEIPT', z.strictObject({ chat_room_id: roomId, seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })),
    frame('PING', z.strictObject({}).optional()),
  ]);
}

export type ClientFrame = z.infer<ReturnType<typeof clientFrameSchemas>>;
export const clientFrameTypes: ReadonlySet<string> = new Set([
  'AUTH',
  'SEND_MESSAGE',
  'JOIN_ROOM',
  'LEAVE_ROOM',
  'TYPING',
  'READ_RECEIPT',
  'PING',
]);

export function serverFrame(type: string, data: unknown, ref?: string): string {
  return JSON.stringify(ref === undefined ? { type, timestamp: Date.now(), data } : { type, ref, timestamp: Date.now(), data });
}

export function errorFrame(code: string, message: string, ref?: string): string {
  return serverFrame('ERROR', { ref: ref ?? null, code, message }, ref);
}
