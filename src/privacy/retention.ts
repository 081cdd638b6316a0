// Retention (docs/PRIVACY.md): messages older than the server's limit
// (PARLEY_MESSAGE_RETENTION_DAYS) or their room's (`retention_days`, set by an
// owner) — whichever is shorter — are erased. The sweeper finds, per room, the
// newest message past the limit and sends the room a system command,
// `expire_messages`, up to its seq; the room's decider turns it into one
// `messages_expired` event, and the chat projection tombstones those messages
// and destroys their keys. So the log itself says what retention erased, a
// rebuild erases the same, and several processors sweeping at once cost
// nothing but no-ops (the decider ignores what is already expired).

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { startPeriodicTask } from '../infra/periodic-task.ts';
import { commandMetadata } from '../commands/command-bus.ts';
import type { ExpireMessages } from '../domain/room.ts';
import type { Database } from '../store/schema.ts';

const DAY_MS = 86_400_000;

export interface RetentionOptions {
  db: Kysely<Database>;
  /** The server's limit in days; undefined: none (only rooms that set one). */
  globalDays: number | undefined;
  /** Sends a system command (the processor decides; its outcome does not matter here). */
  send: (command: ExpireMessages) => Promise<unknown>;
  now?: () => number;
}

/** One sweep: resolves with the rooms it sent `expire_messages` to. */
export async function sweepExpiredMessages(options: RetentionOptions): Promise<string[]> {
  const { db, globalDays, send } = options;
  const now = (options.now ?? Date.now)();
  let rooms = db.selectFrom('rooms').select(['id', 'retention_days']);
  if (globalDays === undefined) rooms = rooms.where('retention_days', 'is not', null);
  const swept: string[] = [];
  for (const room of await rooms.execute()) {
    const days = Math.min(globalDays ?? Infinity, room.retention_days ?? Infinity);
    const cutoff = now - days * DAY_MS;
    // seq and created_at grow together in a room: everything up to the newest
    // expired message is expired too.
    const newest = await db
      .selectFrom('messages')
      .select((eb) => eb.fn.max<number | null>('seq').as('seq'))
      .where('room_id', '=', room.id)
      .where('deleted', '=', 0)
      .where('created_at', '<', cutoff)
      .executeTakeFirst();
    if (newest?.seq == null) continue; // no message past the limit
    await send({
      type: 'expire_messages',
      data: { room_id: room.id, up_to_seq: newest.seq },
      metadata: commandMetadata(null, now),
    });
    swept.push(room.id);
  }
  return swept;
}

/** Sweeps every `intervalMs` until stopped. */
export function startRetention(options: RetentionOptions & { intervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  return startPeriodicTask(() => sweepExpiredMessages(options), {
    intervalMs: options.intervalMs,
    logger: options.logger,
    what: 'retention sweep',
  });
}
