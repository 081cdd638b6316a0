// The gateway's two feeds: the events log (every record in partition order
// through the fan-out) and the signals log (room views, typing, presence). It
// reads both from the latest offset, in no consumer group: every gateway sees
// everything and serves its own sockets.

import type { Logger } from 'pino';
import type { AnyEvent } from '../domain/aggregates.ts';
import { decodeOrSkip, undecodableFields, type EventCodec } from '../log/codec.ts';
import type { Consumer, Log, LogRecord } from '../log/port.ts';
import { signalRecord, type AnySignal, type UserOffline, type UserOnline } from '../log/signals.ts';
import { headers, topics } from '../log/topics.ts';
import { SealBroken } from '../privacy/sealing.ts';
import { openEach, type PersonalDataVault } from '../privacy/vault.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import type { AcceptedMessages } from './accepted-messages.ts';
import { messageFromEvent, type Fanout, type OpenedEvent } from './fanout.ts';
import type { RoomViews } from './room-views.ts';
import type { SessionRegistry } from './sessions.ts';
import type { Typing } from './typing.ts';

/**
 * How far this gateway has streamed each partition of the events log, and
 * whether the read model has caught up with it. What the gateway reads from
 * the read model (members, since_seq history) must not be older than what it
 * already streamed live, or a socket would miss the events in between.
 */
export interface StreamedPositions {
  /** The events consumer handled the partition up to `nextOffset` (exclusive). */
  advance: (partition: number, nextOffset: number) => void;
  /**
   * Waits (bounded) until the projection applied everything streamed on the
   * partition, and every offset before `atLeast`; false on timeout.
   */
  readModelCaughtUp: (partition: number, atLeast?: number) => Promise<boolean>;
}

export function createStreamedPositions(options: {
  progress: ProjectionProgress;
  projection: string;
  timeoutMs: number;
}): StreamedPositions {
  const next = new Map<number, number>();
  return {
    advance: (partition, nextOffset) => next.set(partition, nextOffset),
    async readModelCaughtUp(partition, atLeast = 0) {
      const upTo = Math.max(next.get(partition) ?? 0, atLeast);
      if (upTo === 0) return true;
      const lastStreamed = { topic: topics.events, partition, offset: upTo - 1 };
      return options.progress.waitFor(options.projection, lastStreamed, options.timeoutMs);
    },
  };
}

/** Events opened at once while delivering: one key-store read each. */
const OPEN_CHUNK = 500;

/** Appends signals; best effort by design: a lost one only affects an indicator. */
export function signalPublisher(log: Log, codec: EventCodec, logger: Logger): (signal: AnySignal) => void {
  return (signal) => {
    log.append(topics.signals, [signalRecord(codec, signal)]).catch((error: unknown) => {
      logger.warn({ err: error, type: signal.type }, 'signal not published');
    });
  };
}

export async function followEvents(options: {
  log: Log;
  codec: EventCodec;
  vault: PersonalDataVault;
  logger: Logger;
  positions: StreamedPositions;
  fanout: Fanout;
  accepted: AcceptedMessages;
  sessions: SessionRegistry;
  /** How often parked events try their keys again. */
  retryMs?: number;
  /** Events parked per partition before the stream stops reading. */
  maxParked?: number;
}): Promise<Consumer> {
  const { codec, vault, logger, positions, fanout, accepted, sessions } = options;
  const retryMs = options.retryMs ?? 500;
  const maxParked = options.maxParked ?? 10_000;
  // ACKs answer from the stream (accepted-messages.ts): keep the messages of
  // senders connected here until their ACK has gone.
  const createdHere = (event: OpenedEvent, commandId: string | undefined) =>
    event.type === 'message_sent' && commandId !== undefined && sessions.isConnected(event.data.sender_id)
      ? { commandId, message: messageFromEvent(event.data, event.erased) }
      : undefined;
  /**
   * Senders connected here are answered before the batch is opened: their
   * messages' keys were made here and are in memory, while another
   * instance's message in the same batch may wait for the key store (down,
   * say) — and the ACKs must not wait with it.
   */
  async function acknowledgeOwnMessages(records: readonly LogRecord[], decoded: readonly (AnyEvent | null)[]): Promise<void> {
    for (const [i, event] of decoded.entries()) {
      const commandId = records[i]!.headers[headers.commandId];
      if (event?.type !== 'message_sent' || commandId === undefined || !sessions.isConnected(event.data.sender_id)) continue;
      const [opened] = (await vault.open([event]).catch(() => undefined)) ?? [];
      if (opened !== undefined) accepted.known({ commandId, message: messageFromEvent(opened.data, opened.erased) });
    }
  }

  /**
   * Whether a frame sent from here may carry the event's sealed values. Only
   * NEW_MESSAGE does (fanout.ts): every other frame holds ids and numbers
   * (projections/sync-changes.ts) or is read from the read model. So only
   * messages are opened: no key is read for an edit, a profile or a report,
   * and those pass on while the key store is down. Every message is, whatever
   * its room: a room not streamed here when its chunk is opened may be by the
   * time the message is delivered (a join earlier in the chunk, a socket
   * that connects meanwhile), and its frame must then carry the text.
   */
  const needsOpening = (event: AnyEvent): boolean => event.type === 'message_sent';
  /** The events as fanout takes them: messages opened, the others as they are (their sealed values unread). */
  async function openIfNeeded(events: readonly AnyEvent[]): Promise<(OpenedEvent | SealBroken)[]> {
    const toOpen = events.filter(needsOpening);
    const opened = toOpen.length === 0 ? [] : await openEach(vault, toOpen);
    let next = 0;
    return events.map((event) => (needsOpening(event) ? opened[next++]! : { ...event, erased: false }));
  }

  /** Per partition, the records not delivered yet, in log order (see drainPartition). */
  const backlog = new Map<number, { record: LogRecord; event: AnyEvent | null }[]>();
  /** Partitions whose backlog waits for keys (logged once per stall). */
  const stalled = new Set<number>();
  const draining = new Map<number, Promise<void>>();

  async function deliverOne(partition: number, record: LogRecord, event: OpenedEvent | null): Promise<void> {
    positions.advance(partition, record.offset + 1);
    const position = { topic: record.topic, partition, offset: record.offset };
    if (event === null) {
      accepted.passed(position);
      return;
    }
    accepted.passed(position, createdHere(event, record.headers[headers.commandId]));
    try {
      await fanout.deliver(event, position);
    } catch (error) {
      logger.error({ err: error, type: event.type }, 'delivery failed');
    }
  }

  /**
   * Delivers a partition's backlog in order, opening personal values a chunk
   * at a time (one key read). A key the store cannot give (the store down)
   * stops it there: the rest stays parked, in order, and the retry timer tries
   * again — never delivered as erased (fail closed), never out of order. A
   * value that does not open with its own key (altered in the log) is that
   * event's fault: it is passed, as an undecodable one is, and the rest go on.
   */
  async function drainPartition(partition: number): Promise<void> {
    const queue = backlog.get(partition) ?? [];
    while (queue.length > 0) {
      const chunk = queue.slice(0, OPEN_CHUNK);
      let opened: (OpenedEvent | SealBroken)[];
      try {
        opened = await openIfNeeded(chunk.flatMap(({ event }) => (event === null ? [] : [event])));
      } catch (error) {
        if (!stalled.has(partition))
          logger.warn({ err: error, partition }, 'events wait for their keys (key store unreachable?)');
        stalled.add(partition);
        return;
      }
      if (stalled.delete(partition)) logger.info({ partition }, 'events delivered again');
      let next = 0;
      for (const { record, event } of chunk) {
        let result = event === null ? null : opened[next++]!;
        if (result instanceof SealBroken) {
          // Its own fault, not the key store's: passed like an undecodable record, so the partition goes on.
          logger.error(
            { err: result, partition, offset: record.offset, type: event!.type },
            'a sealed value does not open: event not delivered',
          );
          result = null;
        }
        await deliverOne(partition, record, result);
      }
      queue.splice(0, chunk.length);
    }
  }

  /** One drain at a time per partition (the batch handler and the retry timer both drain). */
  const drain = (partition: number): Promise<void> => {
    const run = (draining.get(partition) ?? Promise.resolve()).then(() => drainPartition(partition));
    draining.set(
      partition,
      run.catch(() => undefined),
    );
    return run;
  };
  const retry = setInterval(() => {
    for (const [partition, queue] of backlog) {
      if (queue.length === 0) continue;
      drain(partition).catch((error: unknown) => logger.error({ err: error, partition }, 'parked events not delivered'));
    }
  }, retryMs);
  retry.unref();

  const consumer = await options.log.consume({
    topic: topics.events,
    group: null,
    from: 'latest',
    eachBatch: async ({ partition, records }) => {
      // An event no reader can decode is skipped loudly: fan-out is best
      // effort (clients resume from the read model), and throwing would
      // redeliver the batch forever and silence the partition's sockets.
      const decoded = records.map(
        (record) =>
          decodeOrSkip(codec, record, (error) =>
            logger.error(undecodableFields(error, record), 'undecodable event not streamed to sockets'),
          ) as AnyEvent | null,
      );
      await acknowledgeOwnMessages(records, decoded);
      let queue = backlog.get(partition);
      if (queue === undefined) backlog.set(partition, (queue = []));
      for (const [i, record] of records.entries()) queue.push({ record, event: decoded[i]! });
      await drain(partition);
      // Back-pressure: with this much parked, stop reading (the log keeps the rest).
      while (queue.length > maxParked) {
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        await drain(partition);
      }
    },
  });
  return {
    async stop() {
      clearInterval(retry);
      await consumer.stop();
    },
  };
}

export async function followSignals(options: {
  log: Log;
  codec: EventCodec;
  logger: Logger;
  views: RoomViews;
  typing: Typing;
  notifyPresence: (signal: UserOnline | UserOffline) => Promise<void>;
}): Promise<Consumer> {
  const { codec, logger, views, typing, notifyPresence } = options;
  return options.log.consume({
    topic: topics.signals,
    group: null,
    from: 'latest',
    eachBatch: async ({ records }) => {
      for (const record of records) {
        const signal = decodeOrSkip(codec, record, (error) =>
          logger.error(undecodableFields(error, record), 'undecodable signal skipped'),
        ) as AnySignal | null;
        if (signal === null) continue;
        switch (signal.type) {
          case 'room_view_started':
          case 'room_view_ended':
            views.apply(signal);
            break;
          case 'typing_started':
          case 'typing_stopped':
            typing.apply(signal);
            break;
          case 'user_online':
          case 'user_offline':
            await notifyPresence(signal).catch((error: unknown) => logger.warn({ err: error }, 'presence not sent'));
            break;
        }
      }
    },
  });
}
