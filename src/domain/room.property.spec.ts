// Invariants of the room over any sequence of commands: a few users (some in
// the room, some not) create, add, remove and post in random order, reusing a
// small pool of client_msg_ids so retries happen. Rejected commands are
// skipped, as the processor would; the accepted events must keep every rule.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rejection, replay } from './decider.ts';
import {
  initialRoomState,
  roomDecider,
  type Role,
  type RoomCommand,
  type RoomEvent,
  type RoomState,
  type RoomType,
} from './room.ts';

const room_id = 'room-1';
const USERS = ['ann', 'ben', 'cat', 'dan', 'eve'] as const;
const CLIENT_MSG_IDS = ['c1', 'c2', 'c3', 'c4'] as const;
const MAX_STEPS = 60;

type Step =
  | { kind: 'create'; actor: string; type: RoomType; member_ids: string[] }
  | { kind: 'add'; actor: string; user_id: string; role: Role }
  | { kind: 'remove'; actor: string; user_id: string }
  // reply_to: an index into the message ids `m0…` (which may or may not name a
  // message of the room), or null.
  | { kind: 'send'; actor: string; client_msg_id: string; reply_to: number | null };

const user = fc.constantFrom(...USERS);
const role = fc.constantFrom<Role>('member', 'member', 'admin', 'owner');

const create = fc.record({
  kind: fc.constant('create' as const),
  actor: user,
  type: fc.constantFrom<RoomType>('group', 'group', 'group', 'direct'),
  // Some of the pool, with repeats; whoever is left out is a stranger until
  // someone adds them.
  member_ids: fc.array(user, { minLength: 1, maxLength: 6 }),
});

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: create, weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), actor: user, user_id: user, role }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), actor: user, user_id: user }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      actor: user,
      client_msg_id: fc.constantFrom(...CLIENT_MSG_IDS),
      reply_to: fc.option(fc.nat({ max: MAX_STEPS / 2 }), { freq: 3 }),
    }),
    weight: 8,
  },
);

// Every run starts by creating the room (a group, mostly), so later commands
// have something to act on; a later create_room is refused.
const scenario = fc
  .tuple(create, fc.array(step, { minLength: 5, maxLength: MAX_STEPS, size: 'max' }))
  .map(([first, rest]): Step[] => [first, ...rest]);

function toCommand(s: Step, index: number): RoomCommand {
  const metadata = { command_id: `cmd-${index}`, user_id: s.actor, at: 1_000 + index };
  switch (s.kind) {
    case 'create':
      return { type: 'create_room', data: { room_id, type: s.type, name: 'Room', member_ids: s.member_ids }, metadata };
    case 'add':
      return { type: 'add_member', data: { room_id, user_id: s.user_id, role: s.role }, metadata };
    case 'remove':
      return { type: 'remove_member', data: { room_id, user_id: s.user_id }, metadata };
    case 'send':
      return {
        type: 'send_message',
        data: {
          room_id,
          message_id: `m${index}`,
          client_msg_id: s.client_msg_id,
          content: `content ${index}`,
          mime_type: 'text/plain',
          reply_to: s.reply_to === null ? null : `m${s.reply_to}`,
          attachments: [],
        },
        metadata,
      };
  }
}

/** A state as plain sorted data, so two states compare whatever their map order. */
function comparable(state: RoomState) {
  const sorted = <V>(map: Map<string, V>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    exists: state.exists,
    type: state.type,
    name: state.name,
    last_seq: state.last_seq,
    members: sorted(state.members),
    client_msg_ids: sorted(state.client_msg_ids),
    message_ids: sorted(state.message_ids),
  };
}

interface Run {
  events: RoomEvent[];
  state: RoomState;
  rejected: number;
  retries: number;
}

/**
 * Feeds the commands through decide/evolve like the processor, checking at each
 * step against a membership model kept from the events alone (not from evolve).
 */
function run(steps: Step[]): Run {
  let state = initialRoomState();
  const events: RoomEvent[] = [];
  const members = new Map<string, Role>(); // the model: who is in the room now
  let type = null as RoomType | null;
  let rejected = 0;
  let retries = 0;

  for (const [index, s] of steps.entries()) {
    const command = toCommand(s, index);
    const before = structuredClone(state);
    let decided: RoomEvent[];
    try {
      decided = roomDecider.decide(command, state);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      rejected++;
      continue;
    } finally {
      expect(state, 'decide must not change the state').toEqual(before);
    }
    if (command.type === 'send_message' && decided.length === 0) retries++;

    for (const event of decided) {
      switch (event.type) {
        case 'room_created':
          type = event.data.type;
          break;
        case 'user_joined_room':
          expect(members.has(event.data.user_id), `${event.data.user_id} joins twice`).toBe(false);
          members.set(event.data.user_id, event.data.role);
          break;
        case 'user_left_room':
          expect(members.has(event.data.user_id), `${event.data.user_id} leaves without being in`).toBe(true);
          members.delete(event.data.user_id);
          break;
        case 'message_sent':
          expect(members.has(event.data.sender_id), `${event.data.sender_id} posts without being a member`).toBe(true);
          expect(event.data.sender_id).toBe(command.metadata.user_id);
          break;
      }
      state = roomDecider.evolve(state, event);
      events.push(event);
    }

    // After every accepted command: evolve agrees with the model, and a group
    // room that has members has an owner.
    expect(new Map([...state.members].map(([id, m]) => [id, m.role]))).toEqual(members);
    if (type === 'group' && members.size > 0) {
      expect([...members.values()], 'a group room with members has no owner').toContain('owner');
    }
    if (type === 'direct') {
      expect([...members.values()].every((r) => r === 'member'), 'nobody manages a direct room').toBe(true);
    }
  }
  return { events, state, rejected, retries };
}

const messagesOf = (events: RoomEvent[]) => events.flatMap((e) => (e.type === 'message_sent' ? [e.data] : []));

describe('room invariants over any command sequence', () => {
  // Totals over all runs, to check that the generator really exercises the
  // interesting cases (messages, retries, rejections, people leaving).
  const seen = { messages: 0, retries: 0, rejected: 0, replies: 0, leaves: 0, ownerLeaves: 0 };

  it('numbers messages 1..n without gaps, lets only members post, and never duplicates a retry', () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events, state, rejected, retries } = run(steps);
        const messages = messagesOf(events);

        expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
        expect(state.last_seq).toBe(messages.length);

        const keys = messages.map((m) => JSON.stringify([m.sender_id, m.client_msg_id]));
        expect(new Set(keys).size, 'one (sender, client_msg_id) gave two messages').toBe(keys.length);

        const ids = new Set(messages.map((m) => m.message_id));
        for (const m of messages) {
          if (m.reply_to !== null) {
            expect(ids.has(m.reply_to), 'a reply points outside the room').toBe(true);
            const target = messages.find((t) => t.message_id === m.reply_to);
            expect(target!.seq).toBeLessThan(m.seq);
          }
        }

        seen.messages += messages.length;
        seen.retries += retries;
        seen.rejected += rejected;
        seen.replies += messages.filter((m) => m.reply_to !== null).length;
        seen.leaves += events.filter((e) => e.type === 'user_left_room').length;
      }),
      { numRuns: 300 },
    );
    expect(seen.messages).toBeGreaterThan(0);
    expect(seen.retries).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
    expect(seen.replies).toBeGreaterThan(0);
    expect(seen.leaves).toBeGreaterThan(0);
  });

  it('restores the same state by replaying the events from scratch', () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events, state } = run(steps);
        const restored = replay(roomDecider, events);
        expect(comparable(restored)).toEqual(comparable(state));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an owner in a group room while it has members, even as owners leave', () => {
    // `run` checks the owner after every command; here the runs are steered to
    // owners adding owners and leaving, the case that could strand a room.
    const ownersShuffle = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('add' as const), actor: user, user_id: user, role: fc.constant<Role>('owner') }),
        fc.record({ kind: fc.constant('remove' as const), actor: user, user_id: user }),
      ),
      { maxLength: 40 },
    );
    const groupStart = create.map((c): Step => ({ ...c, type: 'group' }));
    fc.assert(
      fc.property(groupStart, ownersShuffle, (first, rest) => {
        const { events } = run([first, ...rest]);
        const roles = new Map<string, Role>();
        for (const e of events) {
          if (e.type === 'user_joined_room') roles.set(e.data.user_id, e.data.role);
          if (e.type === 'user_left_room' && roles.get(e.data.user_id) === 'owner') seen.ownerLeaves++;
        }
      }),
      { numRuns: 300 },
    );
    expect(seen.ownerLeaves).toBeGreaterThan(0);
  });
});
