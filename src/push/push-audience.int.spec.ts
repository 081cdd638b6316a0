// Who a batch of new messages could be pushed to, read at once for the whole
// batch on each engine: per message, the room's members other than the sender
// with a subscribed device who have not blocked that sender — the same member
// may be in one message's audience and not in the next one's (another sender,
// another room) — and nothing for a room where nobody has a device.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Store } from '../store/store.ts';
import { groupRoomRow, userRow } from '../store/testing/read-model-rows.ts';
import { testEngines } from '../../test/support/engines.ts';
import { readPushAudiences } from './push-audience.ts';

const id = (n: number) => `0190a1b2-c3d4-7e5f-8a9b-0000000000${String(n).padStart(2, '0')}`;
const [ann, ben, cat, dan] = [id(1), id(2), id(3), id(4)];
const [study, lobby, gone] = [id(11), id(12), id(13)];

describe.each(await testEngines('push_audience'))('push audiences of a batch ($name)', (engine) => {
  let store: Store;

  beforeAll(async () => {
    store = await engine.open();
    const db = store.db;
    await db
      .insertInto('users')
      .values(
        [
          [ann, 'ann'],
          [ben, 'ben'],
          [cat, 'cat'],
          [dan, 'dan'],
        ].map(([userId, name]) => userRow(userId!, name!, { display_name: name!.toUpperCase() })),
      )
      .execute();
    await db
      .insertInto('rooms')
      .values([groupRoomRow(study, 'study', ann), groupRoomRow(lobby, 'lobby', ann)])
      .execute();
    // study: everyone; lobby: ann and dan (dan has no device).
    const member = (roomId: string, userId: string) => ({
      room_id: roomId,
      user_id: userId,
      role: 'member' as const,
      joined_at: 5,
      last_read_seq: 0,
    });
    await db
      .insertInto('room_members')
      .values([
        member(study, ann),
        member(study, ben),
        member(study, cat),
        member(study, dan),
        member(lobby, ann),
        member(lobby, dan),
      ])
      .execute();
    const device = (userId: string, n: number) => ({
      user_id: userId,
      subscription_id: `sub-${n}`,
      endpoint: `https://push.example.org/${n}`,
      p256dh: 'key',
      auth: 'auth',
      added_at: 1,
    });
    // ann has two devices, ben and cat one each.
    await db
      .insertInto('push_subscriptions')
      .values([device(ann, 1), device(ann, 2), device(ben, 3), device(cat, 4)])
      .execute();
    // cat blocked ben.
    await db.insertInto('blocks').values({ blocker_id: cat, blocked_id: ben, created_at: 1 }).execute();
  });
  afterAll(() => engine.dispose());

  test('each message gets its own audience: not the sender, not who blocked the sender, nobody without a device', async () => {
    const audiences = await readPushAudiences(store.db, [
      { roomId: study, senderId: ben },
      { roomId: study, senderId: ann },
      { roomId: lobby, senderId: ann },
      { roomId: lobby, senderId: dan },
      { roomId: gone, senderId: ann },
    ]);
    const summary = audiences.map((audience) =>
      audience === undefined
        ? undefined
        : {
            room: audience.room,
            sender: audience.sender.username,
            members: audience.members.map((m) => [m.user_id, m.subscriptions.map((s) => s.subscription_id)]),
          },
    );
    expect(summary).toEqual([
      // ben writes in study: ann (both devices); cat blocked ben; dan has no device.
      { room: { type: 'group', name: 'study' }, sender: 'ben', members: [[ann, ['sub-1', 'sub-2']]] },
      // ann writes in study: ben and cat, whom ann did not block.
      {
        room: { type: 'group', name: 'study' },
        sender: 'ann',
        members: [
          [ben, ['sub-3']],
          [cat, ['sub-4']],
        ],
      },
      // ann writes in lobby: dan is there but has no device.
      undefined,
      // dan writes in lobby: ann.
      { room: { type: 'group', name: 'lobby' }, sender: 'dan', members: [[ann, ['sub-1', 'sub-2']]] },
      // a room that is not there.
      undefined,
    ]);
    expect(audiences[0]!.members[0]).toMatchObject({ joined_at: 5, notify_level: 'all', notify_muted_until: null });
  });

  test('a batch where nobody has a device, and an empty batch, reach nobody', async () => {
    expect(await readPushAudiences(store.db, [{ roomId: lobby, senderId: ann }])).toEqual([undefined]);
    expect(await readPushAudiences(store.db, [])).toEqual([]);
  });
});
