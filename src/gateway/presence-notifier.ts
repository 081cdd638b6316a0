// PRESENCE frames: when a user comes online or goes offline (on any gateway),
// their friends and room peers connected here hear of it — unless a block
// stands between them, which hides presence both ways.

import type { Kysely } from 'kysely';
import type { UserOffline, UserOnline } from '../log/signals.ts';
import { roomPeerIds } from '../queries/rooms-queries.ts';
import { blockPeersOf, friendIdsOf } from '../queries/social-queries.ts';
import type { Database } from '../store/schema.ts';
import { serverFrame } from './frames.ts';
import type { SessionRegistry } from './sessions.ts';

export async function audienceOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const [friends, peers, blocked] = await Promise.all([
    friendIdsOf(db, userId),
    roomPeerIds(db, userId),
    blockPeersOf(db, userId),
  ]);
  return [...new Set([...friends, ...peers])].filter((id) => !blocked.has(id));
}

export function createPresenceNotifier(options: {
  db: Kysely<Database>;
  sessions: SessionRegistry;
  toUsers: (userIds: Iterable<string>, frame: string) => void;
}) {
  return async (signal: UserOnline | UserOffline): Promise<void> => {
    const { user_id, at } = signal.data;
    const audience = (await audienceOf(options.db, user_id)).filter(options.sessions.isConnected);
    if (audience.length === 0) return;
    const online = signal.type === 'user_online';
    const frame = serverFrame('PRESENCE', { user_id, online, last_seen_at: online ? null : at });
    options.toUsers(audience, frame);
  };
}
