// Who is actively looking at a room (JOIN_ROOM … LEAVE_ROOM), across every
// gateway instance. Each gateway announces its sockets' views on the signals
// log and follows everyone's, so any instance can answer USERS and emit
// USER_JOINED / USER_LEFT.
//
// A JOIN_ROOM's USERS answer waits until this instance has read back its own
// room_view_started: signals about a room share one partition, so every view
// announced before it (on any instance) has been applied by then, and a user
// who joined a moment earlier is never missing from the list.

import type { RoomViewEnded, RoomViewStarted } from '../log/signals.ts';

export interface RoomViews {
  /** Announces the view; settles once this instance has applied it (or after `applyTimeoutMs`). */
  join(roomId: string, userId: string, sessionId: string): Promise<void>;
  leave(roomId: string, userId: string, sessionId: string): void;
  apply(signal: RoomViewStarted | RoomViewEnded): void;
  activeIn(roomId: string): string[];
}

export function createRoomViews(options: {
  publish: (signal: RoomViewStarted | RoomViewEnded) => void;
  /** A user started or stopped viewing a room (first socket in, last socket out). */
  onChange: (roomId: string, userId: string, active: boolean) => void;
  /** How long a join waits for its own signal; a lost signal only costs an incomplete USERS. */
  applyTimeoutMs: number;
}): RoomViews {
  /** room → user → sessions viewing it. */
  const viewers = new Map<string, Map<string, Set<string>>>();
  /** "room session" → resolves the join waiting for that view's signal. */
  const awaitingApply = new Map<string, () => void>();
  const viewKey = (roomId: string, sessionId: string) => `${roomId} ${sessionId}`;

  return {
    join(room_id, user_id, session_id) {
      const key = viewKey(room_id, session_id);
      const applied = new Promise<void>((resolve) => {
        const timer = setTimeout(settle, options.applyTimeoutMs);
        timer.unref();
        function settle() {
          clearTimeout(timer);
          awaitingApply.delete(key);
          resolve();
        }
        awaitingApply.set(key, settle);
      });
      options.publish({ type: 'room_view_started', data: { room_id, user_id, session_id, at: Date.now() } });
      return applied;
    },
    leave: (room_id, user_id, session_id) =>
      options.publish({ type: 'room_view_ended', data: { room_id, user_id, session_id, at: Date.now() } }),
    apply({ type, data }) {
      let users = viewers.get(data.room_id);
      if (users === undefined) viewers.set(data.room_id, (users = new Map<string, Set<string>>()));
      let sessions = users.get(data.user_id);
      const wasActive = sessions !== undefined;
      if (type === 'room_view_started') {
        if (sessions === undefined) users.set(data.user_id, (sessions = new Set()));
        sessions.add(data.session_id);
      } else if (sessions !== undefined) {
        sessions.delete(data.session_id);
        if (sessions.size === 0) users.delete(data.user_id);
      }
      if (users.size === 0) viewers.delete(data.room_id);
      const isActive = viewers.get(data.room_id)?.has(data.user_id) ?? false;
      if (wasActive !== isActive) options.onChange(data.room_id, data.user_id, isActive);
      if (type === 'room_view_started') awaitingApply.get(viewKey(data.room_id, data.session_id))?.();
    },
    activeIn: (roomId) => [...(viewers.get(roomId)?.keys() ?? [])],
  };
}
