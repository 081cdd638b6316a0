// What the gateway does with each frame of an authenticated socket: the
// socket's frame rate is checked, the frame parsed (frames.ts), then handled —
// commands through the same chat service as REST, reads from the read model,
// views and typing onto the signals log. Whatever a handler throws becomes an
// ERROR frame with the code REST would answer (http/errors.ts).

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RawData } from 'ws';
import type { ChatService } from '../commands/chat-service.ts';
import type { Config } from '../config.ts';
import { assertNever } from '../domain/decider.ts';
import { toApiError } from '../http/errors.ts';
import { roomReads, type RoomReads } from '../queries/room-reads.ts';
import type { Database } from '../store/schema.ts';
import type { SyncStream } from './sync-stream.ts';
import type { AcceptedMessages } from './accepted-messages.ts';
import { errorFrame, parseFrame, serverFrame, type ClientFrame, type ClientFrameSchemas } from './frames.ts';
import type { Membership } from './membership.ts';
import { createRoomOrder } from './room-order.ts';
import type { RoomStream } from './room-stream.ts';
import type { RoomViews } from './room-views.ts';
import { hearsUserFrames, reaches, takeToken, type Session } from './sessions.ts';
import type { Typing } from './typing.ts';

type FrameLimits = Pick<
  Config,
  'PARLEY_WS_RATE_PER_S' | 'PARLEY_WS_RATE_BURST' | 'PARLEY_WS_RATE_STRIKES' | 'PARLEY_READ_YOUR_WRITES_TIMEOUT_MS'
>;

export interface FrameHandlerDeps {
  config: FrameLimits;
  schemas: ClientFrameSchemas;
  db: Kysely<Database>;
  /** Membership, cached when the server has a read cache; without: from `db`. */
  rooms?: RoomReads;
  chat: ChatService;
  membership: Membership;
  roomStream: RoomStream;
  views: RoomViews;
  typing: Typing;
  partitionOf: (roomId: string) => number;
  accepted: AcceptedMessages;
  sync: SyncStream;
  send: (session: Session, frame: string) => void;
  logger: Logger;
}

/** Returns the handler of a socket's incoming frames. */
export function createFrameHandler(deps: FrameHandlerDeps): (session: Session, raw: RawData, isBinary: boolean) => void {
  const { config, db, chat, membership, roomStream, views, typing, send } = deps;
  const rooms = deps.rooms ?? roomReads(db);
  const member = (roomId: string, userId: string) => rooms.isMember(roomId, userId);
  const inRoomOrder = createRoomOrder();

  async function joinRoom(session: Session, roomId: string, sinceSeq: number | undefined, ref?: string) {
    if (!(await member(roomId, session.userId))) {
      send(session, errorFrame('room_not_found', 'room not found', ref));
      return;
    }
    await membership.track(roomId, deps.partitionOf(roomId));
    if (!(await roomStream.join(session, roomId, sinceSeq, ref))) return;
    const rejoin = session.joined.has(roomId);
    session.joined.add(roomId);
    if (!rejoin) await views.join(roomId, session.userId, session.id);
    const users = new Set([...views.activeIn(roomId), session.userId]);
    send(session, serverFrame('USERS', { chat_room_id: roomId, users: [...users] }));
  }

  async function sendMessage(session: Session, frame: Extract<ClientFrame, { type: 'SEND_MESSAGE' }>) {
    const { chat_room_id, ...input } = frame.data;
    const posted = await chat.postMessage(session.userId, chat_room_id, input);
    // The ACK carries the message as this gateway's event stream has it; the
    // read model answers only when the stream did not bring it in time.
    const streamed =
      posted.position === null
        ? undefined
        : await deps.accepted.messageOf(posted.commandId, posted.position, config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS);
    const message = streamed ?? (await chat.postedMessage(session.userId, chat_room_id, input.client_msg_id, posted));
    send(session, serverFrame('ACK', { ref: frame.ref ?? null, message }, frame.ref));
  }

  async function handle(session: Session, frame: ClientFrame): Promise<void> {
    const ref = frame.ref;
    if (frame.sender_id !== undefined && frame.sender_id !== session.userId) {
      send(session, errorFrame('sender_mismatch', "sender_id is not this socket's user", ref));
      return;
    }
    switch (frame.type) {
      case 'PING':
        send(session, serverFrame('PONG', {}, ref));
        return;
      case 'AUTH':
        send(session, errorFrame('already_authenticated', 'this socket is already authenticated', ref));
        return;
      case 'SEND_MESSAGE':
        return sendMessage(session, frame);
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
      case 'SYNC':
        // The feed spans every room and the user's own changes: not for a token limited to some rooms.
        if (!hearsUserFrames(session)) {
          send(session, errorFrame('forbidden', 'this token is limited to some rooms; the sync feed is outside them', ref));
          return;
        }
        return deps.sync.start(session, frame.data.since, ref);
      case 'DELIVERED': {
        const { chat_room_id, seq } = frame.data;
        const lastDelivered = await chat.markDelivered(session.userId, chat_room_id, seq);
        send(session, serverFrame('ACK', { ref: ref ?? null, chat_room_id, last_delivered_seq: lastDelivered }, ref));
        return;
      }
      default:
        return assertNever(frame);
    }
  }

  return (session, raw, isBinary) => {
    if (!takeToken(session.bucket, config.PARLEY_WS_RATE_PER_S, config.PARLEY_WS_RATE_BURST, Date.now())) {
      session.strikes++;
      if (session.strikes >= config.PARLEY_WS_RATE_STRIKES) session.socket.close(1008, 'rate limit');
      else send(session, errorFrame('rate_limited', 'too many frames; slow down'));
      return;
    }
    const parsed = parseFrame(deps.schemas, raw, isBinary);
    if ('error' in parsed) {
      const { code, message, details } = parsed.error;
      send(session, errorFrame(code, message, parsed.ref, details));
      return;
    }
    const { frame } = parsed;
    const aboutRoom = frame.data !== undefined && 'chat_room_id' in frame.data ? frame.data.chat_room_id : undefined;
    if (aboutRoom !== undefined && !reaches(session, aboutRoom)) {
      send(session, errorFrame('forbidden', 'this token is limited to some rooms; this one is outside them', frame.ref));
      return;
    }
    const handled =
      aboutRoom === undefined ? handle(session, frame) : inRoomOrder(session, aboutRoom, () => handle(session, frame));
    handled.catch((error: unknown) => {
      const clientError = toApiError(error);
      if (clientError.status >= 500) deps.logger.error({ err: error, type: frame.type }, 'frame failed');
      send(session, errorFrame(clientError.code, clientError.message, frame.ref, clientError.details));
    });
  };
}
