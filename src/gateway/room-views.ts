// Who is actively looking at a room (JOIN_ROOM … LEAVE_ROOM), across every
// gateway instance. Views are signals, not events: each gateway announces its
// sockets' joins and leaves on the signals log and follows everyone's, so any
// instance can answer USERS and emit USER_JOINED / USER_LEFT.

import type { Consumer, Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';

interface ViewSignal {
  kind: 'room_view';
  room_id: string;
  user_id: string;
  /** One entry per socket, so a user with two tabs stays until both leave. */
  session_id: string;
  active: boolean;
  instance: string;
}

export interface RoomViews {
  join(roomId: string, userId: string, sessionId: string): void;
  leave(roomId: string, userId: string, sessionId: string): void;
  activeIn(roomId: string): string[];
  stop(): Promise<void>;
}

export async function createRoomViews(options: {
  log: Log;
  instanceId: string;
  /** A user started or stopped viewing a room (first socket in, last socket out). */
  onChange: (roomId: string, userId: string, active: boolean) => void;
}): Promise<RoomViews> {
  const { log, instanceId } = options;
  /** room → user → sessions viewing it. */
  const viewers = new Map<string, Map<string, Set<string>>>();

  function apply(signal: ViewSignal) {
    let users = viewers.get(signal.room_id);
    if (users === undefined) viewers.set(signal.room_id, (users = new Map()));
    let userSessions = users.get(signal.user_id);
    const wasActive = userSessions !== undefined && userSessions.size > 0;
    if (signal.active) {
      if (userSessions === undefined) users.set(signal.user_id, (userSessions = new Set()));
      userSessions.add(signal.session_id);
    } else {
      userSessions?.delete(signal.session_id);
      if (userSessions?.size === 0) users.delete(signal.user_id);
      if (users.size === 0) viewers.delete(signal.room_id);
    }
    const isActive = (users.get(signal.user_id)?.size ?? 0) > 0;
    if (wasActive !== isActive) options.onChange(signal.room_id, signal.user_id, isActive);
  }

  const consumer: Consumer = await log.consume({
    topic: topics.signals,
    group: null,
    from: 'latest',
    eachBatch: async ({ records }) => {
      for (const record of records) {
        const signal = JSON.parse(record.value.toString('utf8')) as { kind?: string };
        if (signal.kind === 'room_view') apply(signal as ViewSignal);
      }
    },
  });

  function announce(roomId: string, userId: string, sessionId: string, active: boolean) {
    const signal: ViewSignal = { kind: 'room_view', room_id: roomId, user_id: userId, session_id: sessionId, active, instance: instanceId };
    // Signals are best effort by design: a lost one only affects the "who is here" list.
    void log.append(topics.signals, [{ key: roomId, value: Buffer.from(JSON.stringify(signal)) }]).catch(() => undefined);
  }

  return {
    join: (roomId, userId, sessionId) => announce(roomId, userId, sessionId, true),
    leave: (roomId, userId, sessionId) => announce(roomId, userId, sessionId, false),
    activeIn: (roomId) => [...(viewers.get(roomId)?.keys() ?? [])],
    stop: () => consumer.stop(),
  };
}
