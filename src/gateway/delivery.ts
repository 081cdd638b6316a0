// Writes server frames to this gateway's sockets: to one socket, to every
// socket of some users, or to every socket of a room's members connected here.
// Everything the gateway sends goes through `send`.

import { noMetrics, type GatewayMetrics } from '../infra/metrics.ts';
import { createFrameWriter, textFrame } from './socket-output.ts';
import type { Membership } from './membership.ts';
import type { Session, SessionRegistry } from './sessions.ts';

// Functions, not methods: they are handed around as callbacks.
export interface Delivery {
  /** One frame to one socket (dropped when the socket is closed; a socket too slow to keep up is closed). */
  send: (session: Session, frame: string) => void;
  /** Every socket of each user. */
  toUsers: (userIds: Iterable<string>, frame: string) => void;
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

  const send = (session: Session, frame: string) => {
    const socket = session.socket;
    if (socket.readyState !== socket.OPEN) return;
    // A socket that cannot keep up is dropped rather than buffered without
    // bound; its client resumes with since_seq.
    if (socket.bufferedAmount > options.maxBufferedBytes) {
      socket.close(1013, 'too slow');
      metrics.droppedSlowSocket();
      return;
    }
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastBytes = textFrame(frame);
    }
    writeFrame(session.stream, lastBytes);
    metrics.delivered();
  };

  const eachRoomSession = (roomId: string, visit: (session: Session) => void) =>
    membership.withMembers(roomId, (members) => {
      for (const userId of members) for (const session of sessions.of(userId) ?? []) visit(session);
    });

  return {
    send,
    eachRoomSession,
    toUsers(userIds, frame) {
      for (const userId of userIds) for (const session of sessions.of(userId) ?? []) send(session, frame);
    },
    toRoomMembers(roomId, frame, only) {
      eachRoomSession(roomId, (session) => {
        if (only === undefined || only(session)) send(session, frame);
      });
    },
  };
}
