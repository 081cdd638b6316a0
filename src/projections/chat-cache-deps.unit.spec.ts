// Which cached room answers each event type voids. Every event type with a
// schema is covered, so a new one cannot slip past the cache: it either names
// its room, is listed as writing no room row, or voids every answer — and
// this spec names the types that do, to be changed knowingly.

import fs from 'node:fs';
import { expect, test } from 'vitest';
import { schemasDir } from '../compose.ts';
import { everyAnswer } from '../infra/read-cache.ts';
import { chatReadCacheDeps, membersDependency, roomDependency, roomsOfDependency } from './chat-cache-deps.ts';

const eventTypes = fs
  .readdirSync(schemasDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

test('an event of a room voids that room’s details; a join or a leave its membership and the user’s rooms too', () => {
  expect(chatReadCacheDeps({ type: 'message_sent', data: { room_id: 'r1', seq: 3 } })).toEqual([roomDependency('r1')]);
  expect(chatReadCacheDeps({ type: 'messages_read', data: { room_id: 'r1', user_id: 'u' } })).toEqual(['room:r1']);
  for (const type of ['user_joined_room', 'user_left_room']) {
    expect(chatReadCacheDeps({ type, data: { room_id: 'r2', user_id: 'u' } })).toEqual([
      roomDependency('r2'),
      membersDependency('r2'),
      roomsOfDependency('u'),
    ]);
  }
});

test('of the event types without a room, only an account’s erasure voids every answer', () => {
  const withoutRoom = eventTypes.filter((type) => {
    const latest = fs.readdirSync(`${schemasDir}/${type}`).sort().at(-1)!;
    return !fs.readFileSync(`${schemasDir}/${type}/${latest}`, 'utf8').includes('"room_id"');
  });
  expect(withoutRoom.length).toBeGreaterThan(20);
  const voidingAll = withoutRoom.filter((type) => chatReadCacheDeps({ type, data: {} }).includes(everyAnswer));
  expect(voidingAll).toEqual(['user_deleted']);
  const voidingNothing = withoutRoom.filter((type) => chatReadCacheDeps({ type, data: {} }).length === 0);
  expect(voidingNothing.length).toBe(withoutRoom.length - 1);
});

test('an event type nobody listed voids every answer', () => {
  expect(chatReadCacheDeps({ type: 'something_new', data: { user_id: 'u' } })).toEqual([everyAnswer]);
});
