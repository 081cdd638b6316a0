// GET /api/v1/sync: every change a user may see since a token, in log order
// within each partition (so in order within a room, and within a user's
// friendships), as the frames the WebSocket sends. The rows come from
// sync_changes (projections/sync-changes.ts); frames that show an object are
// rendered from the read model as it stands now, as the gateway renders them.
//
// A page never ends inside an event's changes, and its next token never skips
// a change committed later: `until` is the model's applied offsets, read
// before the rows (the projection writes rows and offsets in one transaction).

import type { Kysely } from 'kysely';
import type { Position } from '../log/port.ts';
import type { SyncChangesTable, Database } from '../store/schema.ts';
import { findMessagesByIds } from './messages-queries.ts';
import { findInvitation, findRoom } from './rooms-queries.ts';
import { findRequest } from './social-queries.ts';
import type { SyncPosition } from './sync-token.ts';

/** Where the chat model stands, and ways to wait until it moves. */
export interface ModelProgress {
  partitions: number;
  /** Every partition's next offset the chat model will apply. */
  applied(): Promise<SyncPosition>;
  /** Resolves once some partition is past `position`, or after `timeoutMs`. */
  movedPast(position: SyncPosition, timeoutMs: number): Promise<void>;
  /** Resolves once the model has applied the event at `position`, or after `timeoutMs`. */
  waitFor(position: Position, timeoutMs: number): Promise<void>;
}

export interface SyncFrame {
  type: string;
  data: unknown;
}

export type SyncRead =
  | { status: 'expired' }
  /** `more`: the page is full, and the feed has further changes before the model's end. */
  | { status: 'read'; frames: SyncFrame[]; next: number[]; more: boolean };

type ChangeRow = Pick<SyncChangesTable, 'log_partition' | 'log_offset' | 'idx' | 'frame' | 'data'>;

const order = (a: ChangeRow, b: ChangeRow) => a.log_partition - b.log_partition || a.log_offset - b.log_offset || a.idx - b.idx;
const sameEvent = (a: ChangeRow, b: ChangeRow) => a.log_partition === b.log_partition && a.log_offset === b.log_offset;

/** Whether a token is older than what the feed still holds (pruned): the device must resync. */
async function isPruned(db: Kysely<Database>, since: SyncPosition): Promise<boolean> {
  const horizons = await db.selectFrom('sync_horizons').select(['log_partition', 'first_offset']).execute();
  return horizons.some(({ log_partition, first_offset }) => (since[log_partition] ?? 0) < first_offset);
}

export async function readSyncFeed(
  db: Kysely<Database>,
  request: { userId: string; since: SyncPosition; until: SyncPosition; limit: number },
): Promise<SyncRead> {
  const { userId, since, until, limit } = request;
  const caughtUp = since.map((offset, partition) => Math.max(offset, until[partition] ?? 0));
  const open = since.flatMap((offset, partition) => (offset < (until[partition] ?? 0) ? [partition] : []));
  if (open.length === 0) return { status: 'read', frames: [], next: caughtUp, more: false };

  const base = db
    .selectFrom('sync_changes')
    .select(['log_partition', 'log_offset', 'idx', 'frame', 'data'])
    .where((eb) =>
      eb.or(
        open.map((p) =>
          eb.and([eb('log_partition', '=', p), eb('log_offset', '>=', since[p]!), eb('log_offset', '<', until[p]!)]),
        ),
      ),
    )
    .orderBy('log_partition')
    .orderBy('log_offset')
    .orderBy('idx')
    .limit(limit + 1);
  const [mine, rooms] = await Promise.all([
    base.where('user_id', '=', userId).execute(),
    base.where('room_id', 'in', (eb) => eb.selectFrom('room_members').select('room_id').where('user_id', '=', userId)).execute(),
  ]);
  // The horizon is read after the rows: a prune that committed while they were
  // read is seen, and answers "expired" rather than a page with rows missing.
  // (A caught-up token needs no check: a horizon never passes the applied offsets.)
  if (await isPruned(db, since)) return { status: 'expired' };
  const rows = dedupe([...mine, ...rooms].sort(order));

  if (rows.length <= limit) return { status: 'read', frames: await render(db, rows), next: caughtUp, more: false };
  const page = cutAtEvent(rows, limit);
  const last = page[page.length - 1]!;
  const next = since.map((offset, partition) =>
    partition < last.log_partition ? caughtUp[partition]! : partition === last.log_partition ? last.log_offset + 1 : offset,
  );
  return { status: 'read', frames: await render(db, page), next, more: true };
}

/** A member removed and added again sees their MEMBER_REMOVED both as a member and as themself: once is enough. */
function dedupe(rows: ChangeRow[]): ChangeRow[] {
  const seen = new Set<string>();
  return rows.filter((row) => {
    const key = `${row.log_partition}:${row.log_offset}:${row.frame}:${row.data}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The first `limit` rows, less the changes of an event the limit would split (unless it is the only one). */
function cutAtEvent(rows: ChangeRow[], limit: number): ChangeRow[] {
  const boundary = rows[limit]!;
  const page = rows.slice(0, limit).filter((row) => !sameEvent(row, boundary));
  return page.length > 0 ? page : rows.filter((row) => sameEvent(row, boundary));
}

/** The frames of some rows; one that shows an object no longer there (expired, erased room) is left out. */
async function render(db: Kysely<Database>, rows: ChangeRow[]): Promise<SyncFrame[]> {
  const changes = rows.map((row) => ({ type: row.frame, data: JSON.parse(row.data) as Record<string, string> }));
  const messageIds = changes.filter((c) => isMessageFrame(c.type)).map((c) => c.data.message_id!);
  const messages = new Map((await findMessagesByIds(db, [...new Set(messageIds)])).map((m) => [m.id, m]));
  const frames: SyncFrame[] = [];
  for (const { type, data } of changes) {
    const shown = await objectOf(db, type, data, messages);
    if (shown !== undefined) frames.push({ type, data: shown });
  }
  return frames;
}

const messageFrames = new Set(['NEW_MESSAGE', 'MESSAGE_UPDATED', 'MESSAGE_DELETED', 'REACTION_UPDATED']);
const isMessageFrame = (type: string) => messageFrames.has(type);

/** A frame's data: the object it shows, read now, or the data the row holds. */
async function objectOf(
  db: Kysely<Database>,
  type: string,
  data: Record<string, string>,
  messages: Map<string, unknown>,
): Promise<unknown> {
  if (isMessageFrame(type)) return messages.get(data.message_id!);
  switch (type) {
    case 'ROOM_UPDATED':
      return findRoom(db, data.room_id!);
    case 'FRIEND_REQUEST':
    case 'FRIEND_REQUEST_UPDATED':
      return findRequest(db, data.request_id!);
    case 'ROOM_INVITE':
      return findInvitation(db, data.room_id!, data.user_id!);
    default:
      return data;
  }
}
