// A cache of read-model answers shared by every instance, which must never
// serve an answer older than what a request may already have been told: once
// a write's response has returned (read-your-writes waited for the projector
// to commit it), no read anywhere may answer from before it.
//
// The projector says what each batch may change, as dependencies ("room:<id>",
// or "all"); an answer is cached with the generation of each dependency it was
// computed under. The protocol, per batch:
//
//   fence(deps)    before the batch's transaction: every dependency's
//                  generation moves on (what was cached is void from now) and
//                  is marked pending: no answer is cached while a pending
//                  batch could still commit under it;
//   (commit)
//   release()      after it: the generations move on once more and the
//                  pending marks go.
//
// A read looks its answer up with the current generations; on a miss it
// loads from the database and caches the answer only if, at that moment,
// the generations are those it read before loading and nothing is pending.
// A load that raced a commit thus never lands in the cache, and a waiter who
// learns of the commit (the offset stored by the same transaction) finds
// every answer from before it void already. The second move on release
// covers a pending mark that expired (PARLEY_READ_CACHE_FENCE_TTL_MS) under
// a batch slower than that.
//
// This file: the port and the pass-through adapter (one process, `npm start`:
// the read models are in-process SQLite); redis-read-cache.ts shares it.

export interface ReadCache {
  /**
   * The answer cached under `entry` when none of `deps` changed since it was
   * cached; otherwise `load()`'s, cached for the next reader when no batch is
   * pending on `deps`. Answers must survive JSON (no undefined, no Map).
   * `storable`: whether a loaded answer may be cached under `deps` (say, when
   * the dependencies were named from an earlier read the load may contradict).
   */
  read<T>(entry: string, deps: readonly string[], load: () => Promise<T>, storable?: (answer: T) => boolean): Promise<T>;
  /** Before a batch's transaction over `deps`; `release` after it, committed or not. */
  fence(deps: readonly string[]): Promise<CacheFence>;
}

export interface CacheFence {
  release(): Promise<void>;
}

/** The dependency every answer has: a batch that could change anything names it. */
export const everyAnswer = 'all';

const released: CacheFence = { release: () => Promise.resolve() };

/** No cache: every read loads, fences cost nothing. */
export const noReadCache: ReadCache = {
  read: (_entry, _deps, load) => load(),
  fence: () => Promise.resolve(released),
};
