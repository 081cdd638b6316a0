// The gateway's two feeds: the events log (every record in partition order
// through the fan-out) and the signals log (room views, typing, presence). It
// reads both from the latest offset, in no consumer group: every gateway sees
// everything and serves its own sockets.

import type { Logger } from 'pino';
import type { AnyEvent } from '../domain/aggregates.ts';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import type { Consumer, Log } from '../log/port.ts';
import { decodeSignal, signalRecord, type AnySignal, type UserOffline, type UserOnline } from '../log/signals.ts';
import { headers, topics } from '../log/topics.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
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
  /** Waits (bounded) until the projection applied everything streamed on the partition; false on timeout. */
  readModelCaughtUp: (partition: number) => Promise<boolean>;
}

export function createStreamedPositions(options: {
  progress: ProjectionProgress;
  projection: string;
  timeoutMs: number;
}): StreamedPositions {
  const next = new Map<number, number>();
  return {
    advance: (partition, nextOffset) => next.set(partition, nextOffset),
    async readModelCaughtUp(partition) {
      const upTo = next.get(partition) ?? 0;
      if (upTo === 0) return true;
      const lastStreamed = { topic: topics.events, partition, offset: upTo - 1 };
      return options.progress.waitFor(options.projection, lastStreamed, options.timeoutMs);
    },
  };
}

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
}): Promise<Consumer> {
  const { codec, vault, logger, positions, fanout, accepted, sessions } = options;
  // ACKs answer from the stream (accepted-messages.ts): keep the messages of
  // senders connected here until their ACK has gone.
  const createdHere = (event: OpenedEvent, commandId: string | undefined) =>
    event.type === 'message_sent' && commandId !== undefined && sessions.isConnected(event.data.sender_id)
      ? { commandId, message: messageFromEvent(event.data, event.erased) }
      : undefined;
  return options.log.consume({
    topic: topics.events,
    group: null,
    from: 'latest',
    eachBatch: async ({ partition, records }) => {
      // Personal values are opened for the whole batch at once (one key read).
      // A key the store cannot give throws, and the batch comes again.
      const decoded = records.map((record) => decodeEventRecord(codec, record) as AnyEvent | null);
      const opened = await vault.open(decoded.filter((event) => event !== null));
      let next = 0;
      for (const [i, record] of records.entries()) {
        positions.advance(partition, record.offset + 1);
        const position = { topic: record.topic, partition, offset: record.offset };
        const event = decoded[i] === null ? null : (opened[next++] as OpenedEvent);
        if (event === null) {
          accepted.passed(position);
          continue;
        }
        accepted.passed(position, createdHere(event, record.headers[headers.commandId]));
        try {
          await fanout.deliver(event, position);
        } catch (error) {
          logger.error({ err: error, type: event.type }, 'delivery failed');
        }
      }
    },
  });
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
        const signal = decodeSignal(codec, record);
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
