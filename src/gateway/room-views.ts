// Who is actively looking at a room (JOIN_ROOM … LEAVE_ROOM), across every
// gateway instance. Each gateway announces its sockets' views on the signals
// log and follows everyone's, so any instance can answer USERS and emit
// USER_JOINED / USER_LEFT.

import type { RoomViewEnded, RoomViewStarted } from '../log/signals.ts';

export interface RoomViews {
  join(roomId: string, userId: string, sessionId: string): void;
  leave(roomId: string, userId: string, sessionId: string): void;
  apply(signal: RoomViewStarted | RoomViewEnded): void;
  activeIn(roomId: string): string[];
}

export function createRoomViews(options: {
  publish: (signal: RoomViewStarted | RoomViewEnded) => void;
  /** A user started or stopped viewing a room (first socket in, last socket out). */
  onChange: (roomId: string, userId: string, active: boolean) => void;
}): RoomViews {
  /** room → user → sessions viewing it. */
  const viewers = new Map<string, Map<string, Set<string>>>();

  return {
    join: (room_id, user_id, session_id) =>
      options.publish({ type: 'room_view_started', data: { room_id, user_id, session_id, at: Date.now() } }),
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
    },
    activeIn: (roomId) => [...(viewers.get(roomId)?.keys() ?? [])],
  };
}
