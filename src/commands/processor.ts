// The command processor: the single writer of its partitions. For each
// partition it is given, it first restores every aggregate of that partition
// from the events log, then serves the partition's commands in order:
// decide → append events → answer the outcome. Because nobody else writes these
// aggregates, invariants (a gapless `seq`, unique usernames) need no locks.

import type { Logger } from 'pino';
import { deciderFor, type AnyCommand } from '../domain/aggregates.ts';
import { Rejection, type DomainEvent } from '../domain/decider.ts';
import type { AppendRecord, Consumer, Log, LogRecord, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import { decodeCommand, encodeOutcome, type Outcome } from './envelope.ts';

export interface EventCodec {
  encode(type: string, data: unknown): Buffer;
  decode(type: string, value: Buffer): unknown;
}

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
}

/** What the processor holds for one partition it owns. */
interface PartitionState {
  aggregates: Map<string, unknown>;
  /** command id → the position of its last event (bounded, oldest evicted first). */
  recent: Map<string, Position | null>;
  /** Position of the last event in the partition, for no-op outcomes. */
  head: Position | null;
}

export interface Processor {
  stop(): Promise<void>;
  /** Partitions this processor currently owns (for tests and /readyz). */
  ownedPartitions(): number[];
}

export async function startProcessor(options: ProcessorOptions): Promise<Processor> {
  const { log, codec, logger, instanceId, recentCommands } = options;
  const pageSize = options.restorePageSize ?? 1000;
  const owned = new Map<number, PartitionState>();
  let generation = 0;

  async function restore(partition: number): Promise<PartitionState> {
    const started = Date.now();
    const state: PartitionState = { aggregates: new Map(), recent: new Map(), head: null };
    let offset = await log.startOffset(topics.events, partition);
    const end = await log.endOffset(topics.events, partition);
    while (offset < end) {
      const records = await log.read(topics.events, partition, offset, pageSize);
      if (records.length === 0) break;
      for (const record of records) applyRecord(state, record);
      offset = records[records.length - 1]!.offset + 1;
    }
    logger.info(
      { partition, aggregates: state.aggregates.size, events: end, ms: Date.now() - started },
      'partition restored',
    );
    return state;
  }

  function applyRecord(state: PartitionState, record: LogRecord): void {
    const type = record.headers[headers.eventType];
    if (type === undefined) return;
    const event: DomainEvent = { type, data: codec.decode(type, record.value) };
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
    if (state.recent.size > recentCommands) {
      state.recent.delete(state.recent.keys().next().value!);
    }
  }

  /** Decides one command against the partition's state; evolves it in memory. */
  function handle(state: PartitionState, partition: number, record: LogRecord, pendingEvents: AppendRecord[]) {
    const command = decodeCommand(record.value);
    const commandId = command.metadata.command_id;
    const aggregateId = record.key;
    if (state.recent.has(commandId)) {
      return { outcome: { command_id: commandId, status: 'accepted', events: 0, position: state.recent.get(commandId)! } as Outcome };
    }
    const decider = deciderFor(aggregateId);
    const current = state.aggregates.get(aggregateId) ?? decider.initialState();
    let events: DomainEvent[];
    try {
      events = decider.decide(command, current);
    } catch (error) {
      if (error instanceof Rejection) {
        return {
          outcome: {
            command_id: commandId,
            status: 'rejected',
            code: error.code,
            message: error.message,
            details: error.details,
          } as Outcome,
        };
      }
      logger.error({ err: error, commandId, type: command.type }, 'decider failed');
      return {
        outcome: { command_id: commandId, status: 'rejected', code: 'internal', message: 'internal error' } as Outcome,
      };
    }
    let next = current;
    for (const event of events) {
      pendingEvents.push(eventRecord(command, aggregateId, partition, event, record));
      next = decider.evolve(next, event);
    }
    state.aggregates.set(aggregateId, next);
    return { outcome: null as Outcome | null, commandId, eventCount: events.length };
  }

  function eventRecord(
    command: AnyCommand,
    aggregateId: string,
    partition: number,
    event: DomainEvent,
    source: LogRecord,
  ): AppendRecord {
    return {
      key: aggregateId,
      partition,
      value: codec.encode(event.type, event.data),
      headers: {
        [headers.eventType]: event.type,
        [headers.commandId]: command.metadata.command_id,
        [headers.aggregateId]: aggregateId,
        [headers.correlationId]: source.headers[headers.correlationId] ?? command.metadata.command_id,
        [headers.at]: String(command.metadata.at),
        [headers.writer]: `${instanceId}/${generation}`,
      },
    };
  }

  const consumer: Consumer = await log.consume({
    topic: topics.commands,
    group: 'parley.processor',
    from: 'earliest',
    onAssigned: async (partitions) => {
      generation++;
      for (const partition of partitions) owned.set(partition, await restore(partition));
    },
    onRevoked: async (partitions) => {
      for (const partition of partitions) owned.delete(partition);
    },
    eachBatch: async ({ partition, records }) => {
      let state = owned.get(partition);
      if (state === undefined) {
        state = await restore(partition);
        owned.set(partition, state);
      }
      const pendingEvents: AppendRecord[] = [];
      // Outcomes wait until the events they report are durable.
      const replies: { replyTo: string | undefined; outcome: Outcome | null; commandId?: string; eventCount?: number }[] = [];
      for (const record of records) {
        const result = handle(state, partition, record, pendingEvents);
        replies.push({ replyTo: record.headers[headers.replyTo], ...result });
      }

      let positions: Position[] = [];
      if (pendingEvents.length > 0) {
        try {
          positions = await log.append(topics.events, pendingEvents);
        } catch (error) {
          // The in-memory state ran ahead of the log: forget it, restore on the
          // redelivery of this batch (its appended commands are then known).
          owned.delete(partition);
          throw error;
        }
      }

      const outcomes: AppendRecord[] = [];
      let cursor = 0;
      for (const reply of replies) {
        let outcome = reply.outcome;
        if (outcome === null) {
          const count = reply.eventCount ?? 0;
          cursor += count;
          const position = count > 0 ? positions[cursor - 1]! : state.head;
          if (count > 0) state.head = position;
          remember(state, reply.commandId!, position);
          outcome = { command_id: reply.commandId!, status: 'accepted', events: count, position };
        }
        if (reply.replyTo !== undefined) {
          outcomes.push({ key: reply.replyTo, value: encodeOutcome(outcome) });
        }
      }
      if (outcomes.length > 0) await log.append(topics.outcomes, outcomes);
    },
  });

  return {
    stop: () => consumer.stop(),
    ownedPartitions: () => [...owned.keys()].sort((a, b) => a - b),
  };
}
