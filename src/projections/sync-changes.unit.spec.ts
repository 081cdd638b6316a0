import path from 'node:path';
import { describe, expect, test } from 'vitest';
import type { AnyEvent, EventType } from '../domain/aggregates.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { eventSamples } from '../log/event-samples.fixture.ts';
import { forEachPersonalValue } from '../log/personal-fields.ts';
import type { LogRecord } from '../log/port.ts';
import { syncChangesOf, syncRowsOf } from './sync-changes.ts';

const codec = createAvroCodec({ schemasDir: path.resolve(import.meta.dirname, '../../schemas') });
const samples = Object.entries(eventSamples).flatMap(([type, datas]) =>
  (datas as object[]).map((data) => ({ type, data }) as AnyEvent),
);
const sample = <T extends EventType>(type: T) => samples.find((e) => e.type === type) as Extract<AnyEvent, { type: T }>;
const record = (partition: number, offset: number): LogRecord => ({
  topic: 'events',
  partition,
  offset,
  key: 'k',
  value: Buffer.alloc(0),
  headers: {},
  timestamp: 1_767_225_600_000 + offset,
});

describe('sync feed rows: what each event shows, and to whom', () => {
  test('no row holds a personal value (content, names, emails, keys): those are read from the model when synced', () => {
    let checked = 0;
    for (const event of samples) {
      const stored = JSON.stringify(syncChangesOf(event));
      forEachPersonalValue(event.data, codec.personalFields(event.type), (value) => {
        if (value.length <= 3) return;
        checked++;
        expect(stored, `${event.type} keeps "${value}"`).not.toContain(value);
      });
    }
    expect(checked).toBeGreaterThan(10);
  });

  test('room events reach the room; settings and friendships reach only their users; a block only the blocker', () => {
    expect(syncChangesOf(sample('message_sent')).map((c) => c.to)).toEqual([{ room_id: sample('message_sent').data.room_id }]);
    const request = sample('friend_request_sent').data;
    expect(syncChangesOf(sample('friend_request_sent')).map((c) => c.to)).toEqual([
      { user_id: request.to_user_id },
      { user_id: request.from_user_id },
    ]);
    const block = sample('user_blocked').data;
    expect(syncChangesOf(sample('user_blocked'))).toEqual([
      { to: { user_id: block.blocker_id }, frame: 'BLOCK_UPDATED', data: { user_id: block.blocked_id, blocked: true } },
    ]);
    expect(syncChangesOf(sample('notifications_set')).map((c) => c.to)).toEqual([
      { user_id: sample('notifications_set').data.user_id },
    ]);
  });

  test('a member who leaves hears it as themself, since they are no longer a member', () => {
    const left = sample('user_left_room').data;
    expect(syncChangesOf(sample('user_left_room')).map((c) => c.to)).toEqual([
      { room_id: left.room_id },
      { user_id: left.user_id },
    ]);
  });

  test('rows carry the log position, one index per change of an event, and the append time', () => {
    const rows = syncRowsOf([
      { event: sample('message_sent'), record: record(3, 41) },
      { event: sample('user_registered'), record: record(3, 42) },
      { event: sample('friend_request_sent'), record: record(5, 7) },
    ]);
    expect(rows.map((r) => [r.log_partition, r.log_offset, r.idx, r.frame, r.appended_at])).toEqual([
      [3, 41, 0, 'NEW_MESSAGE', 1_767_225_600_041],
      [5, 7, 0, 'FRIEND_REQUEST', 1_767_225_600_007],
      [5, 7, 1, 'FRIEND_REQUEST', 1_767_225_600_007],
    ]);
  });
});
