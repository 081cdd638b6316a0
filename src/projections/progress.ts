// Read-your-writes: a response waits, bounded, until a projection has applied
// the events of its command. A local projector reports progress directly; a
// projector in another process (another instance owns the partition) is seen
// through the offsets table, polled while anyone waits on it (see poll()).

import type { Kysely } from 'kysely';
import type { Position } from '../log/port.ts';
import type { Database } from '../store/schema.ts';
import { storedOffsets } from './offsets.ts';

export interface ProjectionProgress {
  /** Called by a local runner after a batch is committed. */
  reached(projection: string, partition: number, nextOffset: number): void;
  /** Resolves true once `projection` has applied `position`, false on timeout or when `signal` aborts. */
  waitFor(projection: string, position: Position, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
}

/**
 * How long after a local runner's last report a partition counts as projected
 * here: its waiters need no poll. (A partition handed to another instance stops
 * being reported; after this its waiters are polled for again.)
 */
const LOCAL_REPORT_FRESH_MS = 1_000;

export function createProjectionProgress(db: Kysely<Database>, pollMs = 5): ProjectionProgress {
  const known = new Map<string, number>();
  /**
   * Per projection and partition, who waits for which offset. A Set, not an
   * EventEmitter: a reconnect storm parks hundreds of waiters on a partition,
   * and an emitter's `off` searches its listener array — quadratic when one
   * report settles them all.
   */
  const waiters = new Map<string, Set<{ target: number; settle: (reached: boolean) => void }>>();
  const keyOf = (projection: string, partition: number) => `${projection}/${partition}`;
  /** When a local runner last reported each partition (key → ms). */
  const reportedAt = new Map<string, number>();
  /** Per projection with a poll loop running: the partitions someone waits on. */
  const waited = new Map<string, Set<number>>();

  function note(key: string, nextOffset: number) {
    if ((known.get(key) ?? 0) >= nextOffset) return;
    known.set(key, nextOffset);
    const waiting = waiters.get(key);
    if (waiting === undefined) return;
    for (const waiter of waiting) if (nextOffset >= waiter.target) waiter.settle(true);
  }

  /**
   * One loop per projection while anyone waits on it, reading every
   * partition's offset in one query per tick — never a query per waiting
   * request, nor per partition; and none while every waited partition is
   * projected in this process.
   */
  function poll(projection: string, partition: number) {
    const partitions = waited.get(projection);
    if (partitions !== undefined) {
      partitions.add(partition);
      return;
    }
    waited.set(projection, new Set([partition]));
    const tick = async () => {
      const now = Date.now();
      let remote = false;
      for (const waitedPartition of waited.get(projection)!) {
        const key = keyOf(projection, waitedPartition);
        if ((waiters.get(key)?.size ?? 0) === 0) waited.get(projection)!.delete(waitedPartition);
        else if (now - (reportedAt.get(key) ?? 0) > LOCAL_REPORT_FRESH_MS) remote = true;
      }
      if (waited.get(projection)!.size === 0) {
        waited.delete(projection);
        return;
      }
      if (remote) {
        const stored = await storedOffsets(db, projection).catch(() => new Map<number, number>());
        for (const [storedPartition, nextOffset] of stored) note(keyOf(projection, storedPartition), nextOffset);
      }
      schedule();
    };
    // `tick` settles itself (a failed poll reads as no news), so its promise is dropped.
    const schedule = () => setTimeout(() => void tick(), pollMs).unref();
    schedule();
  }

  return {
    reached(projection, partition, nextOffset) {
      const key = keyOf(projection, partition);
      reportedAt.set(key, Date.now());
      note(key, nextOffset);
    },
    async waitFor(projection, position, timeoutMs, signal) {
      const key = keyOf(projection, position.partition);
      const target = position.offset + 1;
      if ((known.get(key) ?? 0) >= target) return true;
      if (signal?.aborted === true) return false;
      return new Promise<boolean>((resolve) => {
        let waiting = waiters.get(key);
        if (waiting === undefined) waiters.set(key, (waiting = new Set()));
        const waiter = {
          target,
          settle: (reached: boolean) => {
            clearTimeout(timer);
            waiting.delete(waiter);
            if (waiting.size === 0 && waiters.get(key) === waiting) waiters.delete(key);
            signal?.removeEventListener('abort', onAbort);
            resolve(reached);
          },
        };
        const onAbort = () => waiter.settle(false);
        const timer = setTimeout(onAbort, timeoutMs);
        waiting.add(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        poll(projection, position.partition);
      });
    },
  };
}
