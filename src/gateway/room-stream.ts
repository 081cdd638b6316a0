// A room's messages on one socket: each seq at most once and in order, from
// two sources — live NEW_MESSAGEs from the events log, and the history a
// JOIN_ROOM with `since_seq` asks for. A resume runs in three phases:
//
//   backfill  live messages for the room wait in the socket's queue while the
//             history after since_seq is read from the read model and sent;
//   cutover   the queue drains, skipping every seq the backfill already sent;
//   live      each new message goes out as it arrives.
//
// What a socket holds of a room is one range of seqs (a RoomCursor in
// sessions.ts), so "already sent" is a range check, not a set.

import type { Kysely } from 'kysely';
import { readHistory } from '../queries/messages-queries.ts';
import { findRoom } from '../queries/rooms-queries.ts';
import type { Database } from '../store/schema.ts';
import { errorFrame, serverFrame } from './frames.ts';
import type { Session } from './sessions.ts';

export interface RoomStream {
  /** A live room message for a socket: sent now, or queued while a resume runs; never twice. */
  live(session: Session, roomId: string, seq: number, frame: string): void;
  /**
   * Answers a JOIN_ROOM with since_seq: JOIN_SUCCESS, then what the client
   * lacks after `sinceSeq` (at most `replayMax`), then live. Resolves false,
   * having answered ERROR read_model_lagging, when the read model cannot
   * serve the history without a gap yet (the client joins again).
   */
  resume(session: Session, roomId: string, sinceSeq: number, ref?: string): Promise<boolean>;
  /** The room's newest seq as the socket should hear it (JOIN_SUCCESS's last_seq). */
  lastSeqOf(session: Session, roomId: string): Promise<number>;
  /** The socket stops receiving the room (its user left it). */
  forget(session: Session, roomId: string): void;
}

export function createRoomStream(options: {
  db: Kysely<Database>;
  send: (session: Session, frame: string) => void;
  /** Messages replayed after since_seq before the client must page over REST. */
  replayMax: number;
  partitionOf: (roomId: string) => number;
  /** The read model holds every event this gateway streamed on the partition (false: gave up waiting). */
  readModelCaughtUp: (partition: number) => Promise<boolean>;
}): RoomStream {
  const { db, send, replayMax } = options;

  function live(session: Session, roomId: string, seq: number, frame: string): void {
    let cursor = session.cursors.get(roomId);
    if (cursor === undefined) session.cursors.set(roomId, (cursor = { first: seq, last: seq - 1, queue: null }));
    if (cursor.queue !== null) {
      cursor.queue.push({ seq, frame });
      return;
    }
    if (seq <= cursor.last) return;
    // A cursor that holds nothing yet (made by a resume that has not
    // delivered) starts its held range here, not at the seq it was made for.
    if (cursor.last < cursor.first) cursor.first = seq;
    cursor.last = seq;
    send(session, frame);
  }

  async function lastSeqOf(session: Session, roomId: string): Promise<number> {
    // A message this gateway streamed before the socket joined (one its
    // sender already has the ACK of) reaches the socket only through
    // last_seq: the read model must hold it before it is asked. Waited for
    // (bounded) as a resume does; on timeout the best seq known still goes out.
    await options.readModelCaughtUp(options.partitionOf(roomId));
    const room = await findRoom(db, roomId);
    // The read model may lag the live stream: what this socket was already
    // streamed counts too. A cursor that holds nothing yet says nothing.
    const cursor = session.cursors.get(roomId);
    const streamed = cursor !== undefined && cursor.last >= cursor.first ? cursor.last : 0;
    return Math.max(room?.last_seq ?? 0, streamed);
  }

  async function resume(session: Session, roomId: string, sinceSeq: number, ref?: string): Promise<boolean> {
    let cursor = session.cursors.get(roomId);
    if (cursor === undefined) session.cursors.set(roomId, (cursor = { first: sinceSeq + 1, last: sinceSeq, queue: null }));
    // Backfill: live messages from here on wait in the queue.
    const queue: { seq: number; frame: string }[] = [];
    cursor.queue = queue;
    try {
      // The ones streamed before must be in the history read below, or the
      // socket never gets them. The read model can lag far behind (its
      // projector's instance died and the partition waits for the session
      // timeout): then no history is sent, since it would leave a gap, and
      // the client asks again.
      if (!(await options.readModelCaughtUp(options.partitionOf(roomId)))) {
        send(session, errorFrame('read_model_lagging', 'the read model has not caught up yet; join again', ref));
        return false;
      }
      // Read once caught up, so last_seq is not older than the history sent.
      const lastSeq = await lastSeqOf(session, roomId);
      const missing = await readHistory(db, roomId, { after_seq: sinceSeq, limit: replayMax });
      const newest = missing.at(-1)?.seq;
      send(session, serverFrame('JOIN_SUCCESS', { chat_room_id: roomId, last_seq: Math.max(lastSeq, newest ?? 0) }, ref));
      for (const message of missing) {
        if (message.seq >= cursor.first && message.seq <= cursor.last) continue;
        send(session, serverFrame('NEW_MESSAGE', message));
      }
      const replayedUpTo = newest ?? sinceSeq;
      // The socket now holds everything from sinceSeq+1 on, unless the replay
      // was cut short by its limit (the client pages the rest over REST).
      if (missing.length < replayMax || replayedUpTo >= cursor.first - 1) {
        cursor.first = Math.min(cursor.first, sinceSeq + 1);
      }
      cursor.last = Math.max(cursor.last, replayedUpTo);
      return true;
    } finally {
      // Cutover: what arrived meanwhile follows, minus what the backfill sent.
      // (A second resume of the room that started meanwhile owns the queue now;
      // these then wait in its queue.)
      if (cursor.queue === queue) cursor.queue = null;
      for (const message of queue) live(session, roomId, message.seq, message.frame);
    }
  }

  return {
    live,
    resume,
    lastSeqOf,
    forget(session, roomId) {
      session.joined.delete(roomId);
      session.cursors.delete(roomId);
    },
  };
}
