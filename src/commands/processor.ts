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

import type { Logger } from 'pino';
import { deciderFor, type AnyCommand } from '../domain/aggregates.ts';
import { Rejection, type DomainEvent } from '../domain/decider.ts';
import { decodeOrSkip, undecodableFields, type EventCodec } from '../log/codec.ts';
import { unsealedFields } from '../privacy/sealing.ts';
import type { AppendRecord, Consumer, Log, LogRecord, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { decodeCommand, encodeOutcome, type Outcome } from './envelope.ts';

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
}

/** What the processor holds for one partition it owns. */
interface PartitionState {
  aggregates: Map<string, unknown>;
  /** command id → the position of its last event (bounded, oldest evicted first). */
  recent: Map<string, Position | null>;
  /** Position of the last event in the partition, for no-op outcomes. */
  head: Position | null;
  /** The offset this writer expects its next event to get. */
  nextOffset: number;
}

/** What became of one command of a batch, before its events are durable. */
type Decision =
  /** A retry of a command this partition accepted recently: answered as then, nothing appended. */
  | { kind: 'repeat'; outcome: Outcome }
  | { kind: 'rejected'; outcome: Outcome }
  /** Its events, already evolved into the partition's state in memory, wait to be appended. */
  | { kind: 'accepted'; command: AnyCommand; source: LogRecord; events: DomainEvent[] };

export interface Processor {
  stop(): Promise<void>;
  /** Partitions this processor currently owns (for tests and /readyz). */
  ownedPartitions(): number[];
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
  const owned = new Map<number, PartitionState>();
  let generation = 0;

  async function restore(partition: number): Promise<PartitionState> {
    const started = Date.now();
    let offset = await log.startOffset(topics.events, partition);
    const state: PartitionState = { aggregates: new Map(), recent: new Map(), head: null, nextOffset: offset };
    const end = await log.endOffset(topics.events, partition);
    while (offset < end) {
      const records = await log.read(topics.events, partition, offset, pageSize);
      if (records.length === 0) break;
      for (const record of records) applyRecord(state, record);
      offset = records[records.length - 1]!.offset + 1;
    }
    state.nextOffset = offset;
    logger.info({ partition, aggregates: state.aggregates.size, endOffset: end, ms: Date.now() - started }, 'partition restored');
    return state;
  }

  function applyRecord(state: PartitionState, record: LogRecord): void {
    // An event the writer cannot decode cannot shape its aggregate either;
    // refusing every command of the partition for it would wedge them all.
    // It is skipped, loudly: the aggregate is restored without it.
    const event = decodeOrSkip(codec, record, (error) =>
      logger.error(undecodableFields(error, record), 'undecodable event skipped while restoring aggregates'),
    );
    if (event === null) return;
    const decider = deciderFor(record.key);
    const current = state.aggregates.get(record.key) ?? decider.initialState();
    state.aggregates.set(record.key, decider.evolve(current, event));
    const position = { topic: record.topic, partition: record.partition, offset: record.offset };
    state.head = position;
    const commandId = record.headers[headers.commandId];
    if (commandId !== undefined) remember(state, commandId, position);
  }

  function remember(state: PartitionState, commandId: string, position: Position | null): void {
    state.recent.delete(commandId);
    state.recent.set(commandId, position);
    if (state.recent.size > recentCommands) state.recent.delete(state.recent.keys().next().value!);
  }

  /**
   * Runs one command against the partition's state: a repeat is recognised,
   * otherwise its aggregate's decider decides, and accepted events are evolved
   * into the state in memory at once (the next command of the batch sees them).
   */
  function runCommand(state: PartitionState, record: LogRecord): Decision {
    const command = decodeCommand(record.value);
    const commandId = command.metadata.command_id;
    if (state.recent.has(commandId)) {
      const position = state.recent.get(commandId)!;
      return { kind: 'repeat', outcome: { command_id: commandId, status: 'accepted', events: 0, position } };
    }
    const decider = deciderFor(record.key);
    const current = state.aggregates.get(record.key) ?? decider.initialState();
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
      record.key,
      events.reduce((next, event) => decider.evolve(next, event), current),
    );
    return { kind: 'accepted', command, source: record, events };
  }

  function eventRecord(
    command: AnyCommand,
    source: LogRecord,
    partition: number,
    event: DomainEvent,
    expectedOffset: number,
  ): AppendRecord {
    return {
      key: source.key,
      partition,
      value: codec.encode(event.type, event.data),
      headers: {
        [headers.eventType]: event.type,
        [headers.commandId]: command.metadata.command_id,
        [headers.aggregateId]: source.key,
        [headers.correlationId]: source.headers[headers.correlationId] ?? command.metadata.command_id,
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

  const consumer: Consumer = await log.consume({
    topic: topics.commands,
    group: options.group ?? 'parley.processor',
    from: 'earliest',
    onAssigned: async (partitions) => {
      generation++;
      for (const partition of partitions) await restoreOwned(partition);
    },
    onRevoked: (partitions) => {
      for (const partition of partitions) owned.delete(partition);
    },
    eachBatch: async ({ partition, records }) => {
      // Restored again after a failed append forgot it (below).
      const state = owned.get(partition) ?? (await restoreOwned(partition));
      const decisions = records.map((record) => ({ record, decision: runCommand(state, record) }));
      const pending: AppendRecord[] = [];
      for (const { decision } of decisions) {
        if (decision.kind !== 'accepted') continue;
        for (const event of decision.events) {
          pending.push(eventRecord(decision.command, decision.source, partition, event, state.nextOffset + pending.length));
        }
      }

      let positions: Position[];
      try {
        positions = await appendEvents(state, partition, pending);
      } catch (error) {
        // The in-memory state ran ahead of (or beside) the log: forget it and
        // restore on the redelivery of this batch. No client hears anything.
        owned.delete(partition);
        if (error instanceof StaleWriter) logger.warn({ partition }, error.message);
        throw error;
      }

      // Outcomes only now that the events they report are durable.
      const outcomes: AppendRecord[] = [];
      let cursor = 0;
      for (const { record, decision } of decisions) {
        let outcome: Outcome;
        if (decision.kind !== 'accepted') outcome = decision.outcome;
        else {
          const count = decision.events.length;
          cursor += count;
          const position = count > 0 ? positions[cursor - 1]! : state.head;
          if (count > 0) state.head = position;
          const commandId = decision.command.metadata.command_id;
          remember(state, commandId, position);
          outcome = { command_id: commandId, status: 'accepted', events: count, position };
        }
        const replyTo = record.headers[headers.replyTo];
        if (replyTo !== undefined) outcomes.push({ key: replyTo, value: encodeOutcome(outcome) });
      }
      // Not awaited: the next batch need not wait a round trip for them. The
      // log keeps appends in call order; a lost outcome only makes its client
      // time out and retry, which the recent-commands memory answers.
      if (outcomes.length > 0) {
        log
          .append(topics.outcomes, outcomes)
          .catch((error: unknown) => logger.warn({ err: error, partition }, 'outcomes not appended'));
      }
    },
  });

  return {
    stop: () => consumer.stop(),
    ownedPartitions: () => [...owned.keys()].sort((a, b) => a - b),
  };
}
