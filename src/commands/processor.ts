// The command processor: the single writer of its partitions. For each
// partition it is given, it first restores every aggregate of that partition
// from the events log, then serves the partition's commands in order:
// decide → append events → answer the outcome. Because nobody else writes these
// aggregates, invariants (a gapless `seq`, unique usernames) need no locks.
//
// A writer that lost its partition without knowing it (a zombie) is fenced:
// its events carry the offsets it expected, land elsewhere, and are ignored by
// every reader; it notices the same mismatch and answers no client
// (log/fencing.ts).

import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { aggregateIdOf, deciderFor, type AnyCommand } from '../domain/aggregates.ts';
import { Rejection, type DomainEvent } from '../domain/decider.ts';
import { decodeOrSkip, undecodableFields, type EventCodec } from '../log/codec.ts';
import { unsealedFields } from '../privacy/sealing.ts';
import type { AppendRecord, Consumer, Log, LogRecord, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { decodeCommand, encodeOutcome, type Outcome } from './envelope.ts';
import { needsOfCommand, needsOfEvent, PartitionSnapshotNotes } from './cold-entries.ts';
import { recordIdentity, type PartitionSnapshot, type SnapshotStore } from './snapshots.ts';

export interface ProcessorOptions {
  log: Log;
  codec: EventCodec;
  logger: Logger;
  /** Identifies this writer in the events it appends. */
  instanceId: string;
  /** Command ids remembered per partition, so a redelivered command is answered, not re-run. */
  recentCommands: number;
  /** Records read per page while restoring. */
  restorePageSize?: number;
  /** The consumer group of processors (tests run isolated groups). */
  group?: string;
  /** Where partitions are snapshotted and restored from (absent: every restore folds the whole history). */
  snapshots?: SnapshotOptions;
}

export interface SnapshotOptions {
  store: SnapshotStore;
  /** A partition is snapshotted once this many events were applied since its last snapshot (PARLEY_SNAPSHOT_EVERY_EVENTS). */
  everyEvents: number;
  /** Cold entries (a room's messages) kept in memory per aggregate after a snapshot (PARLEY_SNAPSHOT_HOT_MESSAGES). */
  hotEntries: number;
}

/** How a partition was restored (the log line, and tests). */
export interface RestoreReport {
  partition: number;
  /** The snapshot's offset, or null when the whole history was folded. */
  snapshotOffset: number | null;
  eventsRead: number;
  aggregates: number;
  ms: number;
}

/** A partition's recent commands as a snapshot keeps them: least recently stored first. */
function recentOldestFirst(state: PartitionState): [string, Position | null][] {
  const oldestFirst: [string, Position | null][] = [];
  for (const commandId of state.recent.rkeys()) oldestFirst.push([commandId, state.recent.peek(commandId)!.position]);
  return oldestFirst;
}

/** What the processor holds for one partition it owns. */
interface PartitionState {
  aggregates: Map<string, unknown>;
  /**
   * command id → the position of its last event, the `recentCommands` stored
   * last (lru-cache: a Map trimmed at its first key walks the holes earlier
   * trims left, O(size) per store — bench/README, fix 33). Wrapped: lru-cache
   * takes no null value.
   */
  recent: LRUCache<string, { position: Position | null }>;
  /** Position of the last event in the partition, for no-op outcomes. */
  head: Position | null;
  /** The offset this writer expects its next event to get. */
  nextOffset: number;
  /** Identifies the last record applied (`recordIdentity`), for the next snapshot. */
  lastRecord: string;
  /** What the next snapshot writes, and the big aggregates' cold entries (null: no snapshots). */
  notes: PartitionSnapshotNotes | null;
  /** A snapshot is queued in the partition's turn. */
  snapshotDue: boolean;
}

/** A command to decide, from the commands topic or handed over in this process. */
interface Submission {
  command: AnyCommand;
  /** The aggregate it addresses (the record key on the logs). */
  key: string;
  correlationId: string;
}

/** What became of one command of a batch, before its events are durable. */
type Decision =
  /** A retry of a command this partition accepted recently: answered as then, nothing appended. */
  | { kind: 'repeat'; outcome: Outcome }
  | { kind: 'rejected'; outcome: Outcome }
  /** Its events, already evolved into the partition's state in memory, wait to be appended. */
  | { kind: 'accepted'; submission: Submission; events: DomainEvent[] };

export interface Processor {
  /**
   * Decides a command in this process when its partition is assigned here,
   * without the round trip through the commands and outcomes topics; null
   * when it is not (the caller sends it through the commands topic). A
   * command handed over this way is serialized with the partition's topic
   * commands, so the partition still has one writer. Rejects with
   * `PartitionMoved` if the partition leaves before the command's turn, or
   * with the log's error if its events could not be appended (then nothing of
   * it is visible to any reader: fencing, or an append that did not happen).
   */
  decideHere(command: AnyCommand, correlationId: string): Promise<Outcome> | null;
  stop(): Promise<void>;
  /** Partitions this processor currently owns (for tests and /readyz). */
  ownedPartitions(): number[];
  /** How each partition was last restored here (tests, bench). */
  restores(): RestoreReport[];
}

/** The partition of a command handed to `decideHere` left this processor before its turn: send it through the topic. */
export class PartitionMoved extends Error {
  constructor(partition: number) {
    super(`partition ${partition} is no longer assigned to this processor`);
    this.name = 'PartitionMoved';
  }
}

/** Commands handed over in this process, waiting for their partition's turn. */
interface HandedOver {
  submission: Submission;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/** Raised when this writer's appends landed where it did not expect: its view is stale. */
class StaleWriter extends Error {
  constructor(partition: number) {
    super(`partition ${partition}: events landed at unexpected offsets; another writer owns it`);
    this.name = 'StaleWriter';
  }
}

export async function startProcessor(options: ProcessorOptions): Promise<Processor> {
  const { log, codec, logger, instanceId, recentCommands } = options;
  const pageSize = options.restorePageSize ?? 1000;
  /** Partitions the consumer group gave this processor. */
  const assigned = new Set<number>();
  /** Their restored state; forgotten (restored again on next use) when an append failed. */
  const owned = new Map<number, PartitionState>();
  /** Per partition, the tail of the work serialized on it (restores, topic batches, handed-over batches). */
  const turns = new Map<number, Promise<unknown>>();
  /** Per partition, commands handed over and waiting for their turn. */
  const handedOver = new Map<number, HandedOver[]>();
  let generation = 0;
  let stopped = false;
  const restoreReports = new Map<number, RestoreReport>();

  /** Runs `work` after everything already serialized on the partition: one writer at a time. */
  function inTurn<T>(partition: number, work: () => Promise<T>): Promise<T> {
    const previous = turns.get(partition) ?? Promise.resolve();
    const run = previous.then(work);
    turns.set(
      partition,
      run.catch(() => undefined),
    );
    return run;
  }

  /**
   * The partition's state: from its snapshot and the events after it, or
   * from its whole history when there is no usable snapshot.
   */
  async function restore(partition: number): Promise<PartitionState> {
    const started = Date.now();
    const start = await log.startOffset(topics.events, partition);
    const end = await log.endOffset(topics.events, partition);
    const snapshot = await usableSnapshot(partition, start, end);
    const state = emptyState(start, snapshot?.memory.spilled);
    if (snapshot !== null) {
      state.aggregates = state.notes!.restored(snapshot.aggregates);
      // Oldest first, as written: the last one stored is the most recent.
      for (const [commandId, position] of snapshot.memory.recent) state.recent.set(commandId, { position });
      state.head = snapshot.memory.head;
      state.lastRecord = snapshot.lastRecord;
      state.nextOffset = snapshot.nextOffset;
    }
    let offset = state.nextOffset;
    while (offset < end) {
      const records = await log.read(topics.events, partition, offset, pageSize);
      if (records.length === 0) break;
      const events = records.map((record) => ({ record, event: decodeForRestore(record) }));
      await state.notes?.load(
        state.aggregates,
        events.flatMap(({ record, event }) => (event === null ? [] : [needsOfEvent(record.key, event)])),
      );
      for (const { record, event } of events) applyRecord(state, record, event);
      offset = records[records.length - 1]!.offset + 1;
    }
    const report: RestoreReport = {
      partition,
      snapshotOffset: snapshot?.nextOffset ?? null,
      eventsRead: offset - state.nextOffset,
      aggregates: state.aggregates.size,
      ms: Date.now() - started,
    };
    state.nextOffset = offset;
    restoreReports.set(partition, report);
    logger.info({ ...report, endOffset: end }, 'partition restored');
    // A long history folded: snapshot it now, so the next restore need not.
    if (options.snapshots !== undefined && report.eventsRead >= options.snapshots.everyEvents) {
      await takeSnapshot(partition, state);
    }
    return state;
  }

  function emptyState(offset: number, spilled: string[] = []): PartitionState {
    const snapshots = options.snapshots;
    return {
      aggregates: new Map(),
      recent: new LRUCache({ max: recentCommands }),
      head: null,
      nextOffset: offset,
      lastRecord: '',
      notes: snapshots === undefined ? null : new PartitionSnapshotNotes(snapshots.store, snapshots.hotEntries, spilled),
      snapshotDue: false,
    };
  }

  /**
   * The partition's snapshot if it belongs to this log: its offset lies within
   * the log and the record just before it is the one it says. Otherwise it is
   * discarded, and the history folded.
   */
  async function usableSnapshot(partition: number, start: number, end: number) {
    const store = options.snapshots?.store;
    if (store === undefined) return null;
    let snapshot: PartitionSnapshot | null;
    try {
      snapshot = await store.load(partition);
    } catch (error) {
      // The database is away: the log alone still restores the partition.
      logger.warn({ err: error, partition }, 'snapshot unreadable: restoring from the whole history');
      return null;
    }
    if (snapshot === null) return null;
    let matches = snapshot.nextOffset === start && snapshot.lastRecord === '';
    if (snapshot.nextOffset > start && snapshot.nextOffset <= end) {
      const [last] = await log.read(topics.events, partition, snapshot.nextOffset - 1, 1);
      matches = last !== undefined && recordIdentity(last.key, last.headers[headers.commandId]) === snapshot.lastRecord;
    }
    if (matches) return snapshot;
    logger.warn({ partition, snapshotOffset: snapshot.nextOffset, start, end }, 'snapshot does not match the log: discarded');
    // Not discarded (the database is away): the history is folded all the
    // same, and the next takeover tries again; until then this processor's
    // snapshots are refused as older than the stray one — slower, never wrong.
    await store.discard(partition).catch((error: unknown) => {
      logger.warn({ err: error, partition }, 'the stray snapshot could not be discarded; folding the history');
    });
    return null;
  }

  /** An event of the history, or null for one that shapes nothing (stale, or undecodable). */
  function decodeForRestore(record: LogRecord): DomainEvent | null {
    // An event the writer cannot decode cannot shape its aggregate either;
    // refusing every command of the partition for it would wedge them all.
    // It is skipped, loudly: the aggregate is restored without it.
    return decodeOrSkip(codec, record, (error) =>
      logger.error(undecodableFields(error, record), 'undecodable event skipped while restoring aggregates'),
    );
  }

  function applyRecord(state: PartitionState, record: LogRecord, event: DomainEvent | null): void {
    if (event === null) return;
    const decider = deciderFor(record.key);
    const current = state.aggregates.get(record.key) ?? decider.initialState();
    state.aggregates.set(record.key, decider.evolve(current, event));
    state.notes?.noteChanged(record.key, [event]);
    const position = { topic: record.topic, partition: record.partition, offset: record.offset };
    state.head = position;
    const commandId = record.headers[headers.commandId];
    state.lastRecord = recordIdentity(record.key, commandId);
    if (commandId !== undefined) remember(state, commandId, position);
  }

  /**
   * Writes what changed since the partition's last snapshot (cold-entries.ts
   * says what). A failed write only delays: the changes stay noted for the next.
   */
  async function takeSnapshot(partition: number, state: PartitionState): Promise<void> {
    const notes = state.notes!;
    const { changes, spilling } = notes.changes(state.aggregates);
    const started = Date.now();
    let written: boolean;
    try {
      written = await options.snapshots!.store.save(partition, {
        ...changes,
        nextOffset: state.nextOffset,
        lastRecord: state.lastRecord,
        memory: { head: state.head, recent: recentOldestFirst(state), spilled: [...notes.spilled, ...spilling] },
      });
    } catch (error) {
      notes.notWritten();
      logger.warn({ err: error, partition }, 'snapshot not written; the next one will carry its changes');
      return;
    }
    if (!written) {
      // A newer snapshot exists: another writer owns the partition (fencing
      // will tell this one at its next append). Keep the notes; write nothing.
      notes.notWritten();
      logger.warn({ partition, nextOffset: state.nextOffset }, 'a newer snapshot of the partition exists: not overwritten');
      return;
    }
    notes.written(state.aggregates, spilling);
    logger.debug(
      { partition, aggregates: changes.aggregates.size, spilling: spilling.size, ms: Date.now() - started },
      'snapshot written',
    );
  }

  function remember(state: PartitionState, commandId: string, position: Position | null): void {
    // Stored again, it becomes the most recent; past `recentCommands` the least recent goes.
    state.recent.set(commandId, { position });
  }

  /**
   * Runs one command against the partition's state: a repeat is recognised,
   * otherwise its aggregate's decider decides, and accepted events are evolved
   * into the state in memory at once (the next command of the batch sees them).
   */
  function runCommand(state: PartitionState, submission: Submission): Decision {
    const { command, key } = submission;
    const commandId = command.metadata.command_id;
    // peek: a repeat answered does not count as stored again.
    const repeated = state.recent.peek(commandId);
    if (repeated !== undefined) {
      return { kind: 'repeat', outcome: { command_id: commandId, status: 'accepted', events: 0, position: repeated.position } };
    }
    const decider = deciderFor(key);
    const current = state.aggregates.get(key) ?? decider.initialState();
    let events: DomainEvent[];
    try {
      events = decider.decide(command, current);
    } catch (error) {
      if (error instanceof Rejection) {
        return {
          kind: 'rejected',
          outcome: {
            command_id: commandId,
            status: 'rejected',
            code: error.code,
            message: error.message,
            details: error.details,
          },
        };
      }
      logger.error({ err: error, commandId, type: command.type }, 'decider failed');
      return {
        kind: 'rejected',
        outcome: { command_id: commandId, status: 'rejected', code: 'internal', message: 'internal error' },
      };
    }
    // The last line of defence of crypto-shredding: an event whose personal
    // field holds plain text would keep it in the log forever, beyond erasure.
    const unsealed = events.flatMap((event) =>
      unsealedFields(event.data, codec.personalFields(event.type)).map((field) => `${event.type}.${field}`),
    );
    if (unsealed.length > 0) {
      logger.error({ commandId, type: command.type, unsealed }, 'personal data not sealed: command refused');
      return {
        kind: 'rejected',
        outcome: { command_id: commandId, status: 'rejected', code: 'internal', message: 'internal error' },
      };
    }
    state.aggregates.set(
      key,
      events.reduce((next, event) => decider.evolve(next, event), current),
    );
    state.notes?.noteChanged(key, events);
    return { kind: 'accepted', submission, events };
  }

  function eventRecord(submission: Submission, partition: number, event: DomainEvent, expectedOffset: number): AppendRecord {
    const { command, key, correlationId } = submission;
    return {
      key,
      partition,
      value: codec.encode(event.type, event.data),
      headers: {
        [headers.eventType]: event.type,
        [headers.commandId]: command.metadata.command_id,
        [headers.aggregateId]: key,
        [headers.correlationId]: correlationId,
        [headers.at]: String(command.metadata.at),
        [headers.writer]: `${instanceId}/${generation}`,
        [headers.expectedOffset]: String(expectedOffset),
      },
    };
  }

  /** Appends the batch's events; throws StaleWriter when they did not land where expected. */
  async function appendEvents(state: PartitionState, partition: number, pending: AppendRecord[]): Promise<Position[]> {
    if (pending.length === 0) return [];
    const positions = await log.append(topics.events, pending);
    const expected = state.nextOffset;
    if (positions.some((position, index) => position.offset !== expected + index)) throw new StaleWriter(partition);
    state.nextOffset = expected + positions.length;
    return positions;
  }

  async function restoreOwned(partition: number): Promise<PartitionState> {
    const state = await restore(partition);
    owned.set(partition, state);
    return state;
  }

  /**
   * Decides a batch of the partition's commands in order, appends their events
   * in one append, and answers each — only once the events it reports are
   * durable. Runs in the partition's turn.
   */
  async function decideBatch(partition: number, submissions: Submission[]): Promise<Outcome[]> {
    // Restored again after a failed append forgot it (below).
    const state = owned.get(partition) ?? (await restoreOwned(partition));
    await state.notes?.load(
      state.aggregates,
      submissions.map(({ key, command }) => needsOfCommand(key, command)),
    );
    const decisions = submissions.map((submission) => runCommand(state, submission));
    const pending: AppendRecord[] = [];
    for (const decision of decisions) {
      if (decision.kind !== 'accepted') continue;
      for (const event of decision.events) {
        pending.push(eventRecord(decision.submission, partition, event, state.nextOffset + pending.length));
      }
    }

    let positions: Position[];
    try {
      positions = await appendEvents(state, partition, pending);
    } catch (error) {
      // The in-memory state ran ahead of (or beside) the log: forget it and
      // restore on next use. No client hears an outcome for this batch.
      owned.delete(partition);
      if (error instanceof StaleWriter) logger.warn({ partition }, error.message);
      throw error;
    }

    if (pending.length > 0) {
      const last = pending[pending.length - 1]!;
      state.lastRecord = recordIdentity(last.key, last.headers?.[headers.commandId]);
    }
    let cursor = 0;
    const outcomes = decisions.map((decision): Outcome => {
      if (decision.kind !== 'accepted') return decision.outcome;
      const count = decision.events.length;
      cursor += count;
      const position = count > 0 ? positions[cursor - 1]! : state.head;
      if (count > 0) state.head = position;
      const commandId = decision.submission.command.metadata.command_id;
      remember(state, commandId, position);
      return { command_id: commandId, status: 'accepted', events: count, position };
    });
    // Written after these outcomes are answered, as the partition's next work.
    if (state.notes !== null && state.notes.events >= options.snapshots!.everyEvents && !state.snapshotDue) {
      state.snapshotDue = true;
      void inTurn(partition, async () => {
        state.snapshotDue = false;
        if (owned.get(partition) === state) await takeSnapshot(partition, state);
      });
    }
    return outcomes;
  }

  /** Decides the commands handed over for the partition so far, in its turn (one batch, one append). */
  async function decideHandedOver(partition: number): Promise<void> {
    const waiting = handedOver.get(partition) ?? [];
    handedOver.delete(partition);
    if (waiting.length === 0) return;
    if (!assigned.has(partition)) {
      for (const item of waiting) item.reject(new PartitionMoved(partition));
      return;
    }
    const submissions = waiting.map((item) => item.submission);
    try {
      let outcomes: Outcome[];
      try {
        outcomes = await decideBatch(partition, submissions);
      } catch (error) {
        // Another writer appended to the partition (the events this batch
        // wrote are fenced off): decide again on the partition as it is now,
        // restored, as the topic path does on the batch's redelivery.
        if (!(error instanceof StaleWriter) || !assigned.has(partition)) throw error;
        outcomes = await decideBatch(partition, submissions);
      }
      waiting.forEach((item, index) => item.resolve(outcomes[index]!));
    } catch (error) {
      for (const item of waiting) item.reject(error);
    }
  }

  const consumer: Consumer = await log.consume({
    topic: topics.commands,
    group: options.group ?? 'parley.processor',
    from: 'earliest',
    onAssigned: async (partitions) => {
      generation++;
      for (const partition of partitions) {
        assigned.add(partition);
        await inTurn(partition, () => restoreOwned(partition));
      }
    },
    onRevoked: (partitions) => {
      for (const partition of partitions) {
        assigned.delete(partition);
        owned.delete(partition);
      }
    },
    eachBatch: ({ partition, records }) =>
      inTurn(partition, async () => {
        const submissions = records.map((record) => {
          const command = decodeCommand(record.value);
          return {
            command,
            key: record.key,
            correlationId: record.headers[headers.correlationId] ?? command.metadata.command_id,
          };
        });
        const decided = await decideBatch(partition, submissions);
        // Outcomes only now that the events they report are durable.
        const outcomes: AppendRecord[] = [];
        records.forEach((record, index) => {
          const replyTo = record.headers[headers.replyTo];
          if (replyTo !== undefined) outcomes.push({ key: replyTo, value: encodeOutcome(decided[index]!) });
        });
        // Not awaited: the next batch need not wait a round trip for them. The
        // log keeps appends in call order; a lost outcome only makes its client
        // time out and retry, which the recent-commands memory answers.
        if (outcomes.length > 0) {
          log
            .append(topics.outcomes, outcomes)
            .catch((error: unknown) => logger.warn({ err: error, partition }, 'outcomes not appended'));
        }
      }),
  });

  return {
    decideHere(command, correlationId) {
      if (stopped) return null;
      const key = aggregateIdOf(command);
      const partition = log.partitionForKey(topics.commands, key);
      if (!assigned.has(partition)) return null;
      return new Promise<Outcome>((resolve, reject) => {
        const waiting = handedOver.get(partition);
        const item = { submission: { command, key, correlationId }, resolve, reject };
        if (waiting !== undefined) {
          waiting.push(item);
          return;
        }
        handedOver.set(partition, [item]);
        // The partition's turn is taken after this turn of the event loop, so
        // the commands handed over meanwhile share one decision batch and one
        // append (group commit), as a topic batch does.
        setImmediate(() => void inTurn(partition, () => decideHandedOver(partition)));
      });
    },
    async stop() {
      stopped = true;
      await consumer.stop();
      await Promise.all(turns.values());
    },
    ownedPartitions: () => [...owned.keys()].sort((a, b) => a - b),
    restores: () => [...restoreReports.values()],
  };
}
