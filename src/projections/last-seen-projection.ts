// last_seen_at, the one thing projected from the signals log: when a user's
// last socket closes (on any gateway), that moment becomes their last seen.
// It has its own table, outside the chat model: signals are kept briefly, so
// a rebuild of the chat model could not bring it back.

import type { UserOffline } from '../log/signals.ts';
import { topics } from '../log/topics.ts';
import type { Projection } from './runner.ts';

export const lastSeenProjection: Projection = {
  name: 'last_seen',
  topic: topics.signals,
  async apply(trx, event) {
    if (event.type !== 'user_offline') return;
    const { user_id, at } = (event as UserOffline).data;
    // A user's signals share a partition, so nothing else writes this row meanwhile.
    const updated = await trx
      .updateTable('user_last_seen')
      .set({ last_seen_at: at })
      .where('user_id', '=', user_id)
      .where('last_seen_at', '<', at)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) {
      await trx.insertInto('user_last_seen').ignore().values({ user_id, last_seen_at: at }).execute();
    }
  },
};
