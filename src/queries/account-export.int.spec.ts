// The export on both engines, over real read-model rows: every message the
// user sent, in order, across pages — and only theirs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { accountExport } from './account-export.ts';

const me = '0190a1b2-c3d4-7e5f-8a9b-0000000000a1';
const other = '0190a1b2-c3d4-7e5f-8a9b-0000000000b2';
const room = '0190a1b2-c3d4-7e5f-8a9b-0000000000c3';

const exportOf = async (store: Store, userId: string, messagesPerQuery: number) => {
  let text = '';
  for await (const piece of accountExport(store.db, userId, { now: 1, messagesPerQuery })) text += piece;
  return text === ''
    ? undefined
    : (JSON.parse(text) as {
        profile: { email: string };
        messages: { id: string; seq: number; content: string; earlier_versions: { content: string; written_at: number }[] }[];
      });
};

for (const engine of await testEngines('account_export')) {
  describe.runIf(engine.available)(`account export on ${engine.name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await engine.open();
      const user = (id: string, name: string) => ({
        id,
        username: name,
        email: `${name}@example.org`,
        display_name: name,
        bio: '',
        avatar_url: null,
        created_at: 1,
        deleted_at: null,
      });
      await store.db
        .insertInto('users')
        .values([user(me, 'me'), user(other, 'other')])
        .execute();
      // Seven of mine, two sharing a timestamp (the page boundary must not lose one), three of someone else's.
      const times = [10, 20, 30, 30, 40, 50, 60, 15, 25, 35];
      await store.db
        .insertInto('messages')
        .values(
          times.map((created_at, i) => ({
            id: `0190a1b2-c3d4-7e5f-8a9b-0000000001${String(i).padStart(2, '0')}`,
            room_id: room,
            seq: i + 1,
            sender_id: i < 7 ? me : other,
            client_msg_id: `c${i}`,
            content: `text ${i}`,
            mime_type: 'text/plain',
            reply_to: null,
            attachments: '[]',
            reactions: '{}',
            created_at,
            edited_at: null,
            deleted: 0,
            mentions: null,
          })),
        )
        .execute();
    });
    afterAll(() => engine.dispose());

    it('streams every message of mine, oldest first, however the pages fall', async () => {
      for (const perQuery of [1, 2, 3, 500]) {
        const exported = await exportOf(store, me, perQuery);
        expect(exported?.profile.email).toBe('me@example.org');
        expect(exported?.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      }
    });

    it('gives each message what it said before its edits, oldest first', async () => {
      const edited = '0190a1b2-c3d4-7e5f-8a9b-000000000101';
      await store.db
        .insertInto('message_versions')
        .values([
          { message_id: edited, version: 1, room_id: room, seq: 2, content: 'second try', written_at: 21 },
          { message_id: edited, version: 0, room_id: room, seq: 2, content: 'first try', written_at: 20 },
        ])
        .execute();
      const exported = await exportOf(store, me, 2);
      const message = exported?.messages.find((m) => m.id === edited);
      expect(message?.earlier_versions).toEqual([
        { content: 'first try', written_at: 20 },
        { content: 'second try', written_at: 21 },
      ]);
      expect(exported?.messages.filter((m) => m.earlier_versions.length > 0).map((m) => m.id)).toEqual([edited]);
    });

    it('lists the threads I follow (or unfollowed) and the bans and mutes I am under, mine alone', async () => {
      const root = '0190a1b2-c3d4-7e5f-8a9b-000000000100';
      const follow = (user_id: string, following: number) => ({
        message_id: root,
        user_id,
        room_id: room,
        root_seq: 1,
        following,
        last_read_seq: 3,
        last_activity_at: 40,
      });
      await store.db
        .insertInto('thread_follows')
        .values([follow(me, 0), follow(other, 1)])
        .execute();
      const elsewhere = '0190a1b2-c3d4-7e5f-8a9b-0000000000ee';
      await store.db
        .insertInto('room_bans')
        .values([
          { room_id: elsewhere, user_id: me, banned_by: other, banned_at: 70 },
          { room_id: elsewhere, user_id: other, banned_by: me, banned_at: 71 },
        ])
        .execute();
      await store.db.insertInto('room_mutes').values({ room_id: room, user_id: me, muted_until: 99, muted_by: other }).execute();
      const device = (user_id: string, endpoint: string) => ({
        user_id,
        subscription_id: `sub-${endpoint}`,
        endpoint: `https://fcm.googleapis.com/fcm/send/${endpoint}`,
        p256dh: 'BPub',
        auth: 'secret',
        added_at: 60,
      });
      await store.db
        .insertInto('push_subscriptions')
        .values([device(me, 'mine'), device(other, 'theirs')])
        .execute();
      const exported = (await exportOf(store, me, 500)) as unknown as Record<string, unknown>;
      expect(exported.followed_threads).toEqual([{ message_id: root, room_id: room, following: false, last_read_seq: 3 }]);
      expect(exported.room_bans).toEqual([{ room_id: elsewhere, banned_by: other, banned_at: 70 }]);
      expect(exported.room_mutes).toEqual([{ room_id: room, muted_by: other, muted_until: 99 }]);
      // The devices, not their keys (nothing a person reads, and no use to them).
      expect(exported.push_subscriptions).toEqual([
        { subscription_id: 'sub-mine', endpoint: 'https://fcm.googleapis.com/fcm/send/mine', added_at: 60 },
      ]);
      expect(exported.suspension).toBeNull();
      await store.db
        .updateTable('users')
        .set({ suspended_at: 5, suspended_until: null, suspension_reason: 'spam' })
        .where('id', '=', me)
        .execute();
      const suspended = (await exportOf(store, me, 500)) as unknown as Record<string, unknown>;
      expect(suspended.suspension).toEqual({ suspended_at: 5, until: null, reason: 'spam' });
      await store.db.updateTable('users').set({ suspended_at: null }).where('id', '=', me).execute();
    });

    it('has nothing for a deleted account', async () => {
      await store.db.updateTable('users').set({ deleted_at: 2 }).where('id', '=', other).execute();
      expect(await exportOf(store, other, 500)).toBeUndefined();
    });
  });
}
