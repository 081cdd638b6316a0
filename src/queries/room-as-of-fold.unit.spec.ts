// The room as it was, folded from its events: members and roles, messages as
// they read then — and what was erased since stays erased.

import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../domain/room.ts';
import { foldRoomAsOf, type OpenedRoomEvent } from './room-as-of-fold.ts';

const room_id = 'room-1';
const open = (event: RoomEvent, erased = false): OpenedRoomEvent => ({ event, erased });
const sent = (seq: number, content: string, sender_id = 'alice'): RoomEvent => ({
  type: 'message_sent',
  data: {
    room_id,
    message_id: `m${seq}`,
    seq,
    sender_id,
    client_msg_id: `c${seq}`,
    content,
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
    mentions: [],
    created_at: 100 + seq,
  },
});
const joined = (user_id: string, role: 'owner' | 'admin' | 'member', joined_at: number): RoomEvent => ({
  type: 'user_joined_room',
  data: { room_id, user_id, role, added_by: 'alice', joined_at },
});

const history: OpenedRoomEvent[] = [
  open({ type: 'room_created', data: { room_id, type: 'group', name: 'plans', created_by: 'alice', created_at: 1 } }),
  open(joined('alice', 'owner', 1)),
  open(joined('bob', 'member', 2)),
  open(joined('carol', 'member', 3)),
  open(sent(1, 'hello')),
  open(sent(2, 'secret plan', 'bob'), true), // deleted later: its key is gone
  open(sent(3, 'third')),
];

describe('foldRoomAsOf', () => {
  it('shows members, roles and messages as the events left them', () => {
    const asOf = foldRoomAsOf(history);
    expect(asOf.room).toEqual({ type: 'group', name: 'plans', topic: '', closed: false, created_by: 'alice', created_at: 1 });
    expect(asOf.members.map((m) => [m.user_id, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'member'],
      ['carol', 'member'],
    ]);
    expect(asOf.messages.map((m) => [m.seq, m.content, m.deleted, m.erased])).toEqual([
      [1, 'hello', false, false],
      [2, null, false, true],
      [3, 'third', false, false],
    ]);
  });

  it('applies later changes: edits, deletions, removals, roles, renames, expiry', () => {
    const later: OpenedRoomEvent[] = [
      open({
        type: 'message_edited',
        data: { room_id, message_id: 'm1', seq: 1, content: 'hello!', mentions: [], edited_by: 'alice', edited_at: 200 },
      }),
      open({ type: 'message_deleted', data: { room_id, message_id: 'm3', seq: 3, deleted_by: 'alice', deleted_at: 201 } }),
      open({ type: 'user_left_room', data: { room_id, user_id: 'carol', removed_by: 'alice', left_at: 202 } }),
      open({
        type: 'member_role_changed',
        data: { room_id, user_id: 'bob', role: 'admin', changed_by: 'alice', changed_at: 203 },
      }),
      open({
        type: 'room_updated',
        data: { room_id, name: 'plans 2', topic: 'q3', retention_days: null, updated_by: 'alice', updated_at: 204 },
      }),
      open({ type: 'room_closed', data: { room_id, at: 205 } }),
    ];
    const asOf = foldRoomAsOf([...history, ...later]);
    expect(asOf.room).toMatchObject({ name: 'plans 2', topic: 'q3', closed: true });
    expect(asOf.members.map((m) => [m.user_id, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'admin'],
    ]);
    expect(asOf.messages[0]).toMatchObject({ seq: 1, content: 'hello!', edited_at: 200, deleted: false });
    expect(asOf.messages[2]).toMatchObject({ seq: 3, content: null, deleted: true });

    const expired = foldRoomAsOf([
      ...history,
      open({ type: 'messages_expired', data: { room_id, up_to_seq: 2, expired_at: 300 } }),
    ]);
    expect(expired.messages.map((m) => [m.seq, m.content, m.deleted, m.erased])).toEqual([
      [1, null, true, true],
      [2, null, true, true],
      [3, 'third', false, false],
    ]);
  });

  it('an edit of an erased message stays erased; a room that did not exist yet is null and empty', () => {
    const erasedEdit = open(
      {
        type: 'message_edited',
        data: { room_id, message_id: 'm2', seq: 2, content: '', mentions: [], edited_by: 'bob', edited_at: 150 },
      },
      true,
    );
    expect(foldRoomAsOf([...history, erasedEdit]).messages[1]).toMatchObject({ content: null, erased: true, edited_at: 150 });
    expect(foldRoomAsOf([])).toEqual({ room: null, members: [], messages: [] });
  });
});
