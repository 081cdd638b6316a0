// The sockets connected to this gateway, by user, and what each one follows.

import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * What a socket has received of a room: the seqs first..last, all of them
 * (live delivery follows the log in order). A socket never gets one twice.
 * room-stream.ts keeps it.
 */
export interface RoomCursor {
  first: number;
  last: number;
  /** While a since_seq replay runs, live messages wait here to keep seq order. */
  queue: (Omit<HeldMessage, 'roomId'> & { frame: string })[] | null;
}

/**
 * A frame for a socket that waits for its AUTH_SUCCESS; a room message keeps
 * where it is in the log (room-stream.ts decides then whether it goes out).
 */
export interface HeldFrame {
  frame: string;
  message?: HeldMessage;
}

/** A live room message and where its event is in the events log. */
export interface HeldMessage {
  roomId: string;
  seq: number;
  partition: number;
  offset: number;
}

export interface Session {
  id: string;
  socket: WebSocket;
  /** The connection under `socket`: server frames are written to it directly (socket-output.ts). */
  stream: Duplex;
  userId: string;
  /** The login its token belongs to (a bot's token: the token): when it is revoked (logout, password change), the socket closes. */
  login: string | null;
  /**
   * The only rooms it hears of and may act in (a bot's token limited to some
   * rooms: `reaches`); null: every room of its user, and frames addressed to
   * the user (friend requests, invitations, presence).
   */
  rooms: ReadonlySet<string> | null;
  /** Rooms the client JOINed (actively viewing). */
  joined: Set<string>;
  /** What this socket has received, per room (joined or not). */
  cursors: Map<string, RoomCursor>;
  /**
   * Where the events log ended, per partition, when the socket connected
   * (log-ends.ts; empty when unknown): a room message before that is history,
   * which its client may already hold from another socket and gets only
   * from a JOIN_ROOM (room-stream.ts).
   */
  logEnd: readonly number[];
  /** Frames that came before AUTH_SUCCESS went out, in order, and their size; null once it has. */
  held: { frames: HeldFrame[]; bytes: number } | null;
  bucket: TokenBucket;
  strikes: number;
}

/** Whether the socket may hear of and act in the room (its token's scope). */
export const reaches = (session: Session, roomId: string): boolean => session.rooms === null || session.rooms.has(roomId);

/** Whether the socket may hear frames addressed to its user rather than to a room (a scoped token may not). */
export const hearsUserFrames = (session: Session): boolean => session.rooms === null;

export interface TokenBucket {
  tokens: number;
  updatedAt: number;
}

/** Takes one token if available; refills at `ratePerS` up to `burst`. */
export function takeToken(bucket: TokenBucket, ratePerS: number, burst: number, now: number): boolean {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * ratePerS);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

export class SessionRegistry {
  readonly #byUser = new Map<string, Set<Session>>();
  #size = 0;

  add(session: Session): void {
    let sessions = this.#byUser.get(session.userId);
    if (sessions === undefined) this.#byUser.set(session.userId, (sessions = new Set()));
    if (!sessions.has(session)) this.#size++;
    sessions.add(session);
  }

  /** Removes a session; returns true when it was the user's last one here. */
  remove(session: Session): boolean {
    const sessions = this.#byUser.get(session.userId);
    if (sessions === undefined) return false;
    if (sessions.delete(session)) this.#size--;
    if (sessions.size > 0) return false;
    this.#byUser.delete(session.userId);
    return true;
  }

  of(userId: string): ReadonlySet<Session> | undefined {
    return this.#byUser.get(userId);
  }

  /** Every socket here, of every user. */
  get size(): number {
    return this.#size;
  }

  count(userId: string): number {
    return this.#byUser.get(userId)?.size ?? 0;
  }

  isConnected = (userId: string): boolean => this.#byUser.has(userId);

  all(): IterableIterator<Set<Session>> {
    return this.#byUser.values();
  }

  /** The sockets opened with a token of one of these logins. */
  ofLogins(logins: ReadonlySet<string>): Session[] {
    const found: Session[] = [];
    for (const sessions of this.#byUser.values()) {
      for (const session of sessions) if (session.login !== null && logins.has(session.login)) found.push(session);
    }
    return found;
  }
}
