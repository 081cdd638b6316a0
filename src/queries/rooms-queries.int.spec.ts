// Invitations as the read model answers them, on both engines: a user's
// pending invitations with the room's name, newest first, none from someone
// they blocked or who blocked them; and a room's own list of invitations.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import type { Store } from '../store/store.ts';
import { findInvitation, findRoomForMember, listMyInvitations } from './rooms-queries.ts';

const id = (n: number) => `0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a${String(n).padStart(2, '0')}`;
const [alice, bob, mallory, carol] = [id(1), id(2), id(3), id(4)];
const [roomA, roomM] = [id(10), id(11)];

for (const engine of await testEngines('rooms_queries')) {
  describe.runIf(engine.available)(`invitations on ${engine.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await engine.open();
      const room = (roomId: string, name: string, owner: string) => ({
        id: roomId,
        type: 'group' as const,
        name,
        topic: '',
        created_by: owner,
        created_at: 1,
        last_seq: 0,
        last_message_id: null,
        closed: 0,
        retention_days: null,
      });
      await store.db
        .insertInto('rooms')
        .values([room(roomA, 'Alice’s room', alice), room(roomM, 'Mallory’s room', mallory)])
        .execute();
      await store.db
        .insertInto('room_members')
        .values([
          { room_id: roomA, user_id: alice, role: 'owner', joined_at: 1, last_read_seq: 0 },
          { room_id: roomM, user_id: mallory, role: 'owner', joined_at: 1, last_read_seq: 0 },
        ])
        .execute();
      await store.db
        .insertInto('room_invitations')
        .values([
          { room_id: roomA, user_id: bob, role: 'admin', invited_by: alice, invited_at: 5 },
          { room_id: roomM, user_id: bob, role: 'member', invited_by: mallory, invited_at: 7 },
          { room_id: roomA, user_id: carol, role: 'member', invited_by: alice, invited_at: 6 },
        ])
        .execute();
    });
    afterAll(async () => {
      await store.close();
      await engine.dispose();
    });

    it("lists a user's invitations newest first, with the room's name", async () => {
      expect(await listMyInvitations(store.db, bob, 10)).toEqual([
        { chat_room_id: roomM, room_name: 'Mallory’s room', role: 'member', invited_by: mallory, invited_at: 7 },
        { chat_room_id: roomA, room_name: 'Alice’s room', role: 'admin', invited_by: alice, invited_at: 5 },
      ]);
      expect(await listMyInvitations(store.db, bob, 1)).toHaveLength(1);
      expect(await findInvitation(store.db, roomA, bob)).toMatchObject({ role: 'admin', invited_by: alice });
      expect(await findInvitation(store.db, roomA, mallory)).toBeUndefined();
    });

    it('a room lists its pending invitations, oldest first, to its members', async () => {
      const room = await findRoomForMember(store.db, roomA, alice);
      expect(room?.invitations).toEqual([
        { user_id: bob, role: 'admin', invited_by: alice, invited_at: 5 },
        { user_id: carol, role: 'member', invited_by: alice, invited_at: 6 },
      ]);
      expect(await findRoomForMember(store.db, roomA, bob)).toBeUndefined();
    });

    it('hides invitations across a block, whichever way it goes', async () => {
      await store.db.insertInto('blocks').values({ blocker_id: bob, blocked_id: mallory, created_at: 9 }).execute();
      expect((await listMyInvitations(store.db, bob, 10)).map((i) => i.chat_room_id)).toEqual([roomA]);
      await store.db.deleteFrom('blocks').execute();
      await store.db.insertInto('blocks').values({ blocker_id: mallory, blocked_id: bob, created_at: 9 }).execute();
      expect((await listMyInvitations(store.db, bob, 10)).map((i) => i.chat_room_id)).toEqual([roomA]);
    });
  });
}
