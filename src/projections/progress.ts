// Read-your-writes: a response waits, bounded, until a projection has applied
// the events of its command. A local projector reports progress directly; a
// projector in another process (another instance owns the partition) is seen
// through the offsets table, polled by one loop per partition while anyone
// waits on it — never one query per waiting request.

import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { Position } from '../log/port.ts';
import type { Database } from '../store/schema.ts';
import { storedOffset } from './runner.ts';

export interface ProjectionProgress {
  /** Called by a local runner after a batch is committed. */
  reached(projection: string, partition: number, nextOffset: number): void;
  /** Resolves true once `projection` has applied `position`, false on timeout. */
  waitFor(projection: string, position: Position, timeoutMs: number): Promise<boolean>;
}

export function createProjectionProgress(db: Kysely<Database>, pollMs = 5): ProjectionProgress {
  const known = new Map<string, number>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  /** Partitions with a poll loop running (while they have waiters). */
  const polling = new Set<string>();
  const keyOf = (projection: string, partition: number) => `${projection}/${partition}`;

  function note(key: string, nextOffset: number) {
    if ((known.get(key) ?? 0) >= nextOffset) return;
    known.set(key, nextOffset);
    changes.emit(key, nextOffset);
  }

  function poll(key: string, projection: string, partition: number) {
    if (polling.has(key)) return;
    polling.add(key);
    const tick = async () => {
      if (changes.listenerCount(key) === 0) {
        polling.delete(key);
        return;
      }
      const stored = await storedOffset(db, projection, partition).catch(() => null);
      if (stored !== null) note(key, stored);
      setTimeout(tick, pollMs).unref();
    };
    setTimeout(tick, pollMs).unref();
  }

  return {
    reached: (projection, partition, nextOffset) => note(keyOf(projection, partition), nextOffset),
    async waitFor(projection, position, timeoutMs) {
      const key = keyOf(projection, position.partition);
      const target = position.offset + 1;
      if ((known.get(key) ?? 0) >= target) return true;
      return new Promise<boolean>((resolve) => {
        const onChange = (next: number) => {
          if (next < target) return;
          clearTimeout(timer);
          changes.off(key, onChange);
          resolve(true);
        };
        const timer = setTimeout(() => {
          changes.off(key, onChange);
          resolve(false);
        }, timeoutMs);
        changes.on(key, onChange);
        poll(key, projection, position.partition);
      });
    },
  };
}
