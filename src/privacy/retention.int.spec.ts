// The retention sweep on both engines, over real read-model rows: which rooms
// it asks to expire, and up to which message. (The command's effect — the
// tombstones and destroyed keys — is the erasure e2e spec's.)

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExpireMessages } from '../domain/room.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { sweepExpiredMessages } from './retention.ts';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const roomA = '0190a1b2-c3d4-7e5f-8a9b-00000000000a'; // keeps 7 days
const roomB = '0190a1b2-c3d4-7e5f-8a9b-00000000000b'; // sets nothing
const sender = '0190a1b2-c3d4-7e5f-8a9b-0000000000ff';

for (const engine of await testEngines('retention')) {
  describe.runIf(engine.available)(`retention sweep on ${engine.name}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await engine.open();
      const room = (id: string, retention_days: number | null) => ({
        id,
        type: 'group' as const,
        name: 'r',
        topic: '',
        created_by: sender,
        created_at: NOW - 200 * DAY,
        last_seq: 3,
        last_message_id: null,
        closed: 0,
        retention_days,
      });
      await store.db
        .insertInto('rooms')
        .values([room(roomA, 7), room(roomB, null)])
        .execute();
      const message = (roomId: string, seq: number, ageDays: number) => ({
        id: `${roomId.slice(0, 29)}${roomId.at(-1)}${String(seq).padStart(6, '0')}`,
        room_id: roomId,
        seq,
        sender_id: sender,
        client_msg_id: `c${seq}`,
        content: 'x',
        mime_type: 'text/plain',
        reply_to: null,
        attachments: '[]',
        reactions: '{}',
        created_at: NOW - ageDays * DAY,
        edited_at: null,
        deleted: 0,
        mentions: null,
      });
      await store.db
        .insertInto('messages')
        .values([
          message(roomA, 1, 10),
          message(roomA, 2, 8),
          message(roomA, 3, 1),
          message(roomB, 1, 100),
          message(roomB, 2, 40),
        ])
        .execute();
    });
    afterAll(() => engine.dispose());

    const sweep = async (globalDays: number | undefined) => {
      const sent: ExpireMessages[] = [];
      await sweepExpiredMessages({
        db: store.db,
        globalDays,
        now: () => NOW,
        send: (command) => Promise.resolve(sent.push(command)),
      });
      return sent.map((command) => [command.data.room_id, command.data.up_to_seq, command.metadata.user_id]);
    };

    it('without a server limit, expires only rooms that set one, up to their newest message past it', async () => {
      expect(await sweep(undefined)).toEqual([[roomA, 2, null]]);
    });

    it('with a server limit, the shorter of the two wins in every room', async () => {
      expect((await sweep(50)).sort()).toEqual([
        [roomA, 2, null],
        [roomB, 1, null],
      ]);
      expect((await sweep(0.5)).sort()).toEqual([
        [roomA, 3, null],
        [roomB, 2, null],
      ]);
    });

    it('asks nothing for messages already erased', async () => {
      await store.db.updateTable('messages').set({ deleted: 1 }).where('room_id', '=', roomA).where('seq', '<=', 2).execute();
      expect(await sweep(undefined)).toEqual([]);
    });
  });
}
