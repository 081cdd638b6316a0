// One consume() call on Kafka: a kafkajs consumer in a consumer group, driven
// so that the port's promises hold.
//
// What kafkajs gives: `eachBatch` per fetched partition batch, the
// GROUP_JOIN event (emitted synchronously inside its join, after SyncGroup and
// before the next fetch) with this member's new assignment, and the CRASH
// event. kafkajs finds out about a rebalance lazily — when a heartbeat or a
// commit fails — and only then finishes its in-flight batches and rejoins.
//
// What this module decides:
//
// * Assignment: our own sticky assigner (assigner.ts). On each GROUP_JOIN the
//   assignment is compared with the previous one: partitions kept are not
//   touched (no onRevoked/onAssigned, no restore), lost ones are revoked,
//   gained ones assigned. Nothing is called at the REBALANCING event: kafkajs
//   has already let every in-flight batch finish and fetches nothing until
//   the join completes, so between the two no batch runs anyway.
// * onRevoked(lost) runs after the member's last batch of those partitions
//   (kafkajs rejoins only once its batches finished). Then the member commits
//   a *handover token* for each: its final position, with metadata naming the
//   nonce of its latest JoinGroup.
// * onAssigned(gained) runs before any batch of those partitions: they are
//   paused (synchronously, in the GROUP_JOIN listener) until onAssigned
//   succeeded and the start offset is sought. Before onAssigned, the gainer
//   reads the group (DescribeGroups) and, for every gained partition another
//   current member still claims, waits for that member's handover token. So a
//   partition's new owner hears onAssigned only after the old owner heard
//   onRevoked — across processes — unless the old owner gives no token within
//   handoverTimeoutMs (stuck or dead; Kafka evicts it after its session
//   timeout), when the gainer takes the partition anyway and reports it.
// * Limits: a member whose handler outlives the group's rebalance timeout is
//   removed from the group while still handling its batch, and a new owner
//   may start on its partitions before it notices (kafkajs issue #1046); the
//   command processor's fencing (log/fencing.ts) and the projections' stored
//   offsets are what make that safe. Records are at least once: a batch whose
//   commit was lost (rebalance, crash) is handled again by the next owner.
// * Offsets: kafkajs runs with autoCommit off and eachBatchAutoResolve off.
//   After each successful chunk (maxBatchSize records) its last offset is
//   resolved, and committed (with a group) explicitly when the partition's
//   last commit is older than commitIntervalMs; the final position always
//   goes out with the handover (release) and on stop. A failing chunk is not
//   resolved: the partition is paused, sought back to the chunk's first
//   offset, and after a backoff the very same chunk (kept in memory) is handed
//   out again; other partitions go on meanwhile. kafkajs forgets resolved
//   offsets at every rejoin, so every kept partition is sought back to this
//   member's own position at each GROUP_JOIN.
// * Without a group (`group: null`): the same, in a throwaway group of one
//   member (random id), with no commits and no handover; it is deleted when
//   the consumer stops.

import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin, Consumer as KafkaConsumer, EachBatchPayload, Kafka, RetryOptions } from 'kafkajs';
import type { Batch, ConsumeOptions, LogRecord } from '../port.ts';
import { decodeMember, parleyAssigner, type MemberClaims } from './assigner.ts';
import { toLogRecord } from './records.ts';

export interface MemberTuning {
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** See KafkaLogOptions.commitIntervalMs. */
  commitIntervalMs: number;
  rebalanceTimeoutMs: number;
  maxWaitTimeMs: number;
  /** The broker answers a fetch once it holds this much, or after maxWaitTimeMs. */
  minBytes: number;
  maxBytesPerPartition: number;
  maxBytes: number;
  partitionsConsumedConcurrently: number;
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  handoverTimeoutMs: number;
  handoverPollMs: number;
  joinTimeoutMs: number;
  retry: RetryOptions;
}

export interface MemberSettings {
  kafka: Kafka;
  admin: Admin;
  topic: string;
  options: ConsumeOptions;
  /** The Kafka group id: the port's group, or a throwaway one. */
  groupId: string;
  maxBatchSize: number;
  tuning: MemberTuning;
  /** End offsets at consume() time, when `from` is 'latest'. */
  latest: Map<number, number> | null;
  watermarks(topic: string): Promise<Map<number, { low: number; high: number }>>;
  onError(error: unknown, context: string): void;
}

interface Slot {
  readonly partition: number;
  state: 'pending' | 'ready';
  /** onAssigned resolved for it: onRevoked is owed. */
  announced: boolean;
  /** Offset of the next record to hand out (set once ready). */
  position: number | null;
  /**
   * Where kafkajs should fetch from: `position`, except that a start past the
   * end is fetched from the end (Kafka refuses offsets beyond it) and the
   * records below `position` are skipped.
   */
  fetchFrom: number;
  /** A chunk whose handler failed, handed out again as is. */
  retry: LogRecord[] | null;
  attempt: number;
  backoff: NodeJS.Timeout | null;
  /** When this member last committed the partition's position (ms; 0: not yet). */
  committedAt: number;
}

const handoverPrefix = 'parley.handover:';

/**
 * Whether a signal has fired. A call, not `signal.aborted`: TypeScript keeps a
 * property's narrowing across an await, so after `if (signal.aborted) return`
 * it would take every later check of it for false.
 */
const aborted = (signal: AbortSignal): boolean => signal.aborted;

function isRebalanceError(error: unknown): error is Error {
  const type = typeof error === 'object' && error !== null && 'type' in error ? error.type : undefined;
  return (
    type === 'REBALANCE_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR_FOR_GROUP' ||
    type === 'ILLEGAL_GENERATION' ||
    type === 'UNKNOWN_MEMBER_ID'
  );
}

/** Sleeps, returning early (without throwing) when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (aborted(signal)) return;
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks the signal
  }
}

export class KafkaMember {
  readonly #s: MemberSettings;
  readonly #grouped: boolean;
  readonly #consumer: KafkaConsumer;
  /** Partitions kafkajs assigned us at the last GROUP_JOIN. */
  readonly #slots = new Map<number, Slot>();
  /** Taken away; onRevoked and the handover token still owed. */
  readonly #releasing: Slot[] = [];
  /**
   * Without a group nothing is committed: where each partition stood when it
   * was last given up (a crash and rejoin), so a rejoin resumes there.
   */
  readonly #positions = new Map<number, number>();
  #nonce = '';
  #memberId = '';
  /** Aborted by every GROUP_JOIN, CRASH and stop: waits of an older assignment give up. */
  #generation = new AbortController();
  readonly #stopped = new AbortController();
  #stopping: Promise<void> | null = null;
  #reconciling: Promise<void> | null = null;
  #dirty = false;
  /** Resolved once the first assignment is in place (consume() resolves then). */
  #joined = Promise.withResolvers<undefined>();
  #hasJoined = false;
  /** Batches being handled, by partition. */
  #inFlight = new Map<Promise<void>, number>();
  #restartTimer: NodeJS.Timeout | null = null;
  /** In the group (joined, not crashed): handover tokens can be committed. */
  #inGroup = false;
  #crashes = 0;
  readonly #unlisten: (() => void)[] = [];

  constructor(settings: MemberSettings) {
    this.#s = settings;
    this.#grouped = settings.options.group !== null;
    const { tuning } = settings;
    this.#consumer = settings.kafka.consumer({
      groupId: settings.groupId,
      partitionAssigners: [parleyAssigner(() => this.#claims(), settings.options.partitions)],
      sessionTimeout: tuning.sessionTimeoutMs,
      rebalanceTimeout: tuning.rebalanceTimeoutMs,
      heartbeatInterval: tuning.heartbeatIntervalMs,
      maxWaitTimeInMs: tuning.maxWaitTimeMs,
      minBytes: tuning.minBytes,
      maxBytesPerPartition: tuning.maxBytesPerPartition,
      maxBytes: tuning.maxBytes,
      allowAutoTopicCreation: false,
      retry: tuning.retry,
    });
    const { events } = this.#consumer;
    this.#unlisten.push(
      this.#consumer.on(events.GROUP_JOIN, (event) => this.#onGroupJoin(event.payload.memberId, event.payload.memberAssignment)),
      this.#consumer.on(events.CRASH, (event) => this.#onCrash(event.payload.error, event.payload.restart)),
    );
  }

  /** Joins and resolves once the first assignment is in place (onAssigned done, start offsets fixed). */
  async start(): Promise<void> {
    const timeout = setTimeout(() => {
      this.#joined.reject(
        new Error(
          `consumer of ${this.#s.topic} (group ${this.#s.groupId}) not assigned within ${this.#s.tuning.joinTimeoutMs} ms`,
        ),
      );
    }, this.#s.tuning.joinTimeoutMs);
    try {
      await this.#consumer.connect();
      // Where kafkajs starts on its own (no committed offset, or an offset
      // that fell out of retention): the earliest record kept. Every start
      // position is sought explicitly anyway.
      await this.#consumer.subscribe({ topic: this.#s.topic, fromBeginning: true });
      await this.#run();
      await this.#joined.promise;
    } catch (error) {
      await this.stop().catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Resolves after the in-flight batch, onRevoked, the final commits and leaving the group. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  #run(): Promise<void> {
    return this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#s.tuning.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#track(payload.batch.partition, this.#eachBatch(payload)),
    });
  }

  #claims(): MemberClaims {
    // Called by kafkajs on every JoinGroup: a fresh nonce for each.
    this.#nonce = randomUUID();
    return {
      owned: [...this.#slots.keys()].sort((a, b) => a - b),
      releasing: this.#releasing.map((s) => s.partition).sort((a, b) => a - b),
      nonce: this.#nonce,
    };
  }

  // ---- assignment ------------------------------------------------------------

  /** Runs synchronously inside kafkajs's join, before it fetches for the new assignment. */
  #onGroupJoin(memberId: string, assignment: Record<string, number[]>): void {
    if (aborted(this.#stopped.signal)) {
      // Leaving: nothing new is fetched before the group is left.
      this.#pause(assignment[this.#s.topic] ?? []);
      return;
    }
    this.#memberId = memberId;
    this.#inGroup = true;
    this.#crashes = 0;
    this.#generation.abort();
    this.#generation = new AbortController();
    const assigned = new Set(assignment[this.#s.topic] ?? []);
    for (const [p, slot] of this.#slots) {
      if (assigned.has(p)) continue;
      this.#slots.delete(p);
      this.#clearBackoff(slot);
      this.#releasing.push(slot);
    }
    for (const p of assigned) {
      const slot = this.#slots.get(p);
      if (slot?.state === 'ready') {
        // Kept: kafkajs dropped its resolved offsets with the old generation.
        this.#seek(p, slot.fetchFrom);
        if (slot.backoff === null) this.#resume([p]);
        else this.#pause([p]);
      } else {
        if (!slot) {
          this.#slots.set(p, {
            partition: p,
            state: 'pending',
            announced: false,
            position: null,
            fetchFrom: 0,
            retry: null,
            attempt: 0,
            backoff: null,
            committedAt: 0,
          });
        }
        this.#pause([p]);
      }
    }
    this.#hasJoined = true;
    this.#kick();
  }

  #onCrash(error: Error, restart: boolean): void {
    if (aborted(this.#stopped.signal)) return;
    this.#s.onError(error, `consumer of ${this.#s.topic} (group ${this.#s.groupId}) crashed`);
    // kafkajs has already left the group: everything held is gone. No
    // handover tokens (a member outside the group is waited for by nobody).
    this.#inGroup = false;
    this.#generation.abort();
    this.#generation = new AbortController();
    for (const slot of this.#slots.values()) {
      this.#clearBackoff(slot);
      this.#releasing.push(slot);
    }
    this.#slots.clear();
    this.#kick();
    if (!restart) {
      // kafkajs gives up on non-retriable errors; we do not: a stopped
      // processor or projection is worse than a retried one.
      const wait = this.#backoff(++this.#crashes);
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (aborted(this.#stopped.signal)) return;
        this.#run().catch((e: unknown) => this.#s.onError(e, `restart of the consumer of ${this.#s.topic}`));
      }, wait);
    }
  }

  #kick(): void {
    this.#dirty = true;
    this.#reconciling ??= this.#reconcile().finally(() => {
      this.#reconciling = null;
      if (this.#dirty && !aborted(this.#stopped.signal)) this.#kick();
    });
  }

  /** Releases, then assigns, one step after another, until nothing changed meanwhile. */
  async #reconcile(): Promise<void> {
    while (this.#dirty && !aborted(this.#stopped.signal)) {
      this.#dirty = false;
      try {
        if (this.#releasing.length > 0) await this.#release(this.#releasing.splice(0));
        const pending = [...this.#slots.values()].filter((s) => s.state === 'pending');
        if (pending.length > 0) await this.#assign(pending, this.#generation.signal);
      } catch (error) {
        if (aborted(this.#stopped.signal)) break;
        this.#s.onError(error, `assignment of ${this.#s.topic}`);
        this.#dirty = true;
        await pause(this.#s.tuning.retryBackoffMs, this.#stopped.signal);
      }
    }
    if (this.#hasJoined && ![...this.#slots.values()].some((s) => s.state === 'pending')) this.#joined.resolve(undefined);
  }

  /** onRevoked for the announced ones, then their final positions as handover tokens. */
  async #release(slots: Slot[]): Promise<void> {
    // kafkajs rejoins only after its batches finished, but a join it starts
    // from inside a fetch (stale metadata) does not wait for the batches of
    // other brokers' fetchers: let those end first (they stop at their next
    // chunk, the partition being gone).
    const partitions = new Set(slots.map((s) => s.partition));
    await Promise.allSettled([...this.#inFlight].filter(([, p]) => partitions.has(p)).map(([work]) => work));
    if (!this.#grouped) {
      for (const s of slots) if (s.position !== null) this.#positions.set(s.partition, s.position);
    }
    const announced = slots
      .filter((s) => s.announced)
      .map((s) => s.partition)
      .sort((a, b) => a - b);
    if (announced.length > 0 && this.#s.options.onRevoked) {
      try {
        await this.#s.options.onRevoked(announced);
      } catch (error) {
        this.#s.onError(error, `onRevoked (${this.#s.topic})`);
      }
    }
    if (!this.#grouped || !this.#inGroup || slots.length === 0) return;
    try {
      const fallback = slots.some((s) => s.position === null)
        ? await this.#startPositions(
            slots.map((s) => s.partition),
            false,
          )
        : null;
      const metadata = `${handoverPrefix}${this.#nonce}`;
      await this.#consumer.commitOffsets(
        slots.map((s) => ({
          topic: this.#s.topic,
          partition: s.partition,
          offset: String(s.position ?? fallback!.get(s.partition)!),
          metadata,
        })),
      );
    } catch (error) {
      // The next owner waits for the token until handoverTimeoutMs, then
      // starts at the last committed offset (redelivering, never skipping).
      this.#s.onError(error, `handover commit of ${this.#s.topic} ${slots.map((s) => s.partition).join(',')}`);
    }
  }

  async #assign(pending: Slot[], signal: AbortSignal): Promise<void> {
    // Slots announced in an earlier round whose start offsets failed are not
    // announced twice.
    const fresh = pending.filter((s) => !s.announced);
    if (fresh.length > 0) {
      const partitions = fresh.map((s) => s.partition).sort((a, b) => a - b);
      if (this.#grouped) {
        await this.#awaitHandover(partitions, signal);
        if (aborted(signal)) return; // a newer assignment: the loop runs again
      }
      for (let attempt = 1; ; attempt++) {
        if (aborted(signal) || aborted(this.#stopped.signal)) return;
        try {
          await this.#s.options.onAssigned?.(partitions);
          break;
        } catch (error) {
          this.#s.onError(error, `onAssigned (${this.#s.topic})`);
          await pause(this.#backoff(attempt), signal);
        }
      }
      // Announced even if a newer assignment took some away meanwhile: those
      // are releasing now and hear onRevoked next.
      for (const slot of fresh) slot.announced = true;
    }
    const live = pending.filter((s) => this.#slots.get(s.partition) === s);
    if (live.length === 0 || aborted(this.#stopped.signal)) return;
    const starts = await this.#startPositions(
      live.map((s) => s.partition),
      true,
    );
    const watermarks = await this.#s.watermarks(this.#s.topic);
    for (const slot of live) {
      if (this.#slots.get(slot.partition) !== slot || aborted(this.#stopped.signal)) continue;
      const start = starts.get(slot.partition)!;
      const { low, high } = watermarks.get(slot.partition) ?? { low: 0, high: 0 };
      // Kafka refuses a fetch outside [low, high]; the handler skips records
      // below `position`, so a start past the end still starts there.
      slot.position = start;
      slot.fetchFrom = Math.min(Math.max(start, low), high);
      slot.state = 'ready';
      this.#seek(slot.partition, slot.fetchFrom);
      this.#resume([slot.partition]);
    }
  }

  /**
   * Start offsets: startAt (when asked), else the group's committed offset
   * (without a group: where this consumer stood before a crash), else `from`
   * (earliest kept, or the end at consume() time).
   */
  async #startPositions(partitions: number[], askStartAt: boolean): Promise<Map<number, number>> {
    const { admin, topic, options, latest } = this.#s;
    const committed = new Map<number, number>();
    if (this.#grouped) {
      const offsets = await admin.fetchOffsets({ groupId: this.#s.groupId, topics: [topic] });
      for (const p of offsets.find((t) => t.topic === topic)?.partitions ?? []) {
        const offset = Number(p.offset);
        if (offset >= 0) committed.set(p.partition, offset);
      }
    }
    let watermarks: Map<number, { low: number; high: number }> | null = null;
    const starts = new Map<number, number>();
    for (const p of partitions) {
      let start: number | null = null;
      if (askStartAt && options.startAt) start = await this.#retryUser(`startAt(${p})`, () => options.startAt!(p));
      start ??= committed.get(p) ?? this.#positions.get(p) ?? null;
      if (start === null && options.from === 'latest') start = latest?.get(p) ?? null;
      if (start === null) {
        watermarks ??= await this.#s.watermarks(topic);
        const bounds = watermarks.get(p) ?? { low: 0, high: 0 };
        start = options.from === 'earliest' ? bounds.low : bounds.high;
      }
      starts.set(p, start);
    }
    return starts;
  }

  /** Waits for the handover tokens of the members still claiming `partitions`. */
  async #awaitHandover(partitions: number[], signal: AbortSignal): Promise<void> {
    const { topic, tuning } = this.#s;
    const deadline = Date.now() + tuning.handoverTimeoutMs;
    // Members' join metadata is only described while the group is Stable; if
    // it is rebalancing again, a newer GROUP_JOIN will abort this anyway.
    let described = await this.#consumer.describeGroup();
    while (described.state !== 'Stable' && !aborted(signal) && Date.now() < deadline) {
      await pause(tuning.handoverPollMs, signal);
      described = await this.#consumer.describeGroup();
    }
    if (aborted(signal)) return;
    // For each gained partition, the member to wait for: the one that holds
    // it, else one still giving it up. (Two claimants only arise from three
    // rebalances in quick succession; the holder then waited for the other.)
    const tokens = new Map<number, { token: string; memberId: string; owned: boolean }>();
    for (const member of described.members) {
      if (member.memberId === this.#memberId) continue;
      const { claims } = decodeMember(member);
      const token = `${handoverPrefix}${claims.nonce}`;
      for (const p of claims.releasing) {
        if (partitions.includes(p) && !tokens.get(p)?.owned) tokens.set(p, { token, memberId: member.memberId, owned: false });
      }
      for (const p of claims.owned) {
        if (partitions.includes(p)) tokens.set(p, { token, memberId: member.memberId, owned: true });
      }
    }
    while (tokens.size > 0 && !aborted(signal)) {
      const offsets = await this.#s.admin.fetchOffsets({ groupId: this.#s.groupId, topics: [topic] });
      for (const p of offsets.find((t) => t.topic === topic)?.partitions ?? []) {
        if (p.metadata !== null && p.metadata === tokens.get(p.partition)?.token) tokens.delete(p.partition);
      }
      if (tokens.size === 0) return;
      if (Date.now() > deadline) {
        const from = [...tokens].map(([p, t]) => `${p} from ${t.memberId}`).join(', ');
        this.#s.onError(
          new Error(`no handover within ${tuning.handoverTimeoutMs} ms for partitions ${from}; taking them anyway`),
          `handover of ${topic}`,
        );
        return;
      }
      await pause(tuning.handoverPollMs, signal);
    }
  }

  // ---- batches -----------------------------------------------------------------

  #track(partition: number, work: Promise<void>): Promise<void> {
    this.#inFlight.set(work, partition);
    return work.finally(() => this.#inFlight.delete(work));
  }

  async #eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const { topic, options, maxBatchSize, tuning } = this.#s;
    const partition = batch.partition;
    const slot = this.#slots.get(partition);
    // Not ours to handle (not ready, backing off, about to be sought): drop it
    // unresolved; kafkajs fetches it again from where we stand.
    if (aborted(this.#stopped.signal) || slot?.state !== 'ready' || slot.backoff !== null || payload.isStale()) return;

    let records = batch.messages.map((m) => toLogRecord(topic, partition, m));
    const position = slot.position!;
    if (records.length > 0 && records[0]!.offset < position) {
      records = records.filter((r) => r.offset >= position);
      if (records.length === 0) {
        payload.resolveOffset(String(position - 1));
        return;
      }
    }
    if (records.length === 0) return;

    const chunks: LogRecord[][] = [];
    let rest = records;
    if (slot.retry !== null && slot.retry[0]!.offset === records[0]!.offset) {
      const last = slot.retry[slot.retry.length - 1]!.offset;
      chunks.push(slot.retry);
      rest = records.filter((r) => r.offset > last);
    } else {
      slot.retry = null;
    }
    for (let i = 0; i < rest.length; i += maxBatchSize) chunks.push(rest.slice(i, i + maxBatchSize));

    // Heartbeats while a long handler runs; a failing one means a rebalance:
    // no further chunk starts, and kafkajs rejoins once this batch returns.
    let rebalance: Error | null = null;
    const ticker = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        if (isRebalanceError(error)) rebalance ??= error;
      });
    }, tuning.heartbeatIntervalMs);
    try {
      for (const chunk of chunks) {
        if (rebalance !== null || !payload.isRunning() || aborted(this.#stopped.signal) || this.#slots.get(partition) !== slot)
          break;
        const handed: Batch = { topic, partition, records: [...chunk] };
        try {
          await options.eachBatch(handed);
        } catch (error) {
          this.#failed(slot, chunk, error);
          break;
        }
        const last = chunk[chunk.length - 1]!.offset;
        slot.retry = null;
        slot.attempt = 0;
        slot.position = last + 1;
        slot.fetchFrom = last + 1;
        payload.resolveOffset(String(last));
        if (this.#grouped && Date.now() - slot.committedAt >= tuning.commitIntervalMs) {
          slot.committedAt = Date.now();
          try {
            await payload.commitOffsetsIfNecessary({
              topics: [{ topic, partitions: [{ partition, offset: String(last + 1) }] }],
            });
          } catch (error) {
            // Handled but not committed: at least once. A rebalance commits
            // the position in the handover token if the partition moves.
            if (isRebalanceError(error)) rebalance ??= error;
            else this.#s.onError(error, `commit ${this.#s.groupId} ${topic}[${partition}]`);
          }
        }
      }
    } finally {
      clearInterval(ticker);
    }
    if (rebalance !== null) throw rebalance;
  }

  /** Keeps the failed chunk, pauses the partition and seeks back to it; resumes after a backoff. */
  #failed(slot: Slot, chunk: LogRecord[], error: unknown): void {
    const { topic } = this.#s;
    this.#s.onError(error, `eachBatch ${topic}[${slot.partition}]@${chunk[0]!.offset}`);
    slot.retry = chunk;
    slot.attempt++;
    slot.fetchFrom = chunk[0]!.offset;
    this.#pause([slot.partition]);
    this.#seek(slot.partition, slot.fetchFrom);
    slot.backoff = setTimeout(() => {
      slot.backoff = null;
      if (this.#slots.get(slot.partition) === slot && !aborted(this.#stopped.signal)) this.#resume([slot.partition]);
    }, this.#backoff(slot.attempt));
  }

  #clearBackoff(slot: Slot): void {
    if (slot.backoff !== null) clearTimeout(slot.backoff);
    slot.backoff = null;
  }

  // ---- stop ----------------------------------------------------------------------

  async #stop(): Promise<void> {
    this.#stopped.abort();
    this.#generation.abort();
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#joined.reject(new Error('consumer stopped before it was assigned'));
    this.#joined.promise.catch(() => undefined);
    const held = [...this.#slots.keys()];
    for (const slot of this.#slots.values()) this.#clearBackoff(slot);
    this.#pause(held);
    // The batch in flight finishes (its commit too); no other starts.
    await Promise.allSettled([...this.#inFlight.keys()]);
    await this.#reconciling;
    const all = [...this.#releasing.splice(0), ...this.#slots.values()];
    this.#slots.clear();
    await this.#release(all);
    for (const unlisten of this.#unlisten) unlisten();
    await this.#consumer.disconnect();
    if (!this.#grouped) {
      // A group of one that nobody will use again.
      await this.#s.admin.deleteGroups([this.#s.groupId]).catch(() => undefined);
    }
  }

  // ---- kafkajs calls that must not throw from a listener ------------------------

  #seek(partition: number, offset: number): void {
    try {
      this.#consumer.seek({ topic: this.#s.topic, partition, offset: String(offset) });
    } catch (error) {
      this.#s.onError(error, `seek ${this.#s.topic}[${partition}]`);
    }
  }

  #pause(partitions: number[]): void {
    if (partitions.length === 0) return;
    try {
      this.#consumer.pause([{ topic: this.#s.topic, partitions }]);
    } catch {
      // not running (crashed or stopped): nothing is fetched anyway
    }
  }

  #resume(partitions: number[]): void {
    try {
      this.#consumer.resume([{ topic: this.#s.topic, partitions }]);
    } catch {
      // not running: the next GROUP_JOIN sets every partition's state
    }
  }

  #backoff(attempt: number): number {
    const { retryBackoffMs, retryBackoffMaxMs } = this.#s.tuning;
    return Math.min(retryBackoffMaxMs, retryBackoffMs * 2 ** Math.min(attempt - 1, 16));
  }

  /** Retries a user callback with backoff until it succeeds or the member stops. */
  async #retryUser<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (aborted(this.#stopped.signal)) throw error;
        this.#s.onError(error, `${what} (${this.#s.topic})`);
        await pause(this.#backoff(attempt), this.#stopped.signal);
      }
    }
  }
}
