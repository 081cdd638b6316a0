// What an authenticated socket is to the gateway, from open to close: a
// Session in the registry, a presence lease (its user comes online with their
// first socket anywhere and goes offline with their last), the rooms its user
// belongs to tracked for delivery, where the events log ended when it came
// (its live stream starts there: room-stream.ts), and a life no longer than
// its token's.
// Closing undoes each of these.

import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Presence } from '../infra/presence.ts';
import type { AnySignal } from '../log/signals.ts';
import type { RoomReads } from '../queries/room-reads.ts';
import type { LogEnds } from './log-ends.ts';
import type { Membership } from './membership.ts';
import type { RoomViews } from './room-views.ts';
import { reaches, type Session, type SessionRegistry } from './sessions.ts';
import type { Typing } from './typing.ts';

export interface Identity {
  userId: string;
  /** The login the token belongs to (null: a token that names none). */
  sessionId: string | null;
  /** Epoch ms when the token that opened the socket expires: the socket closes then (1008). Infinity: never (a bot's token). */
  expiresAt: number;
  /** The only rooms the token may act in and hear of (a bot's scoped token); null: no limit. */
  rooms: readonly string[] | null;
}

/**
 * Sets up the session of an authenticated socket; resolves once its rooms are
 * tracked, its presence is known and so is where its live stream starts.
 */
export type Connect = (socket: WebSocket, stream: Duplex, identity: Identity) => Promise<Session>;

export function createConnections(options: {
  rooms: Pick<RoomReads, 'roomIdsOf'>;
  sessions: SessionRegistry;
  presence: Presence;
  membership: Membership;
  views: RoomViews;
  typing: Typing;
  publish: (signal: AnySignal) => void;
  partitionOf: (roomId: string) => number;
  logEnds: LogEnds;
  /** The frame-rate bucket a new socket starts with (PARLEY_WS_RATE_BURST). */
  rateBurst: number;
  logger: Logger;
}): Connect {
  const { sessions, presence, membership, views, typing, publish, logger } = options;

  /**
   * Untracks the rooms left without a local member. A prune walks every
   * tracked room, so it runs once per turn of the event loop however many
   * users' last sockets closed in it: one per close made a mass disconnect (a
   * network blip, a shutdown) quadratic — ~0.3 s of event loop for 5,000
   * sockets in 1,000 rooms, ~30 s at ten times that.
   */
  let pruneQueued = false;
  function pruneSoon() {
    if (pruneQueued) return;
    pruneQueued = true;
    setImmediate(() => {
      pruneQueued = false;
      membership.prune(sessions.isConnected);
    });
  }

  function close(session: Session, connected: Promise<void>) {
    const { userId } = session;
    for (const roomId of session.joined) views.leave(roomId, userId, session.id);
    const lastHere = sessions.remove(session);
    if (lastHere) {
      typing.stopAll(userId);
      pruneSoon();
    }
    // After its connect, so a socket that closes during set-up is never left online.
    void connected
      .then(() => presence.disconnect(userId, session.id))
      .then(
        (wentOffline) => {
          if (wentOffline) publish({ type: 'user_offline', data: { user_id: userId, at: Date.now() } });
        },
        (error: unknown) => logger.warn({ err: error }, 'presence disconnect failed'),
      );
  }

  return async (socket, stream, { userId, sessionId, expiresAt, rooms }) => {
    const session: Session = {
      id: randomUUID(),
      socket,
      stream,
      userId,
      login: sessionId,
      rooms: rooms === null ? null : new Set(rooms),
      joined: new Set(),
      cursors: new Map(),
      logEnd: [],
      held: { frames: [], bytes: 0 },
      bucket: { tokens: options.rateBurst, updatedAt: Date.now() },
      strikes: 0,
    };
    sessions.add(session);
    // Asked once registered: a message appended from here on reaches the socket live.
    const logEnd = options.logEnds.afterNow();
    // Registered before anything awaits, so a socket that closes during set-up
    // is still disconnected (after its connect), never left online.
    const connected = presence.connect(userId, session.id).then(
      (cameOnline) => {
        if (cameOnline) publish({ type: 'user_online', data: { user_id: userId, at: Date.now() } });
      },
      (error: unknown) => logger.warn({ err: error }, 'presence connect failed'),
    );
    // A bot's token never expires (a revocation closes its sockets instead).
    const expiry = Number.isFinite(expiresAt)
      ? setTimeout(() => socket.close(1008, 'token expired'), Math.max(0, expiresAt - Date.now()))
      : undefined;
    socket.once('close', () => {
      clearTimeout(expiry);
      close(session, connected);
    });
    const roomIds = (await options.rooms.roomIdsOf(userId)).filter((roomId) => reaches(session, roomId));
    await Promise.all(roomIds.map((roomId) => membership.track(roomId, options.partitionOf(roomId))));
    await connected;
    session.logEnd = await logEnd;
    return session;
  };
}
