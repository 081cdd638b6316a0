// The message the baselines broadcast: the same fields, order and sizes as
// Parley's NEW_MESSAGE (src/gateway/fanout.ts messageFromEvent), so every
// server writes frames of the same shape and about the same length.

import { randomUUID } from 'node:crypto';

export interface Posted {
  chat_room_id: string;
  client_msg_id: string;
  content: string;
}

export function messageView(posted: Posted, seq: number, senderId: string) {
  return {
    id: randomUUID(),
    room_id: posted.chat_room_id,
    seq,
    sender_id: senderId,
    client_msg_id: posted.client_msg_id,
    content: posted.content,
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
    mentions: [],
    reactions: {},
    created_at: new Date().toISOString(),
    edited_at: null,
    deleted: false,
  };
}

/** Room ids and the user id a baseline socket claims, from its URL (`?rooms=a,b&user=u`). */
export function socketIdentity(url: string | undefined): { rooms: string[]; userId: string } {
  const params = new URL(url ?? '/', 'http://localhost').searchParams;
  return {
    rooms: (params.get('rooms') ?? '').split(',').filter(Boolean),
    userId: params.get('user') ?? '00000000-0000-4000-8000-000000000000',
  };
}

/** Tells the parent where we listen (the harness reads this line). */
export function announce(port: number): void {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`);
}
