// Membership and room details through the Redis read cache, with the real
// chat projector writing the read model (SQLite and MySQL/MariaDB; skipped
// with a loud warning when Redis or MariaDB is unreachable, unless
// PARLEY_REQUIRE_INFRA=1): once a reader has waited for an event (as a
// write's response does), every read shows it — though the answers before it
// were cached.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AnyEvent } from '../domain/aggregates.ts';
import { roomAggregateId } from '../domain/room.ts';
import { createRedisReadCache } from '../infra/redis-read-cache.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Consumer } from '../log/port.ts';
import { openSqliteLog, type SqliteLog } from '../log/sqlite-log.ts';
import { topicSpecs } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { chatProjection } from '../projections/chat-projection.ts';
import { createProjectionProgress, type ProjectionProgress } from '../projections/progress.ts';
import { runTestProjector } from '../projections/testing/test-projector.ts';
import { appendEvents } from '../projections/testing/chat-events.ts';
import type { Store } from '../store/store.ts';
import { testEngines } from '../../test/support/engines.ts';
import { deleteRedisPrefix, redisAvailable, testRedisClient, uniqueRedisPrefix } from '../../test/support/infra.ts';
import { roomReads, type RoomReads } from './room-reads.ts';

const redisUrl = await redisAvailable('room reads');
const logger = pino({ level: 'silent' });
const codec = createAvroCodec({ schemasDir });
const room = '7d1c2a64-0b6e-4f5e-9f36-9d0c3b0a1e01';
const [alice, bob, carol] = [
  'a11ce000-0000-4000-8000-000000000001',
  'b0b00000-0000-4000-8000-000000000002',
  'ca201000-0000-4000-8000-000000000003',
];

for (const engine of await testEngines('room-reads')) {
  describe.runIf(engine.available && redisUrl !== undefined)(`room reads through the Redis cache on ${engine.name}`, () => {
    let store: Store;
    let log: SqliteLog;
    let dir: string;
    let redis: Redis;
    let keyPrefix: string;
    let projector: Consumer;
    let progress: ProjectionProgress;
    let rooms: RoomReads;
    let at = Date.UTC(2026, 11, 1);

    /** Appends the room's event and waits until the projector has applied it, as a write's response does. */
    const happen = async (event: AnyEvent) => {
      const roomId = (event.data as { room_id: string }).room_id;
      const position = await appendEvents(log, codec, [{ key: roomAggregateId(roomId), event }]);
      expect(await progress.waitFor(chatProjection.name, position!, 20_000)).toBe(true);
    };
    const join = (user_id: string, role: 'owner' | 'member' = 'member', room_id = room) =>
      happen({ type: 'user_joined_room', data: { room_id, user_id, role, added_by: user_id, joined_at: ++at } });
    const create = (room_id: string, created_by: string, name: string) =>
      happen({ type: 'room_created', data: { room_id, type: 'group', name, created_by, created_at: ++at } });
    const lastSeq = new Map<string, number>();
    const send = (room_id: string, sender_id: string, content: string) => {
      lastSeq.set(room_id, (lastSeq.get(room_id) ?? 0) + 1);
      return happen({
        type: 'message_sent',
        data: {
          room_id,
          message_id: crypto.randomUUID(),
          seq: lastSeq.get(room_id)!,
          sender_id,
          client_msg_id: crypto.randomUUID(),
          content,
          mime_type: 'text/plain',
          reply_to: null,
          attachments: [],
          mentions: [],
          created_at: ++at,
        },
      });
    };
    const listed = async (userId: string) => (await rooms.roomListOf(userId)).map((summary) => summary.id).sort();

    beforeAll(async () => {
      store = await engine.open();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-room-reads-'));
      log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), durability: 'normal' });
      await log.ensureTopics(topicSpecs({ partitions: 2, commandsRetentionMs: 60_000, signalsRetentionMs: 60_000 }));
      redis = testRedisClient(redisUrl);
      keyPrefix = uniqueRedisPrefix();
      const cache = createRedisReadCache({ redis, keyPrefix, ttlMs: 60_000, fenceTtlMs: 60_000, logger });
      progress = createProjectionProgress(store.db);
      projector = await runTestProjector(chatProjection, { log, db: store.db, codec, logger, progress, readCache: cache });
      rooms = roomReads(store.db, cache);
    });
    afterAll(async () => {
      await projector.stop();
      await log.close();
      await deleteRedisPrefix(redis, keyPrefix);
      await redis.quit();
      await store.close();
      await engine.dispose();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('a join, a rename and a leave show at once to a reader who waited for them', async () => {
      await happen({
        type: 'room_created',
        data: { room_id: room, type: 'group', name: 'before', created_by: alice, created_at: ++at },
      });
      await join(alice, 'owner');
      expect(await rooms.isMember(room, bob)).toBe(false);
      expect((await rooms.roomForMember(room, alice))?.members.map((m) => m.user_id)).toEqual([alice]);

      // The answers are cached: rows changed behind the projector's back do not show…
      await store.db.updateTable('rooms').set({ topic: 'behind its back' }).where('id', '=', room).execute();
      expect((await rooms.roomForMember(room, alice))?.topic).toBe('');

      // …but every event of the room does, at once.
      await join(bob);
      expect(await rooms.isMember(room, bob)).toBe(true);
      expect((await rooms.roomForMember(room, bob))?.members.map((m) => m.user_id)).toEqual([alice, bob]);

      await happen({
        type: 'room_updated',
        data: { room_id: room, name: 'after', topic: 'new topic', retention_days: null, updated_by: alice, updated_at: ++at },
      });
      expect(await rooms.roomForMember(room, bob)).toMatchObject({ name: 'after', topic: 'new topic' });

      await happen({ type: 'user_left_room', data: { room_id: room, user_id: bob, removed_by: bob, left_at: ++at } });
      expect(await rooms.isMember(room, bob)).toBe(false);
      expect(await rooms.roomForMember(room, bob)).toBeUndefined();
      expect((await rooms.roomForMember(room, alice))?.members.map((m) => m.user_id)).toEqual([alice]);
    });

    test('a mute shows at once', async () => {
      const until = Date.now() + 60_000;
      await join(carol);
      expect((await rooms.roomForMember(room, alice))?.members.find((m) => m.user_id === carol)?.muted_until).toBeNull();
      await happen({
        type: 'member_muted',
        data: { room_id: room, user_id: carol, muted_by: alice, until, muted_at: ++at },
      });
      const detail = await rooms.roomForMember(room, alice);
      expect(detail?.members.find((m) => m.user_id === carol)?.muted_until).toBe(until);
    });

    test('a read receipt changes the details at once, and leaves membership answers cached', async () => {
      expect(await rooms.isMember(room, alice)).toBe(true);
      // Alice's row goes behind the projector's back: a cached answer does not notice.
      const row = await store.db
        .selectFrom('room_members')
        .selectAll()
        .where('room_id', '=', room)
        .where('user_id', '=', alice)
        .executeTakeFirstOrThrow();
      await store.db.deleteFrom('room_members').where('room_id', '=', room).where('user_id', '=', alice).execute();
      await happen({ type: 'messages_read', data: { room_id: room, user_id: carol, seq: 0, at: ++at } });
      expect(await rooms.isMember(room, alice)).toBe(true);
      expect((await rooms.roomForMember(room, carol))?.members.map((m) => m.user_id)).toEqual([carol]);
      await store.db.insertInto('room_members').values(row).execute();
    });

    test('a room list shows each event of its rooms at once, and stays cached while they are quiet', async () => {
      const [second, elsewhere] = [crypto.randomUUID(), crypto.randomUUID()];
      await create(second, alice, 'second');
      await join(alice, 'owner', second);
      expect(await listed(alice)).toEqual([room, second].sort());
      expect(await listed(bob)).toEqual([]);

      // Cached: a row changed behind the projector's back does not show, even
      // while a room Alice is not in is busy…
      await store.db.updateTable('rooms').set({ topic: 'behind its back' }).where('id', '=', second).execute();
      await create(elsewhere, bob, 'elsewhere');
      await join(bob, 'owner', elsewhere);
      await send(elsewhere, bob, 'not for alice');
      const quiet = (await rooms.roomListOf(alice)).find((summary) => summary.id === second);
      expect(quiet).toMatchObject({ topic: '', last_message: null });
      expect(await listed(bob)).toEqual([elsewhere]);

      // …but a message in one of her rooms shows at once.
      await send(second, alice, 'hello');
      const busy = (await rooms.roomListOf(alice)).find((summary) => summary.id === second);
      expect(busy).toMatchObject({ topic: 'behind its back', last_message: { content: 'hello' } });
      expect(busy?.last_seq).toBe(1);
      await store.db.updateTable('rooms').set({ topic: '' }).where('id', '=', second).execute();

      // So do Bob's join and leave, in his list.
      await join(bob, 'member', second);
      expect(await listed(bob)).toEqual([elsewhere, second].sort());
      expect((await rooms.roomListOf(bob)).find((summary) => summary.id === second)?.unread_count).toBe(1);
      expect((await rooms.roomIdsOf(bob)).sort()).toEqual([elsewhere, second].sort());
      expect((await rooms.memberIdsOf(second)).sort()).toEqual([alice, bob].sort());
      await happen({ type: 'user_left_room', data: { room_id: second, user_id: bob, removed_by: bob, left_at: ++at } });
      expect(await listed(bob)).toEqual([elsewhere]);
      expect(await rooms.roomIdsOf(bob)).toEqual([elsewhere]);
      expect((await rooms.memberIdsOf(second)).sort()).toEqual([alice]);
    });

    test('a list whose load found other rooms than the ids it was read for is not kept', async () => {
      const before = await listed(carol);
      expect(before).toEqual([room]);
      const elsewhere = (await rooms.roomIdsOf(bob))[0]!;
      // Carol's rooms as cached say one room; her rows, changed behind the
      // projector's back, say two — as when a join commits between the two
      // steps of a list read. A message voids the list (not her rooms).
      await store.db
        .insertInto('room_members')
        .values({ room_id: elsewhere, user_id: carol, role: 'member', joined_at: ++at, last_read_seq: 0 })
        .execute();
      await send(room, alice, 'voids the lists of the room');
      expect(await listed(carol)).toEqual([elsewhere, room].sort());
      // Had that answer been kept under her one room, it would still show.
      await store.db.deleteFrom('room_members').where('room_id', '=', elsewhere).where('user_id', '=', carol).execute();
      expect(await listed(carol)).toEqual([room]);
    });
  });
}
