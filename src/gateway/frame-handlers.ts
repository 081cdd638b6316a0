// What the gateway does with each client frame once the socket is
// authenticated. Commands go through the same chat service as REST; reads go
// to the read model; views and typing go to the signals log.

import type { Kysely } from 'kysely';
import type { ChatService } from '../commands/chat-service.ts';
import type { Config } from '../config.ts';
import { readHistory } from '../queries/messages-queries.ts';
import { findRoom, isMember } from '../queries/rooms-queries.ts';
import type { Database } from '../store/schema.ts';
import { deliverInOrder } from './fanout.ts';
import { errorFrame, serverFrame, type ClientFrame } from './frames.ts';
import type { AcceptedMessages } from './accepted-messages.ts';
import type { Membership } from './membership.ts';
import type { RoomViews } from './room-views.ts';
import type { Session } from './sessions.ts';
import type { Typing } from './typing.ts';

export interface FrameHandlerDeps {
  config: Config;
  db: Kysely<Database>;
  chat: ChatService;
  membership: Membership;
  views: RoomViews;
  typing: Typing;
  partitionOf: (roomId: string) => number;
  /** See gateway.ts: the read model holds all this gateway streamed on the partition. */
  readModelCaughtUp: (partition: number) => Promise<boolean>;
  accepted: AcceptedMessages;
  send: (session: Session, frame: string) => void;
}

export function createFrameHandler(deps: FrameHandlerDeps) {
  const { config, db, chat, membership, views, typing, send } = deps;

  const member = (roomId: string, userId: string) => isMember(db, roomId, userId);

  async function joinRoom(session: Session, roomId: string, sinceSeq: number | undefined, ref?: string) {
    if (!(await member(roomId, session.userId))) {
      send(session, errorFrame('room_not_found', 'room not found', ref));
      return;
    }
    await membership.track(roomId, deps.partitionOf(roomId));
    if (sinceSeq === undefined) {
      send(session, serverFrame('JOIN_SUCCESS', { chat_room_id: roomId, last_seq: await lastSeqOf(session, roomId) }, ref));
    } else if (!(await replay(session, roomId, sinceSeq, ref))) {
      return;
    }
    const rejoin = session.joined.has(roomId);
    session.joined.add(roomId);
    if (!rejoin) views.join(roomId, session.userId, session.id);
    const users = new Set([...views.activeIn(roomId), session.userId]);
    send(session, serverFrame('USERS', { chat_room_id: roomId, users: [...users] }));
  }

  /**
   * The room's newest seq: the read model's, or what this socket has already
   * been streamed when that is newer (the read model may lag the live stream).
   */
  async function lastSeqOf(session: Session, roomId: string): Promise<number> {
    const room = await findRoom(db, roomId);
    // A cursor that holds nothing yet (made for a replay) says nothing about the room.
    const cursor = session.cursors.get(roomId);
    const streamed = cursor !== undefined && cursor.last >= cursor.first ? cursor.last : 0;
    return Math.max(room?.last_seq ?? 0, streamed);
  }

  /**
   * Sends what the client lacks after `sinceSeq`, skipping what this socket
   * already received; live messages arriving meanwhile wait, then follow.
   * Resolves false, having answered ERROR read_model_lagging, when it cannot
   * replay without a gap yet (the client retries the join).
   */
  async function replay(session: Session, roomId: string, sinceSeq: number, ref?: string): Promise<boolean> {
    let cursor = session.cursors.get(roomId);
    if (cursor === undefined) session.cursors.set(roomId, (cursor = { first: sinceSeq + 1, last: sinceSeq, queue: null }));
    cursor.queue = [];
    try {
      // Live messages from here on wait in the queue; the ones streamed before
      // must be in the history read below, or the socket never gets them. The
      // read model can lag far behind (its projector's instance died and the
      // partition waits for the session timeout): then no history is sent,
      // since it would leave a gap, and the client asks again.
      if (!(await deps.readModelCaughtUp(deps.partitionOf(roomId)))) {
        send(session, errorFrame('read_model_lagging', 'the read model has not caught up yet; join again', ref));
        return false;
      }
      // Read once caught up, so last_seq is not older than the history sent.
      const lastSeq = await lastSeqOf(session, roomId);
      const missing = await readHistory(db, roomId, { after_seq: sinceSeq, limit: config.PARLEY_REPLAY_MAX });
      send(session, serverFrame('JOIN_SUCCESS', { chat_room_id: roomId, last_seq: Math.max(lastSeq, missing.at(-1)?.seq ?? 0) }, ref));
      for (const message of missing) {
        if (message.seq >= cursor.first && message.seq <= cursor.last) continue;
        send(session, serverFrame('NEW_MESSAGE', message));
      }
      const replayedUpTo = missing.at(-1)?.seq ?? sinceSeq;
      // The socket now holds everything from sinceSeq+1 on, unless the replay
      // was cut short by its limit (the client pages the rest over REST).
      if (missing.length < config.PARLEY_REPLAY_MAX || replayedUpTo >= cursor.first - 1) {
        cursor.first = Math.min(cursor.first, sinceSeq + 1);
      }
      cursor.last = Math.max(cursor.last, replayedUpTo);
      return true;
    } finally {
      const queued = cursor.queue ?? [];
      cursor.queue = null;
      for (const live of queued) deliverInOrder(session, roomId, live.seq, live.frame, send);
    }
  }

  return async function handle(session: Session, frame: ClientFrame): Promise<void> {
    const ref = frame.ref;
    switch (frame.type) {
      case 'PING':
        send(session, serverFrame('PONG', {}, ref));
        return;
      case 'AUTH':
        send(session, errorFrame('already_authenticated', 'this socket is already authenticated', ref));
        return;
      case 'SEND_MESSAGE': {
        const { chat_room_id, ...input } = frame.data;
        const posted = await chat.postMessage(session.userId, chat_room_id, input);
        const streamed =
          posted.position === null
            ? undefined
            : await deps.accepted.messageOf(posted.commandId, posted.position, config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS);
        const message = streamed ?? (await chat.postedMessage(session.userId, chat_room_id, input.client_msg_id, posted));
        send(session, serverFrame('ACK', { ref: ref ?? null, message }, ref));
        return;
      }
      case 'JOIN_ROOM':
        return joinRoom(session, frame.data.chat_room_id, frame.data.since_seq, ref);
      case 'LEAVE_ROOM': {
        const roomId = frame.data.chat_room_id;
        if (session.joined.delete(roomId)) views.leave(roomId, session.userId, session.id);
        send(session, serverFrame('LEAVE_SUCCESS', { chat_room_id: roomId }, ref));
        return;
      }
      case 'TYPING': {
        const { chat_room_id, is_typing } = frame.data;
        if (!(await member(chat_room_id, session.userId))) {
          send(session, errorFrame('room_not_found', 'room not found', ref));
          return;
        }
        typing.set(chat_room_id, session.userId, is_typing);
        return;
      }
      case 'READ_RECEIPT': {
        const { chat_room_id, seq } = frame.data;
        const lastRead = await chat.markRead(session.userId, chat_room_id, seq);
        send(session, serverFrame('ACK', { ref: ref ?? null, chat_room_id, last_read_seq: lastRead }, ref));
        return;
      }
    }
  };
}
