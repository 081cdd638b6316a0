// The SYNC frame: a socket catches up from a sync token and then stays on
// the sync feed (queries/sync-feed.ts) instead of the live frames, so what it
// hears is exactly GET /api/v1/sync's answers, pushed — one cursor, with no
// gap and no duplicate.
//
// A synced socket gets every change of the feed in SYNC frames
// `{next_since, events, has_more}`; the live frames those changes stand for
// (NEW_MESSAGE of every room, joined or not, MESSAGE_UPDATED, READ_RECEIPT …)
// are no longer written to it (`liveFramesExcept`). What is not in the feed
// (TYPING, USER_JOINED/LEFT, presence, ACKs) stays live.
//
// When: each event the gateway reads wakes the synced sockets of the users
// it concerns (its feed rows' audience: a room's members here, or a user),
// which read the feed once the chat model has applied that event. A socket
// that syncs also reads once more after the model reaches where the gateway
// stood when it asked, so an event the gateway read just before is not
// missed. One read in flight per socket; wakes meanwhile fold into one more.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AnyEvent } from '../domain/aggregates.ts';
import type { Position } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import { syncChangesOf } from '../projections/sync-changes.ts';
import { readSyncFeed, type ModelProgress } from '../queries/sync-feed.ts';
import { decodeSyncToken, encodeSyncToken, type SyncPosition } from '../queries/sync-token.ts';
import type { Database } from '../store/schema.ts';
import type { Delivery } from './delivery.ts';
import { errorFrame, serverFrame } from './frames.ts';
import type { Membership } from './membership.ts';
import type { Session, SessionRegistry } from './sessions.ts';

export interface SyncStream {
  /** Handles a SYNC frame: from `since` (a token), or from now when absent. */
  start(session: Session, since: string | undefined, ref?: string): Promise<void>;
  isSynced(session: Session): boolean;
  /** An event the gateway read (every one, in each partition's order). */
  notify(event: AnyEvent, position: Position): void;
}

interface SyncState {
  cursor: SyncPosition;
  /** The read in flight, if any. */
  reading: Promise<void> | null;
  again: boolean;
  /** Whether the SYNC frame has had its first answer (always sent, events or not, with its ref). */
  answered: boolean;
  ref: string | undefined;
}

export function createSyncStream(options: {
  db: Kysely<Database>;
  sessions: SessionRegistry;
  membership: Membership;
  send: (session: Session, frame: string) => void;
  model: ModelProgress;
  pageSize: number;
  /** How long a wake waits for the chat model to apply its event. */
  catchUpTimeoutMs: number;
  logger: Logger;
}): SyncStream {
  const { db, sessions, membership, send, model, logger } = options;
  const synced = new WeakMap<Session, SyncState>();
  /** Per partition, the next offset this gateway has read. */
  const read: number[] = Array.from({ length: model.partitions }, () => 0);

  const isOpen = (session: Session) => session.socket.readyState === session.socket.OPEN;

  const isCurrent = (session: Session, state: SyncState) => isOpen(session) && synced.get(session) === state;

  /**
   * Reads the feed from the socket's cursor to the model's end and sends it.
   * While a read runs, another call asks for one more pass and resolves with
   * it, so every caller's wish is read after it was made.
   */
  function readFeed(session: Session, state: SyncState): Promise<void> {
    if (state.reading !== null) {
      state.again = true;
      return state.reading;
    }
    state.reading = readPasses(session, state).finally(() => (state.reading = null));
    return state.reading;
  }

  async function readPasses(session: Session, state: SyncState): Promise<void> {
    do {
      state.again = false;
      if (!isCurrent(session, state)) return;
      const until = await model.applied();
      const answer = await readSyncFeed(db, { userId: session.userId, since: state.cursor, until, limit: options.pageSize });
      if (answer.status === 'expired') {
        synced.delete(session);
        send(session, errorFrame('sync_token_expired', 'the token is older than the sync feed keeps: resync', state.ref));
        return;
      }
      state.cursor = answer.next;
      if (answer.frames.length > 0 || !state.answered || answer.more) {
        const data = { next_since: encodeSyncToken(answer.next), events: answer.frames, has_more: answer.more };
        send(session, serverFrame('SYNC', data, state.answered ? undefined : state.ref));
        state.answered = true;
      }
      if (answer.more) state.again = true;
    } while (state.again);
  }

  /**
   * Reads the feed for the socket once the model shows `position`; when the
   * model was too slow for the wait, waits again (the change is never dropped).
   */
  function wake(session: Session, position: Position) {
    const state = synced.get(session);
    if (state === undefined) return;
    void model
      .waitFor(position, options.catchUpTimeoutMs)
      .then(() => readFeed(session, state))
      .then(() => {
        if (isCurrent(session, state) && (state.cursor[position.partition] ?? 0) <= position.offset) wake(session, position);
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'sync feed not read for a socket'));
  }

  const wakeUser = (userId: string, position: Position) => {
    for (const session of sessions.of(userId) ?? []) wake(session, position);
  };

  return {
    isSynced: (session) => synced.has(session),

    async start(session, since, ref) {
      const cursor = since === undefined ? await model.applied() : decodeSyncToken(since, model.partitions);
      if (cursor === null) {
        const details = [{ path: 'data.since', message: 'not a sync token of this server' }];
        send(session, errorFrame('validation_failed', 'invalid frame', ref, details));
        return;
      }
      const state: SyncState = { cursor, reading: null, again: false, answered: false, ref };
      synced.set(session, state);
      const gatewayStood = [...read];
      await readFeed(session, state);
      // Events this gateway read before the socket synced, which the model had not applied yet.
      gatewayStood.forEach((next, partition) => {
        if (next > (state.cursor[partition] ?? 0)) wake(session, { topic: topics.events, partition, offset: next - 1 });
      });
    },

    notify(event, position) {
      read[position.partition] = Math.max(read[position.partition] ?? 0, position.offset + 1);
      // A room this gateway does not track yet has no members here: its new member is woken directly.
      if (event.type === 'user_joined_room') wakeUser(event.data.user_id, position);
      for (const { to } of syncChangesOf(event)) {
        if ('user_id' in to) wakeUser(to.user_id, position);
        else membership.withMembers(to.room_id, (members) => members.forEach((userId) => wakeUser(userId, position)));
      }
    },
  };
}

/** The fan-out's delivery without the sockets on the sync feed (they hear those changes through it). */
export function liveFramesExcept(delivery: Delivery, skip: (session: Session) => boolean): Delivery {
  const kept = (only: ((session: Session) => boolean) | undefined) => (session: Session) =>
    !skip(session) && (only === undefined || only(session));
  return {
    send: (session, frame) => {
      if (!skip(session)) delivery.send(session, frame);
    },
    hold: delivery.hold,
    toUsers: (userIds, frame, only) => delivery.toUsers(userIds, frame, kept(only)),
    toRoomMembers: (roomId, frame, only) => delivery.toRoomMembers(roomId, frame, kept(only)),
    eachRoomSession: (roomId, visit) =>
      delivery.eachRoomSession(roomId, (session) => {
        if (!skip(session)) visit(session);
      }),
  };
}
