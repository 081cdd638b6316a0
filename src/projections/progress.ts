// Read-your-writes: a response waits, bounded, until a projection has applied
// the events of its command. Local projectors report progress directly; when
// the projector runs in another process, the offsets table is polled.

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

export function createProjectionProgress(db: Kysely<Database>, pollMs = 10): ProjectionProgress {
  const known = new Map<string, number>();
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const keyOf = (projection: string, partition: number) => `${projection}/${partition}`;

  function note(projection: string, partition: number, nextOffset: number) {
    const key = keyOf(projection, partition);
    if ((known.get(key) ?? 0) >= nextOffset) return;
    known.set(key, nextOffset);
    changes.emit(key, nextOffset);
  }

  return {
    reached: note,
    async waitFor(projection, position, timeoutMs) {
      const key = keyOf(projection, position.partition);
      const target = position.offset + 1;
      if ((known.get(key) ?? 0) >= target) return true;
      const deadline = Date.now() + timeoutMs;
      return new Promise<boolean>((resolve) => {
        let done = false;
        const finish = (value: boolean) => {
          if (done) return;
          done = true;
          changes.off(key, onChange);
          clearTimeout(poller);
          resolve(value);
        };
        const onChange = (next: number) => {
          if (next >= target) finish(true);
        };
        changes.on(key, onChange);
        // Another process's projector is only seen through the table.
        let poller: NodeJS.Timeout;
        const poll = async () => {
          if (done) return;
          const stored = await storedOffset(db, projection, position.partition).catch(() => null);
          if (stored !== null) note(projection, position.partition, stored);
          if (done) return;
          if (Date.now() >= deadline) return finish(false);
          poller = setTimeout(poll, pollMs);
        };
        poller = setTimeout(poll, pollMs);
      });
    },
  };
}
