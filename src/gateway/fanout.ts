// Turns events from the log into frames for this gateway's sockets. Each frame
// is serialised once and written to every socket that should see it; the
// gateway holds nothing another instance needs.

import type { AnyEvent } from '../domain/aggregates.ts';
import type { MessageSent } from '../domain/room.ts';
import type { MessageView } from '../queries/wire.ts';
import { serverFrame } from './frames.ts';
import type { Membership } from './membership.ts';
import type { Session, SessionRegistry } from './sessions.ts';

export function messageFromEvent(data: MessageSent['data']): MessageView {
  return {
    id: data.message_id,
    room_id: data.room_id,
    seq: data.seq,
    sender_id: data.sender_id,
    client_msg_id: data.client_msg_id,
    content: data.content,
    mime_type: data.mime_type,
    reply_to: data.reply_to,
    attachments: data.attachments,
    mentions: data.mentions,
    reactions: {},
    created_at: data.created_at,
    edited_at: null,
    deleted: false,
  };
}

export interface Fanout {
  /** Routes one event; `partition` is where it came from (for membership loads). */
  deliver(event: AnyEvent, partition: number): void;
}

export function createFanout(options: {
  sessions: SessionRegistry;
  membership: Membership;
  send: (session: Session, frame: string) => void;
}): Fanout {
  const { sessions, membership, send } = options;

  function toMembers(roomId: string, each: (session: Session) => void) {
    membership.withMembers(roomId, (members) => {
      for (const userId of members) {
        const userSessions = sessions.of(userId);
        if (userSessions !== undefined) for (const session of userSessions) each(session);
      }
    });
  }

  return {
    deliver(event, partition) {
      switch (event.type) {
        case 'message_sent': {
          const { room_id, seq } = event.data;
          const frame = serverFrame('NEW_MESSAGE', messageFromEvent(event.data));
          toMembers(room_id, (session) => deliverInOrder(session, room_id, seq, frame, send));
          return;
        }
        case 'user_joined_room': {
          const { room_id, user_id } = event.data;
          membership.apply(room_id, { kind: 'join', userId: user_id });
          // A connected user who joins a room we do not track yet: start now.
          if (sessions.isConnected(user_id)) void membership.track(room_id, partition).catch(() => undefined);
          return;
        }
        case 'user_left_room': {
          const { room_id, user_id } = event.data;
          membership.apply(room_id, { kind: 'leave', userId: user_id });
          for (const session of sessions.of(user_id) ?? []) session.joined.delete(room_id);
          return;
        }
        default:
          return;
      }
    },
  };
}

/**
 * Sends a room message to a socket at most once and in seq order: while a
 * since_seq replay is running on the socket, live messages wait in its queue.
 */
export function deliverInOrder(
  session: Session,
  roomId: string,
  seq: number,
  frame: string,
  send: (session: Session, frame: string) => void,
): void {
  const cursor = session.joined.get(roomId);
  if (cursor === undefined) {
    send(session, frame);
    return;
  }
  if (cursor.queue !== null) {
    cursor.queue.push({ seq, frame });
    return;
  }
  if (seq <= cursor.lastSeq) return;
  cursor.lastSeq = seq;
  send(session, frame);
}
