// Typing indicators: TYPING frames become typing_started/typing_stopped
// signals; every gateway relays them to its members of the room, and stops an
// indicator itself when no refresh comes in time (the typist's client may have
// vanished without saying so).

import type { TypingStarted, TypingStopped } from '../log/signals.ts';

export interface Typing {
  /** A local user typed (or stopped) in a room. */
  set(roomId: string, userId: string, isTyping: boolean): void;
  /** A socket closed: whatever its user was typing stops. */
  stopAll(userId: string): void;
  apply(signal: TypingStarted | TypingStopped): void;
  stop(): void;
}

export function createTyping(options: {
  publish: (signal: TypingStarted | TypingStopped) => void;
  ttlMs: number;
  onChange: (roomId: string, userId: string, isTyping: boolean) => void;
}): Typing {
  /** `${room}\n${user}` → the timer that ends the indicator. */
  const active = new Map<string, NodeJS.Timeout>();
  const keyOf = (roomId: string, userId: string) => `${roomId}\n${userId}`;

  function end(roomId: string, userId: string) {
    const key = keyOf(roomId, userId);
    const timer = active.get(key);
    if (timer === undefined) return;
    clearTimeout(timer);
    active.delete(key);
    options.onChange(roomId, userId, false);
  }

  return {
    set(room_id, user_id, isTyping) {
      options.publish({ type: isTyping ? 'typing_started' : 'typing_stopped', data: { room_id, user_id, at: Date.now() } });
    },
    stopAll(userId) {
      for (const key of active.keys()) {
        const [roomId, typist] = key.split('\n') as [string, string];
        if (typist === userId) this.set(roomId, userId, false);
      }
    },
    apply({ type, data }) {
      if (type === 'typing_stopped') {
        end(data.room_id, data.user_id);
        return;
      }
      const key = keyOf(data.room_id, data.user_id);
      const wasTyping = active.has(key);
      clearTimeout(active.get(key));
      active.set(
        key,
        setTimeout(() => end(data.room_id, data.user_id), options.ttlMs),
      );
      if (!wasTyping) options.onChange(data.room_id, data.user_id, true);
    },
    stop() {
      for (const timer of active.values()) clearTimeout(timer);
      active.clear();
    },
  };
}
