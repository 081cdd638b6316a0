// last_seen_at, the one thing projected from the signals log: when a user's
// last socket closes (on any gateway), that moment becomes their last seen.

import type { UserOffline } from '../log/signals.ts';
import { topics } from '../log/topics.ts';
import type { Projection } from './runner.ts';

export const lastSeenProjection: Projection = {
  name: 'last_seen',
  topic: topics.signals,
  async apply(trx, event) {
    if (event.type !== 'user_offline') return;
    const { user_id, at } = (event as UserOffline).data;
    await trx
      .updateTable('users')
      .set({ last_seen_at: at })
      .where('id', '=', user_id)
      .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', at)]))
      .execute();
  },
};
