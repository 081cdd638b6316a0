// PRESENCE frames: when a user comes online or goes offline (on any gateway),
// those who may see their presence (queries/presence-visibility.ts: friends and
// room peers, no block between) and are connected here hear of it.

import type { Kysely } from 'kysely';
import type { UserOffline, UserOnline } from '../log/signals.ts';
import { presenceAudienceOf } from '../queries/presence-visibility.ts';
import type { Database } from '../store/schema.ts';
import { serverFrame } from './frames.ts';
import type { SessionRegistry } from './sessions.ts';

export function createPresenceNotifier(options: {
  db: Kysely<Database>;
  sessions: SessionRegistry;
  toUsers: (userIds: Iterable<string>, frame: string) => void;
}) {
  return async (signal: UserOnline | UserOffline): Promise<void> => {
    const { user_id, at } = signal.data;
    const audience = (await presenceAudienceOf(options.db, user_id)).filter(options.sessions.isConnected);
    if (audience.length === 0) return;
    const online = signal.type === 'user_online';
    const frame = serverFrame('PRESENCE', { user_id, online, last_seen_at: online ? null : at });
    options.toUsers(audience, frame);
  };
}
