// Direct rooms across aggregates. A direct room has one id per pair (a UUID v5
// of the pair), so asking for it twice gives the same room. The friendship
// aggregate decides friendships and blocks; this process manager follows its
// events and sends the room aggregate the matching system commands: a new
// friendship opens (or reopens) the pair's room, a block closes it.

import type { Logger } from 'pino';
import { v5 } from 'uuid';
import type { AnyCommand, AnyEvent } from '../domain/aggregates.ts';
import { pairOf } from '../domain/friendship.ts';
import { decodeOrSkip, undecodableFields, type EventCodec } from '../log/codec.ts';
import type { Consumer, Log, LogRecord } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import type { CommandBus } from './command-bus.ts';

/** Fixed namespace of direct-room ids; changing it would orphan every direct room. */
const directRoomNamespace = '5b3f1d9e-6f0e-4c53-9d64-8f2b8f1f6a11';

export function directRoomId(x: string, y: string): string {
  const [a, b] = pairOf(x, y);
  return v5(`direct:${a}:${b}`, directRoomNamespace);
}

/** The system commands an event calls for (none for most events). */
export function directRoomCommands(event: AnyEvent): Omit<AnyCommand, 'metadata'>[] {
  switch (event.type) {
    case 'friend_request_accepted': {
      const { from_user_id, to_user_id } = event.data;
      const room_id = directRoomId(from_user_id, to_user_id);
      return [
        { type: 'create_room', data: { room_id, type: 'direct', name: '', member_ids: [from_user_id, to_user_id] } },
        { type: 'reopen_room', data: { room_id } },
      ];
    }
    case 'user_blocked':
      return [{ type: 'close_room', data: { room_id: directRoomId(event.data.blocker_id, event.data.blocked_id) } }];
    default:
      return [];
  }
}

/**
 * Runs the process manager as a consumer group on the events log. Each
 * command's id is derived from the event's position, so a redelivered event
 * sends the same command ids again, which the processor recognises; the
 * commands themselves are idempotent too (create and close are no-ops when done).
 */
export async function runDirectRoomsManager(options: {
  log: Log;
  bus: CommandBus;
  codec: EventCodec;
  logger: Logger;
  /** How late it may see an accepted friendship or a block (ConsumeOptions.maxDelayMs). */
  readDelayMs: number;
}): Promise<Consumer> {
  const { log, bus, codec, logger } = options;
  return log.consume({
    topic: topics.events,
    group: 'parley.pm.direct-rooms',
    from: 'earliest',
    maxDelayMs: options.readDelayMs,
    eachBatch: async ({ records }) => {
      for (const record of records) await handle(record);
    },
  });

  async function handle(record: LogRecord) {
    // Only the two event types it acts on are decoded.
    const type = record.headers[headers.eventType];
    if (type !== 'friend_request_accepted' && type !== 'user_blocked') return;
    const event = decodeOrSkip(codec, record, (error) =>
      logger.error(undecodableFields(error, record), 'undecodable event: no direct-room command for it'),
    ) as AnyEvent | null;
    if (event === null) return;
    const commands = directRoomCommands(event);
    for (const [index, command] of commands.entries()) {
      const metadata = {
        command_id: `pm-direct:${record.partition}:${record.offset}:${index}`,
        user_id: null,
        at: record.timestamp,
      };
      const outcome = await bus.send({ ...command, metadata } as AnyCommand, record.headers[headers.correlationId]);
      if (outcome.status === 'rejected') {
        // A rejection here is a bug in the rules, not a transient fault: log it loudly, go on.
        logger.error({ outcome, event: type }, 'direct-room command rejected');
      }
    }
  }
}
