// The presence rule has two forms — the audience a PRESENCE frame goes to, and
// whether one viewer may see one user's status — and they must agree. Checked
// on both engines over read-model rows: self, friend, room peer (a closed
// direct room too), stranger, and blocks either way.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { maySeePresence, presenceAudienceOf } from './presence-visibility.ts';

const id = (n: number) => `0190a1b2-c3d4-7e5f-8a9b-0000000000${String(n).padStart(2, '0')}`;
const [alice, friend, peer, stranger, blockedFriend, blockingPeer] = [1, 2, 3, 4, 5, 6].map(id) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const everyone = [alice, friend, peer, stranger, blockedFriend, blockingPeer];
const room = id(90);

for (const engine of await testEngines('presence_visibility')) {
  describe.runIf(engine.available)(`who may see presence, on ${engine.name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await engine.open();
      const friendship = (a: string, b: string) => [
        { user_id: a, friend_id: b, since: 1 },
        { user_id: b, friend_id: a, since: 1 },
      ];
      await store.db
        .insertInto('friendships')
        .values([...friendship(alice, friend), ...friendship(alice, blockedFriend)])
        .execute();
      const member = (user_id: string) => ({ room_id: room, user_id, role: 'member' as const, joined_at: 1, last_read_seq: 0 });
      await store.db
        .insertInto('room_members')
        .values([member(alice), member(peer), member(blockingPeer)])
        .execute();
      await store.db
        .insertInto('blocks')
        .values([
          { blocker_id: alice, blocked_id: blockedFriend, created_at: 1 },
          { blocker_id: blockingPeer, blocked_id: alice, created_at: 1 },
        ])
        .execute();
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it('the user, a friend and a room peer may; a stranger and anyone across a block (either way) may not', async () => {
      const seeing = [];
      for (const viewer of everyone) if (await maySeePresence(store.db, viewer, alice)) seeing.push(viewer);
      expect(seeing).toEqual([alice, friend, peer]);
    });

    it('the PRESENCE audience is exactly the others who may see', async () => {
      expect((await presenceAudienceOf(store.db, alice)).sort()).toEqual([friend, peer].sort());
    });
  });
}
