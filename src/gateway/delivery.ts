// Writes server frames to this gateway's sockets: to one socket, to every
// socket of some users, or to every socket of a room's members connected here.
// Everything the gateway sends goes through `send`. A socket whose
// AUTH_SUCCESS has not gone out yet has its frames held, in order, until it
// has (room-stream.ts `open`).

import { noMetrics, type GatewayMetrics } from '../infra/metrics.ts';
import { createFrameWriter, textFrame } from './socket-output.ts';
import type { Membership } from './membership.ts';
import { hearsUserFrames, reaches, type HeldFrame, type Session, type SessionRegistry } from './sessions.ts';

// Functions, not methods: they are handed around as callbacks.
export interface Delivery {
  /** One frame to one socket (dropped when the socket is closed; a socket too slow to keep up is closed). */
  send: (session: Session, frame: string) => void;
  /** Keeps a frame for a socket until its AUTH_SUCCESS has gone out (the same size limit as a slow socket's). */
  hold: (session: Session, held: HeldFrame) => void;
  /** Every socket of each user that `only` accepts (all by default), but those whose token is limited to some rooms. */
  toUsers: (userIds: Iterable<string>, frame: string, only?: (session: Session) => boolean) => void;
  /** Every socket of the room's members here that `only` accepts (all by default). */
  toRoomMembers: (roomId: string, frame: string, only?: (session: Session) => boolean) => void;
  /** Calls `visit` for every socket of the room's members here, in the room's delivery order. */
  eachRoomSession: (roomId: string, visit: (session: Session) => void) => void;
}

export function createDelivery(options: {
  sessions: SessionRegistry;
  membership: Membership;
  /** Bytes buffered for a socket before it counts as too slow. */
  maxBufferedBytes: number;
  metrics?: Pick<GatewayMetrics, 'delivered' | 'droppedSlowSocket'>;
}): Delivery {
  const { sessions, membership, metrics = noMetrics.gateway } = options;
  // A fan-out hands the same frame to many sockets in a row: frame it once
  // and write those bytes to every socket (socket-output.ts).
  const writeFrame = createFrameWriter();
  let lastFrame = '';
  let lastBytes: Buffer = Buffer.alloc(0);

  /** A socket that cannot keep up is dropped rather than buffered without bound; its client resumes with since_seq. */
  const dropSlow = (session: Session) => {
    session.socket.close(1013, 'too slow');
    metrics.droppedSlowSocket();
  };

  const hold = (session: Session, frame: HeldFrame) => {
    const held = session.held;
    if (held === null || session.socket.readyState !== session.socket.OPEN) return;
    held.frames.push(frame);
    held.bytes += frame.frame.length;
    if (held.bytes > options.maxBufferedBytes) dropSlow(session);
  };

  const send = (session: Session, frame: string) => {
    const socket = session.socket;
    if (socket.readyState !== socket.OPEN) return;
    if (session.held !== null) {
      hold(session, { frame });
      return;
    }
    if (socket.bufferedAmount > options.maxBufferedBytes) {
      dropSlow(session);
      return;
    }
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastBytes = textFrame(frame);
    }
    writeFrame(session.stream, lastBytes);
    metrics.delivered();
  };

  // A socket whose token is limited to some rooms hears only of those (sessions.ts `reaches`).
  const eachRoomSession = (roomId: string, visit: (session: Session) => void) =>
    membership.withMembers(roomId, (members) => {
      for (const userId of members) for (const session of sessions.of(userId) ?? []) if (reaches(session, roomId)) visit(session);
    });

  return {
    send,
    hold,
    eachRoomSession,
    toUsers(userIds, frame, only) {
      for (const userId of userIds)
        for (const session of sessions.of(userId) ?? [])
          if (hearsUserFrames(session) && (only === undefined || only(session))) send(session, frame);
    },
    toRoomMembers(roomId, frame, only) {
      eachRoomSession(roomId, (session) => {
        if (only === undefined || only(session)) send(session, frame);
      });
    },
  };
}
