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
//
// Live starts where the events log ended when the socket connected (its
// `logEnd`, log-ends.ts), not where this gateway's stream happens to be: a
// gateway that is behind (just started, or slowed by its network) would
// otherwise stream a reconnecting client, before its JOIN_ROOM, messages it
// already got on its previous socket. Those are history: a room the client
// has not joined yet does not hear them live, and its JOIN_ROOM replays what
// it lacks (since_seq) or counts them in last_seq. Frames that come before
// AUTH_SUCCESS wait for it, in order (`held`); room messages among them are
// judged when they go out, once `logEnd` is known.
//
// One order the socket cannot keep: a message that goes out live between
// AUTH_SUCCESS and the room's JOIN_ROOM precedes the replay of the older ones
// the client missed. Clients order a room's messages by seq.

import type { Kysely } from 'kysely';
import { readHistory } from '../queries/messages-queries.ts';
import { findRoom } from '../queries/rooms-queries.ts';
import type { Database } from '../store/schema.ts';
import { errorFrame, serverFrame } from './frames.ts';
import type { HeldFrame, RoomCursor, Session } from './sessions.ts';

/** Where an event is in the events log. */
export interface LogPlace {
  partition: number;
  offset: number;
}

export interface RoomStream {
  /**
   * A live room message for a socket: sent now, queued while a resume runs or
   * until AUTH_SUCCESS, or left out as history (see above); never twice.
   */
  live(session: Session, roomId: string, seq: number, frame: string, place: LogPlace): void;
  /** Sends a connected socket its first frame (AUTH_SUCCESS), then the frames held for it. */
  open(session: Session, firstFrame: string): void;
  /**
   * Answers a JOIN_ROOM: JOIN_SUCCESS with the room's `last_seq`, and with
   * `sinceSeq` what the client lacks after it (at most `replayMax`), then
   * live. Resolves false, having answered ERROR read_model_lagging, when the
   * read model cannot serve the history without a gap yet (the client joins again).
   */
  join(session: Session, roomId: string, sinceSeq: number | undefined, ref?: string): Promise<boolean>;
  /** The socket stops receiving the room (its user left it). */
  forget(session: Session, roomId: string): void;
}

export function createRoomStream(options: {
  db: Kysely<Database>;
  send: (session: Session, frame: string) => void;
  /** Keeps a frame until the socket's AUTH_SUCCESS has gone out. */
  hold: (session: Session, held: HeldFrame) => void;
  /** Messages replayed after since_seq before the client must page over REST. */
  replayMax: number;
  partitionOf: (roomId: string) => number;
  /**
   * The read model holds every event this gateway streamed on the partition,
   * and those before `atLeast` (false: gave up waiting).
   */
  readModelCaughtUp: (partition: number, atLeast?: number) => Promise<boolean>;
}): RoomStream {
  const { db, send, replayMax } = options;

  function live(session: Session, roomId: string, seq: number, frame: string, place: LogPlace): void {
    if (session.held !== null) {
      options.hold(session, { frame, message: { roomId, seq, partition: place.partition, offset: place.offset } });
      return;
    }
    let cursor = session.cursors.get(roomId);
    if (cursor === undefined) {
      // The client has not said where it stands in the room: a message from
      // before it connected may be one it already has.
      if (place.offset < (session.logEnd[place.partition] ?? 0)) return;
      session.cursors.set(roomId, (cursor = { first: seq, last: seq - 1, queue: null }));
    }
    if (cursor.queue !== null) {
      cursor.queue.push({ seq, frame, partition: place.partition, offset: place.offset });
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
    // sender already has the ACK of), or one appended before the socket
    // connected, reaches the socket only through last_seq: the read model must
    // hold it before it is asked. Waited for (bounded) as a resume does; on
    // timeout the best seq known still goes out.
    const partition = options.partitionOf(roomId);
    await options.readModelCaughtUp(partition, session.logEnd[partition]);
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
    const queue: NonNullable<RoomCursor['queue']> = [];
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
      for (const message of queue) live(session, roomId, message.seq, message.frame, message);
    }
  }

  return {
    live,
    open(session, firstFrame) {
      const held = session.held?.frames ?? [];
      session.held = null;
      send(session, firstFrame);
      for (const { frame, message } of held) {
        if (message === undefined) send(session, frame);
        else live(session, message.roomId, message.seq, frame, message);
      }
    },
    async join(session, roomId, sinceSeq, ref) {
      if (sinceSeq !== undefined) return resume(session, roomId, sinceSeq, ref);
      const lastSeq = await lastSeqOf(session, roomId);
      // The client pages up to last_seq over REST; live goes on from there.
      if (!session.cursors.has(roomId)) session.cursors.set(roomId, { first: lastSeq + 1, last: lastSeq, queue: null });
      send(session, serverFrame('JOIN_SUCCESS', { chat_room_id: roomId, last_seq: lastSeq }, ref));
      return true;
    },
    forget(session, roomId) {
      session.joined.delete(roomId);
      session.cursors.delete(roomId);
    },
  };
}
