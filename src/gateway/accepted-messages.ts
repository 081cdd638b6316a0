// The ACK of a SEND_MESSAGE carries the message as this gateway streams it
// from the events log, not as the read model will hold it: the sender's socket
// is on this gateway, so the event that its fan-out turns into NEW_MESSAGE
// answers the sender too — no wait for the projection, no query. (REST keeps
// read-your-writes: its answer comes from the read model.)
//
// The events consumer reports every record it has handled, in order per
// partition, and the message_sent events of senders connected here; a frame
// handler waits until the stream has passed its command's position and takes
// the message by command id. When it is not there — a retry of a message sent
// before this gateway started, a position the stream never reaches in time —
// the caller falls back to the read model.

import { LRUCache } from 'lru-cache';
import type { Position } from '../log/port.ts';
import type { MessageView } from '../queries/wire.ts';

export interface AcceptedMessages {
  /** The events consumer handled the record at `position` (with the message it created, if kept). */
  passed(position: Position, created?: { commandId: string; message: MessageView }): void;
  /**
   * The message command `commandId` created, once the stream has passed
   * `position` (its last event); undefined when it is not known here or the
   * stream did not get there within `timeoutMs`.
   */
  messageOf(commandId: string, position: Position, timeoutMs: number): Promise<MessageView | undefined>;
  /**
   * The message a command created, known before the stream passes it (the
   * stream is held up behind a record it cannot open yet): its ACK need not wait.
   */
  known(created: { commandId: string; message: MessageView }): void;
}

interface Waiter {
  offset: number;
  commandId: string;
  resolve(message: MessageView | undefined): void;
  timer: NodeJS.Timeout;
}

/** `capacity`: messages kept for ACKs, least recently used dropped first (an ACK needs one for a few ms). */
export function createAcceptedMessages(capacity: number): AcceptedMessages {
  // lru-cache: a Map whose oldest entry is deleted at every store walks the holes deleting leaves (vault.ts).
  const messages = new LRUCache<string, MessageView>({ max: capacity });
  /** Next offset the stream will handle, per partition. */
  const passedUpTo = new Map<number, number>();
  const waiters = new Map<number, Waiter[]>();

  function keep(created: { commandId: string; message: MessageView }): void {
    messages.set(created.commandId, created.message);
  }

  return {
    passed(position, created) {
      passedUpTo.set(position.partition, position.offset + 1);
      if (created !== undefined) keep(created);
      const waiting = waiters.get(position.partition);
      if (waiting === undefined) return;
      const still = waiting.filter((waiter) => {
        if (waiter.offset > position.offset) return true;
        clearTimeout(waiter.timer);
        waiter.resolve(messages.get(waiter.commandId));
        return false;
      });
      if (still.length === 0) waiters.delete(position.partition);
      else waiters.set(position.partition, still);
    },

    messageOf(commandId, position, timeoutMs) {
      const kept = messages.get(commandId);
      if (kept !== undefined || (passedUpTo.get(position.partition) ?? 0) > position.offset) return Promise.resolve(kept);
      return new Promise((resolve) => {
        const waiter: Waiter = {
          offset: position.offset,
          commandId,
          resolve,
          timer: setTimeout(() => {
            const waiting = waiters.get(position.partition) ?? [];
            waiters.set(
              position.partition,
              waiting.filter((other) => other !== waiter),
            );
            resolve(undefined);
          }, timeoutMs),
        };
        let waiting = waiters.get(position.partition);
        if (waiting === undefined) waiters.set(position.partition, (waiting = []));
        waiting.push(waiter);
      });
    },

    known(created) {
      keep(created);
      for (const [partition, waiting] of waiters) {
        const still = waiting.filter((waiter) => {
          if (waiter.commandId !== created.commandId) return true;
          clearTimeout(waiter.timer);
          waiter.resolve(created.message);
          return false;
        });
        if (still.length === 0) waiters.delete(partition);
        else waiters.set(partition, still);
      }
    },
  };
}
