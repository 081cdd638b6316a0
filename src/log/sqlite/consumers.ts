// Consumers of the embedded log: one worker per owned partition (so a
// partition is handled strictly in order, one batch at a time, while different
// partitions proceed concurrently), a member per consume() call, and a
// coordinator per (group, topic) that shares partitions among the members of a
// group living in this process.
//
// Groups are coordinated in memory: two processes consuming the same group on
// one file would each take every partition. The embedded mode runs one server
// process; other processes (a CLI tail) read without a group.

import { setTimeout as delay } from 'node:timers/promises';
import type { Batch, ConsumeOptions, LogRecord } from '../port.ts';
import { assignPartitions } from './assignment.ts';
import type { TopicRow } from './store.ts';
import type { WakeHub } from './wake.ts';

/** What consumers need from the rest of the adapter. */
export interface ConsumerBackend {
  read(topic: TopicRow, partition: number, offset: number, limit: number): LogRecord[];
  bounds(topic: TopicRow, partition: number): { start: number; end: number };
  committed(group: string, topic: TopicRow, partition: number): number | null;
  commit(group: string, topic: TopicRow, partition: number, offset: number): Promise<void>;
  hub: WakeHub;
  onError(error: unknown, context: string): void;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

export interface MemberSettings {
  id: number;
  topic: TopicRow;
  options: ConsumeOptions;
  maxBatchSize: number;
  backend: ConsumerBackend;
}

function backoff(backend: ConsumerBackend, attempt: number): number {
  return Math.min(backend.retryBackoffMaxMs, backend.retryBackoffMs * 2 ** Math.min(attempt - 1, 16));
}

/** Sleeps, returning early (without throwing) when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

/** Feeds one partition to eachBatch until stopped. */
class PartitionWorker {
  readonly partition: number;
  /** Offset of the next record to hand out. */
  position: number;
  /** Last offset stored for the group, to skip a needless commit on revoke. */
  committed: number | null;
  readonly #settings: MemberSettings;
  readonly #abort = new AbortController();
  #signalled = false;
  #wake: (() => void) | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(settings: MemberSettings, partition: number, start: number, committed: number | null) {
    this.#settings = settings;
    this.partition = partition;
    this.position = start;
    this.committed = committed;
  }

  start(): void {
    const { hub } = this.#settings.backend;
    const unlisten = hub.listen(this.#settings.topic.id, this.partition, () => this.#signal());
    this.#done = this.#run().finally(unlisten);
  }

  /** Resolves once the in-flight batch (if any) finished; no eachBatch call follows. */
  stop(): Promise<void> {
    this.#abort.abort();
    this.#signal();
    return this.#done;
  }

  #signal(): void {
    this.#signalled = true;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * Until a record is appended after the last read; then, for a consumer that
   * may see it late (maxDelayMs), a while longer, so the records after it gather.
   */
  async #waitForRecords(): Promise<void> {
    if (!this.#signalled && !this.#abort.signal.aborted) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    const delayMs = this.#settings.options.maxDelayMs ?? 0;
    if (delayMs > 0) await pause(delayMs, this.#abort.signal);
  }

  async #run(): Promise<void> {
    const { topic, options, backend, maxBatchSize } = this.#settings;
    const signal = this.#abort.signal;
    let failed: Batch | null = null;
    let attempt = 0;
    while (!signal.aborted) {
      let batch: Batch | null = failed;
      if (!batch) {
        // Cleared before reading: an append committed after this read sets it
        // again, so the wait below cannot miss it.
        this.#signalled = false;
        const knownEnd = backend.hub.knownEnd(topic.id, this.partition);
        if (knownEnd !== undefined && this.position >= knownEnd) {
          // Everything this process appended is handled, and no other connection wrote since: nothing to read.
          await this.#waitForRecords();
          continue;
        }
        let records: LogRecord[];
        try {
          records = backend.read(topic, this.partition, this.position, maxBatchSize);
        } catch (error) {
          backend.onError(error, `read ${topic.name}[${this.partition}]`);
          await pause(backoff(backend, ++attempt), signal);
          continue;
        }
        if (records.length === 0) {
          await this.#waitForRecords();
          continue;
        }
        batch = { topic: topic.name, partition: this.partition, records };
      }
      try {
        // A copy, so a handler that mutates its batch cannot alter a redelivery.
        await options.eachBatch({ ...batch, records: [...batch.records] });
      } catch (error) {
        // The very same batch goes out again after a bounded backoff; nothing
        // after it is delivered (or committed) until it succeeds.
        failed = batch;
        backend.onError(error, `eachBatch ${topic.name}[${this.partition}]@${batch.records[0]?.offset}`);
        await pause(backoff(backend, ++attempt), signal);
        continue;
      }
      failed = null;
      attempt = 0;
      const last = batch.records[batch.records.length - 1];
      if (last) this.position = last.offset + 1;
      await this.commitPosition();
    }
  }

  /** Stores the position as the group's offset (no-op without a group or when unchanged). */
  async commitPosition(): Promise<void> {
    const { topic, options, backend } = this.#settings;
    if (options.group === null || this.committed === this.position) return;
    const offset = this.position;
    try {
      await backend.commit(options.group, topic, this.partition, offset);
      this.committed = offset;
    } catch (error) {
      // The batch stays handled; losing its commit means at-least-once
      // redelivery after a restart, never a skip.
      backend.onError(error, `commit ${options.group} ${topic.name}[${this.partition}]`);
    }
  }
}

/** One consume() call: the partitions it owns and their workers. */
export class Member {
  readonly id: number;
  readonly #settings: MemberSettings;
  /** End offsets when consume() was called: where 'latest' starts. */
  readonly #latest: Map<number, number>;
  /** Partitions given to this member by the last assignment. */
  readonly owned = new Set<number>();
  /** Partitions whose onAssigned succeeded, so onRevoked is owed for them. */
  readonly #announced = new Set<number>();
  readonly #workers = new Map<number, PartitionWorker>();
  readonly #abort = new AbortController();
  /** Assign and revoke run one after another, never interleaved. */
  #serial: Promise<void> = Promise.resolve();

  constructor(settings: MemberSettings) {
    this.id = settings.id;
    this.#settings = settings;
    this.#latest = new Map();
    if (settings.options.from === 'latest') {
      for (let p = 0; p < settings.topic.partitions; p++) {
        this.#latest.set(p, settings.backend.bounds(settings.topic, p).end);
      }
    }
  }

  get stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Marks the member as leaving: pending retries give up, no new partition starts. */
  markStopping(): void {
    this.#abort.abort();
  }

  assign(partitions: number[]): Promise<void> {
    return this.#queue(() => this.#assign(partitions));
  }

  revoke(partitions: number[]): Promise<void> {
    return this.#queue(() => this.#revoke(partitions));
  }

  /** Gives up whatever is owned once pending assignments settled (group-less stop). */
  revokeAll(): Promise<void> {
    return this.#queue(() => this.#revoke([...this.owned]));
  }

  #queue(task: () => Promise<void>): Promise<void> {
    const result = this.#serial.then(task);
    this.#serial = result.catch(() => undefined);
    return result;
  }

  async #assign(partitions: number[]): Promise<void> {
    // A member told to stop takes nothing; its leave rebalance hands these on.
    if (this.stopping) return;
    for (const p of partitions) this.owned.add(p);
    const { options } = this.#settings;
    const assigned = await this.#retry('onAssigned', async () => {
      await options.onAssigned?.(partitions);
    });
    if (!assigned.ok) return;
    for (const p of partitions) this.#announced.add(p);
    for (const p of partitions) {
      const start = await this.#retry(`start offset of partition ${p}`, () => this.#startOf(p));
      if (!start.ok) return;
      const worker = new PartitionWorker(this.#settings, p, start.value.offset, start.value.committed);
      this.#workers.set(p, worker);
      worker.start();
    }
  }

  async #revoke(partitions: number[]): Promise<void> {
    const workers = partitions.flatMap((p) => this.#workers.get(p) ?? []);
    await Promise.all(workers.map((w) => w.stop()));
    // Hand the next owner an exact position even when nothing was processed
    // ('latest' resolved here must not turn into a later 'latest' there).
    await Promise.all(workers.map((w) => w.commitPosition()));
    for (const p of partitions) {
      this.#workers.delete(p);
      this.owned.delete(p);
    }
    const lost = partitions.filter((p) => this.#announced.delete(p));
    if (lost.length === 0 || !this.#settings.options.onRevoked) return;
    try {
      await this.#settings.options.onRevoked(lost);
    } catch (error) {
      this.#settings.backend.onError(error, 'onRevoked');
    }
  }

  /** startAt, else the group's committed offset, else `from`. */
  async #startOf(partition: number): Promise<{ offset: number; committed: number | null }> {
    const { options, topic, backend } = this.#settings;
    const committed = options.group === null ? null : backend.committed(options.group, topic, partition);
    const sought = options.startAt ? await options.startAt(partition) : null;
    if (sought !== null) return { offset: sought, committed };
    if (committed !== null) return { offset: committed, committed };
    if (options.from === 'earliest') return { offset: backend.bounds(topic, partition).start, committed };
    return { offset: this.#latest.get(partition) ?? backend.bounds(topic, partition).end, committed };
  }

  /** Retries a user callback with backoff until it succeeds or the member stops. */
  async #retry<T>(what: string, fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
    const { backend } = this.#settings;
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        return { ok: true, value: await fn() };
      } catch (error) {
        backend.onError(error, `${what} (${this.#settings.topic.name})`);
        await pause(backoff(backend, attempt), this.#abort.signal);
      }
    }
    return { ok: false };
  }
}

/** Shares a topic's partitions among the in-process members of one group. */
export class GroupCoordinator {
  readonly #partitionCount: number;
  readonly #onError: (error: unknown, context: string) => void;
  #members: Member[] = [];
  /** Rebalances run one at a time, in the order they were asked for. */
  #chain: Promise<void> = Promise.resolve();

  constructor(partitionCount: number, onError: (error: unknown, context: string) => void) {
    this.#partitionCount = partitionCount;
    this.#onError = onError;
  }

  get empty(): boolean {
    return this.#members.length === 0;
  }

  join(member: Member): Promise<void> {
    this.#members.push(member);
    return this.#rebalance();
  }

  /** The member must be marked stopping; resolves once it gave up all it held. */
  leave(member: Member): Promise<void> {
    if (!member.stopping) member.markStopping();
    return this.#rebalance();
  }

  #rebalance(): Promise<void> {
    const result = this.#chain.then(() => this.#runRebalance());
    this.#chain = result.catch((error: unknown) => this.#onError(error, 'rebalance'));
    return result;
  }

  async #runRebalance(): Promise<void> {
    const active = this.#members.filter((m) => !m.stopping);
    const plan = assignPartitions(
      this.#partitionCount,
      active.map((m) => ({ id: m.id, owned: m.owned })),
    );
    // First every loser finishes its in-flight batch, commits and hears
    // onRevoked; only then do gainers hear onAssigned and start. So a
    // partition never has two owners handling it at once.
    await Promise.all(
      this.#members.flatMap((m) => {
        const keep = new Set(plan.get(m.id) ?? []);
        const lost = [...m.owned].filter((p) => !keep.has(p));
        return lost.length > 0 ? [m.revoke(lost)] : [];
      }),
    );
    this.#members = this.#members.filter((m) => !m.stopping || m.owned.size > 0);
    await Promise.all(
      active.flatMap((m) => {
        const gained = (plan.get(m.id) ?? []).filter((p) => !m.owned.has(p));
        return gained.length > 0 ? [m.assign(gained)] : [];
      }),
    );
  }
}
