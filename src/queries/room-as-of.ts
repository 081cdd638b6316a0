// GET /api/v1/rooms/:id/as-of?t= (issue 15): a room's members, roles and
// messages as they stood at a moment — read from the log, not the read model,
// which only knows now. The room's events live in one partition; every record
// of that partition appended up to the moment is read (other rooms' skipped),
// opened in pages, and folded (room-as-of-fold.ts). The cost is the
// partition's history up to `t`, bounded by PARLEY_AS_OF_MAX_RECORDS: a tool
// for disputes, not for every screen.

import type { Kysely } from 'kysely';
import { isAdmin } from '../auth/suspension.ts';
import { Rejection } from '../domain/decider.ts';
import { roomAggregateId, type RoomEvent } from '../domain/room.ts';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import { firstOffsetAtOrAfter } from '../log/offset-at-time.ts';
import type { Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import { SealBroken } from '../privacy/sealing.ts';
import { openEach, type PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';
import { foldRoomAsOf, type MessageAsOf, type OpenedRoomEvent, type RoomAsOf } from './room-as-of-fold.ts';

export interface RoomAsOfDeps {
  log: Log;
  codec: EventCodec;
  vault: PersonalDataVault;
  db: Kysely<Database>;
  /** PARLEY_ADMINS. */
  admins: readonly string[];
  /** PARLEY_AS_OF_MAX_RECORDS: the most records one view may read. */
  maxRecords: number;
}

export interface RoomAsOfPage extends Omit<RoomAsOf, 'messages'> {
  room_id: string;
  as_of: number;
  messages: MessageAsOf[];
  /** Pass as `before_seq` for the page of older messages; null: none. */
  next_before_seq: number | null;
}

/** Records read per page of the scan. */
const PAGE = 500;

/** Owners and admins of the room (now), and global admins; a non-member is told the room does not exist. */
async function requireModerator(deps: RoomAsOfDeps, userId: string, roomId: string): Promise<void> {
  if (await isAdmin(deps.db, deps.admins, userId)) return;
  const member = await deps.db
    .selectFrom('room_members')
    .select('role')
    .where('room_id', '=', roomId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  if (member === undefined) throw new Rejection('room_not_found', 'room not found');
  if (member.role === 'member') throw new Rejection('forbidden', 'only the room’s owners and admins may see it as it was');
}

/** The room's events appended up to `at` (inclusive), opened, in log order. */
async function roomEventsUntil(deps: RoomAsOfDeps, roomId: string, at: number): Promise<OpenedRoomEvent[]> {
  const { log, codec, vault } = deps;
  const key = roomAggregateId(roomId);
  const partition = log.partitionForKey(topics.events, key);
  const start = await log.startOffset(topics.events, partition);
  const end = await firstOffsetAtOrAfter(log, topics.events, partition, at + 1);
  if (end - start > deps.maxRecords) {
    throw new Rejection('invalid_state', `the room's history up to then is longer than this server reads at once`, {
      records: end - start,
      max: deps.maxRecords,
    });
  }
  const events: OpenedRoomEvent[] = [];
  for (let offset = start; offset < end;) {
    const records = await log.read(topics.events, partition, offset, Math.min(PAGE, end - offset));
    if (records.length === 0) break;
    const mine = records.flatMap((record) => {
      if (record.offset >= end || record.key !== key) return [];
      const decoded = decodeEventRecord(codec, record);
      return decoded === null ? [] : [decoded];
    });
    // Fresh keys: a message deleted a moment ago must not show from this process's key cache.
    // A value altered in the log shows as such, not as a failed view (its
    // sealed text goes no further: the fold shows none of a broken message).
    for (const [i, opened] of (await openEach(vault, mine, { fresh: true })).entries()) {
      events.push(
        opened instanceof SealBroken
          ? { event: mine[i] as RoomEvent, erased: false, sealBroken: true }
          : { event: { type: opened.type, data: opened.data } as RoomEvent, erased: opened.erased },
      );
    }
    offset = records[records.length - 1]!.offset + 1;
  }
  return events;
}

export async function readRoomAsOf(
  deps: RoomAsOfDeps,
  userId: string,
  roomId: string,
  query: { t: number; limit: number; before_seq?: number | undefined },
): Promise<RoomAsOfPage> {
  await requireModerator(deps, userId, roomId);
  const asOf = foldRoomAsOf(await roomEventsUntil(deps, roomId, query.t));
  const older = asOf.messages.filter((m) => query.before_seq === undefined || m.seq < query.before_seq);
  const page = older.slice(-query.limit);
  return {
    room_id: roomId,
    as_of: query.t,
    room: asOf.room,
    members: asOf.members,
    messages: page,
    next_before_seq: older.length > page.length ? page[0]!.seq : null,
  };
}
