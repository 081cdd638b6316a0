// Presence as queries show it: online from the presence port (live sockets on
// any gateway), last_seen_at from the read model — to whom may see it
// (presence-visibility.ts, the rule PRESENCE frames follow too), null to anyone else.

import type { Kysely } from 'kysely';
import type { Presence } from '../infra/presence.ts';
import type { Database } from '../store/schema.ts';
import type { PresenceReader, PresenceStatus } from './presence.ts';
import { maySeePresence } from './presence-visibility.ts';
import { lastSeenOf } from './users-queries.ts';

export function createPresenceReader(options: { presence: Presence; db: Kysely<Database> }): PresenceReader {
  const { presence, db } = options;

  async function statusesOf(userIds: string[]): Promise<Map<string, PresenceStatus>> {
    const [online, lastSeen] = await Promise.all([presence.online(userIds), lastSeenOf(db, userIds)]);
    return new Map(userIds.map((id) => [id, { online: online.has(id), last_seen_at: lastSeen.get(id) ?? null }]));
  }

  return {
    statusesOf,
    async statusOf(userId, viewerId) {
      if (!(await maySeePresence(db, viewerId, userId))) return null;
      return (await statusesOf([userId])).get(userId) ?? null;
    },
  };
}
