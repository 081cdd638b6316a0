// The invitee's ROOM_INVITE comes from the invitation event itself, with the
// room's name from the read model: a client (or another device) that accepted
// or declined before the gateway got to the event still hears the invitation
// first, then what became of it. Read back whole from the read model, the
// accepted invitation was gone and no ROOM_INVITE was sent (a CI flake of
// test/e2e/asyncapi.e2e.spec.ts on Kafka).

import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import type { Store } from '../store/store.ts';
import { groupRoomRow } from '../store/testing/read-model-rows.ts';
import type { Delivery } from './delivery.ts';
import { createFanout } from './fanout.ts';
import type { Membership } from './membership.ts';
import type { RoomStream } from './room-stream.ts';
import { SessionRegistry, type Session } from './sessions.ts';

const position = { topic: 'parley.events', partition: 0, offset: 7 };

for (const engine of await testEngines('fanout'))
  describe.runIf(engine.available)(`ROOM_INVITE on ${engine.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => {
      await store.db.destroy();
      await engine.dispose();
    });

    test('an invitation accepted before the gateway read it is still announced to the invitee, from the event', async () => {
      await store.db
        .insertInto('rooms')
        .values(groupRoomRow('room-1', 'Planning', 'alice'))
        .execute();
      // No room_invitations row: carol accepted already.
      const sessions = new SessionRegistry();
      sessions.add(sessionOf('carol'));
      const sent: string[] = [];
      const fanout = createFanout({
        sessions,
        membership: {} as Membership,
        delivery: { send: (_session: Session, frame: string) => void sent.push(frame) } as unknown as Delivery,
        roomStream: {} as RoomStream,
        db: store.db,
        progress: { reached: () => undefined, waitFor: () => Promise.resolve(true) },
        projection: 'chat',
        catchUpTimeoutMs: 1_000,
      });
      await fanout.deliver(
        {
          type: 'user_invited_to_room',
          data: { room_id: 'room-1', user_id: 'carol', role: 'member', invited_by: 'alice', invited_at: 1234 },
          erased: false,
        },
        position,
      );
      expect(sent).toHaveLength(1);
      const frame = JSON.parse(sent[0]!) as { type: string; data: unknown };
      expect(frame.type).toBe('ROOM_INVITE');
      expect(frame.data).toEqual({
        chat_room_id: 'room-1',
        room_name: 'Planning',
        role: 'member',
        invited_by: 'alice',
        invited_at: 1234,
      });
    });
  });

/** A socket's session as the registry and the routing read it (no socket: the delivery is captured). */
function sessionOf(userId: string): Session {
  return { id: `s-${userId}`, userId, login: null, rooms: null, joined: new Set(), cursors: new Map() } as unknown as Session;
}
