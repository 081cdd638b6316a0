// Invariants of the room over any sequence of commands: a few users (some in
// the room, some not) create, add, remove, change roles, rename, post, edit,
// delete, react and mark as read in random order, reusing a small pool of
// client_msg_ids so retries happen, while the system now and then closes and
// reopens the room. Rejected commands are skipped, as the processor would; the
// accepted events must keep every rule.

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
const EMOJIS = ['👍', '❤️', '🎉'] as const;
const MAX_STEPS = 60;

/**
 * `target` picks a message for edit/delete/react: the n-th (modulo) of the
 * messages sent so far, or, when null, an id that is no message of the room.
 */
type Target = number | null;

type Step =
  | { kind: 'create'; actor: string; type: RoomType; member_ids: string[] }
  | { kind: 'add'; actor: string; user_id: string; role: Role }
  | { kind: 'remove'; actor: string; user_id: string }
  | { kind: 'change_role'; actor: string; user_id: string; role: Role }
  | { kind: 'update'; actor: string; name: string | null; topic: string | null }
  // reply_to: an index into the message ids `m0…` (which may or may not name a
  // message of the room), or null.
  | { kind: 'send'; actor: string; client_msg_id: string; reply_to: number | null; mentions: string[] }
  | { kind: 'edit'; actor: string; target: Target }
  | { kind: 'delete'; actor: string; target: Target }
  | { kind: 'react'; actor: string; target: Target; emoji: string; add: boolean }
  | { kind: 'mark_read'; actor: string; seq: number }
  // The system (no user) closes or reopens the room.
  | { kind: 'close' }
  | { kind: 'reopen' };

const user = fc.constantFrom(...USERS);
const role = fc.constantFrom<Role>('member', 'member', 'admin', 'owner');
const target: fc.Arbitrary<Target> = fc.option(fc.nat({ max: MAX_STEPS }), { freq: 8 });

const create: fc.Arbitrary<Extract<Step, { kind: 'create' }>> = fc.oneof(
  {
    // Some of the pool, with repeats; whoever is left out is a stranger until
    // someone adds them.
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      actor: user,
      type: fc.constant<RoomType>('group'),
      member_ids: fc.array(user, { minLength: 1, maxLength: 6 }),
    }),
    weight: 3,
  },
  {
    // One or two users besides the actor, sometimes the actor again: a direct
    // room of exactly two distinct users, or a refused one.
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      actor: user,
      type: fc.constant<RoomType>('direct'),
      member_ids: fc.array(user, { minLength: 0, maxLength: 2 }),
    }),
    weight: 1,
  },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: create, weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), actor: user, user_id: user, role }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), actor: user, user_id: user }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('change_role' as const), actor: user, user_id: user, role }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      actor: user,
      name: fc.option(fc.constantFrom('Room', 'Lounge', 'Desk'), { freq: 2 }),
      topic: fc.option(fc.constantFrom('', 'news', 'lunch'), { freq: 2 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      actor: user,
      client_msg_id: fc.constantFrom(...CLIENT_MSG_IDS),
      reply_to: fc.option(fc.nat({ max: MAX_STEPS / 2 }), { freq: 3 }),
      mentions: fc.subarray([...USERS], { maxLength: 2 }),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ kind: fc.constant('edit' as const), actor: user, target }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), actor: user, target }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('react' as const),
      actor: user,
      target,
      emoji: fc.constantFrom(...EMOJIS),
      add: fc.boolean(),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('mark_read' as const), actor: user, seq: fc.integer({ min: -1, max: MAX_STEPS }) }),
    weight: 4,
  },
  { arbitrary: fc.constantFrom<Step>({ kind: 'close' }, { kind: 'reopen' }), weight: 1 },
);

// Every run starts by creating the room (a group, mostly), so later commands
// have something to act on; a later create_room is refused (or, for the
// direct room that exists, yields nothing).
const scenario = fc
  .tuple(create, fc.array(step, { minLength: 5, maxLength: MAX_STEPS, size: 'max' }))
  .map(([first, rest]): Step[] => [first, ...rest]);

/** A reaction added and taken back: rare in random runs, needed by the coverage checks. */
const reactionRoundTrip: Step[] = [
  { kind: 'create', actor: 'ann', type: 'group', member_ids: ['ben'] },
  { kind: 'send', actor: 'ann', client_msg_id: 'c1', reply_to: null, mentions: [] },
  { kind: 'react', actor: 'ben', target: 0, emoji: '👍', add: true },
  { kind: 'react', actor: 'ben', target: 0, emoji: '👍', add: false },
];

/** `sentIds`: the ids of the messages of the room so far, oldest first. */
function toCommand(s: Step, index: number, sentIds: readonly string[]): RoomCommand {
  const at = 1_000 + index;
  if (s.kind === 'close' || s.kind === 'reopen') {
    const type = s.kind === 'close' ? 'close_room' : 'reopen_room';
    return { type, data: { room_id }, metadata: { command_id: `cmd-${index}`, user_id: null, at } };
  }
  const metadata = { command_id: `cmd-${index}`, user_id: s.actor, at };
  const messageId = (t: Target) => (t === null || sentIds.length === 0 ? 'm-missing' : sentIds[t % sentIds.length]!);
  switch (s.kind) {
    case 'create':
      return { type: 'create_room', data: { room_id, type: s.type, name: 'Room', member_ids: s.member_ids }, metadata };
    case 'add':
      return { type: 'add_member', data: { room_id, user_id: s.user_id, role: s.role }, metadata };
    case 'remove':
      return { type: 'remove_member', data: { room_id, user_id: s.user_id }, metadata };
    case 'change_role':
      return { type: 'change_role', data: { room_id, user_id: s.user_id, role: s.role }, metadata };
    case 'update':
      return {
        type: 'update_room',
        data: { room_id, ...(s.name === null ? {} : { name: s.name }), ...(s.topic === null ? {} : { topic: s.topic }) },
        metadata,
      };
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
          mentions: s.mentions,
        },
        metadata,
      };
    case 'edit':
      return { type: 'edit_message', data: { room_id, message_id: messageId(s.target), content: `edit ${index}` }, metadata };
    case 'delete':
      return { type: 'delete_message', data: { room_id, message_id: messageId(s.target) }, metadata };
    case 'react':
      return { type: 'react', data: { room_id, message_id: messageId(s.target), emoji: s.emoji, add: s.add }, metadata };
    case 'mark_read':
      return { type: 'mark_read', data: { room_id, seq: s.seq }, metadata };
  }
}

/** A state as plain sorted data, so two states compare whatever their map and set order. */
function comparable(state: RoomState) {
  const sorted = <V>(map: Map<string, V>) => [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    exists: state.exists,
    type: state.type,
    name: state.name,
    topic: state.topic,
    closed: state.closed,
    last_seq: state.last_seq,
    members: sorted(state.members),
    client_msg_ids: sorted(state.client_msg_ids),
    messages: sorted(state.messages).map(([id, m]) => [
      id,
      { ...m, reactions: m.reactions === null ? null : sorted(m.reactions).map(([emoji, users]) => [emoji, [...users].sort()]) },
    ]),
  };
}

/** What the events alone say about the room, kept apart from `evolve`. */
interface Model {
  type: RoomType | null;
  closed: boolean;
  lastSeq: number;
  members: Map<string, { role: Role; lastRead: number }>;
  messages: Map<string, { sender: string; deleted: boolean }>;
  /** `${message_id} ${emoji}` → users, as a list so a duplicate would show. */
  reactions: Map<string, string[]>;
}

interface Run {
  events: RoomEvent[];
  state: RoomState;
  rejected: Map<string, number>;
  retries: number;
}

/**
 * Feeds the commands through decide/evolve like the processor, checking every
 * event against a model kept from the events alone (not from evolve) before
 * applying it, and the invariants after every accepted command.
 */
function run(steps: Step[]): Run {
  let state = initialRoomState();
  const events: RoomEvent[] = [];
  const model: Model = { type: null, closed: false, lastSeq: 0, members: new Map(), messages: new Map(), reactions: new Map() };
  const sentIds: string[] = [];
  const rejected = new Map<string, number>();
  let retries = 0;

  for (const [index, s] of steps.entries()) {
    const command = toCommand(s, index, sentIds);
    const actor = command.metadata.user_id;
    const actorRole = actor === null ? undefined : model.members.get(actor)?.role;
    const before = structuredClone(state);
    let decided: RoomEvent[];
    try {
      decided = roomDecider.decide(command, state);
    } catch (error) {
      if (!(error instanceof Rejection)) throw error;
      rejected.set(error.code, (rejected.get(error.code) ?? 0) + 1);
      continue;
    } finally {
      expect(state, 'decide must not change the state').toEqual(before);
    }
    if (command.type === 'send_message' && decided.length === 0) retries++;

    for (const event of decided) {
      // Every event but the system's comes from a member acting on a room that exists…
      if (
        event.type !== 'room_closed' &&
        event.type !== 'room_reopened' &&
        event.type !== 'room_created' &&
        event.type !== 'user_joined_room'
      ) {
        expect(actor !== null && model.members.has(actor), `${event.type} from a non-member`).toBe(true);
      }
      switch (event.type) {
        case 'room_created':
          expect(model.type, 'created twice').toBeNull();
          model.type = event.data.type;
          break;
        case 'user_joined_room':
          expect(model.members.has(event.data.user_id), `${event.data.user_id} joins twice`).toBe(false);
          model.members.set(event.data.user_id, { role: event.data.role, lastRead: 0 });
          break;
        case 'user_left_room':
          expect(model.type).toBe('group');
          expect(model.members.has(event.data.user_id), `${event.data.user_id} leaves without being in`).toBe(true);
          model.members.delete(event.data.user_id);
          break;
        case 'member_role_changed': {
          expect(model.type).toBe('group');
          const target = model.members.get(event.data.user_id);
          expect(target, 'a role changed for a non-member').toBeDefined();
          expect(event.data.role, 'a role "changed" to itself').not.toBe(target!.role);
          expect(event.data.changed_by).toBe(actor);
          // Owners change anyone; admins only plain members, and never into owners.
          if (actorRole !== 'owner') {
            expect(actorRole).toBe('admin');
            expect(target!.role).toBe('member');
            expect(event.data.role).toBe('admin');
          }
          target!.role = event.data.role;
          break;
        }
        case 'room_updated':
          expect(model.type).toBe('group');
          expect(['owner', 'admin']).toContain(actorRole);
          break;
        case 'message_sent': {
          const { sender_id, seq, message_id } = event.data;
          expect(model.members.has(sender_id), `${sender_id} posts without being a member`).toBe(true);
          expect(sender_id).toBe(actor);
          expect(model.closed, 'a message in a closed room').toBe(false);
          expect(seq).toBe(model.lastSeq + 1);
          model.lastSeq = seq;
          model.messages.set(message_id, { sender: sender_id, deleted: false });
          sentIds.push(message_id);
          const sender = model.members.get(sender_id)!;
          expect(seq, "a sender's read position moves back").toBeGreaterThanOrEqual(sender.lastRead);
          sender.lastRead = seq;
          break;
        }
        case 'message_edited': {
          const message = model.messages.get(event.data.message_id);
          expect(message, 'an edit of no message').toBeDefined();
          expect(message!.deleted, 'an edit of a deleted message').toBe(false);
          expect(message!.sender, 'an edit by someone else than the author').toBe(actor);
          expect(model.closed, 'an edit in a closed room').toBe(false);
          break;
        }
        case 'message_deleted': {
          const message = model.messages.get(event.data.message_id);
          expect(message, 'a deletion of no message').toBeDefined();
          expect(message!.deleted, 'deleted twice').toBe(false);
          if (message!.sender !== actor) expect(['owner', 'admin']).toContain(actorRole);
          message!.deleted = true;
          for (const key of [...model.reactions.keys()])
            if (key.startsWith(`${event.data.message_id} `)) model.reactions.delete(key);
          break;
        }
        case 'reaction_added':
        case 'reaction_removed': {
          const message = model.messages.get(event.data.message_id);
          expect(message, 'a reaction to no message').toBeDefined();
          expect(message!.deleted, 'a reaction to a deleted message').toBe(false);
          expect(event.data.user_id).toBe(actor);
          const key = `${event.data.message_id} ${event.data.emoji}`;
          const users = model.reactions.get(key) ?? [];
          if (event.type === 'reaction_added') {
            expect(users, 'a user reacts twice with one emoji').not.toContain(event.data.user_id);
            model.reactions.set(key, [...users, event.data.user_id]);
          } else {
            expect(users, 'a reaction removed that was not there').toContain(event.data.user_id);
            const rest = users.filter((u) => u !== event.data.user_id);
            if (rest.length === 0) model.reactions.delete(key);
            else model.reactions.set(key, rest);
          }
          break;
        }
        case 'messages_read': {
          const member = model.members.get(event.data.user_id)!;
          expect(event.data.user_id).toBe(actor);
          expect(event.data.seq, 'a read position moves back').toBeGreaterThan(member.lastRead);
          expect(event.data.seq, 'a read position beyond the last message').toBeLessThanOrEqual(model.lastSeq);
          member.lastRead = event.data.seq;
          break;
        }
        case 'room_closed':
          // The system closes a room; creating a room the system closed
          // before it existed closes it again, right after its members join.
          if (actor !== null) {
            expect(command.type).toBe('create_room');
            expect(model.closed).toBe(true);
          }
          model.closed = true;
          break;
        case 'room_reopened':
          expect(actor).toBeNull();
          expect(model.closed).toBe(true);
          model.closed = false;
          break;
      }
      state = roomDecider.evolve(state, event);
      events.push(event);
    }

    // After every accepted command: evolve agrees with the model…
    expect(new Map([...state.members].map(([id, m]) => [id, { role: m.role, lastRead: m.last_read_seq }]))).toEqual(
      model.members,
    );
    expect(state.closed).toBe(model.closed);
    for (const [id, m] of model.messages) expect(state.messages.get(id)?.deleted).toBe(m.deleted);
    const reactions = new Map<string, Set<string>>();
    for (const [id, m] of state.messages) for (const [emoji, users] of m.reactions ?? []) reactions.set(`${id} ${emoji}`, users);
    expect(reactions).toEqual(new Map([...model.reactions].map(([k, users]) => [k, new Set(users)])));
    // … a group room that has members has an owner, nobody manages a direct
    // room, and nobody has read beyond the last message.
    const roles = [...model.members.values()].map((m) => m.role);
    if (model.type === 'group' && model.members.size > 0) {
      expect(roles, 'a group room with members has no owner').toContain('owner');
    }
    if (model.type === 'direct') {
      expect(
        roles.every((r) => r === 'member'),
        'nobody manages a direct room',
      ).toBe(true);
      expect(model.members.size, 'a direct room is between two users').toBe(2);
    }
    for (const m of state.members.values()) expect(m.last_read_seq).toBeLessThanOrEqual(state.last_seq);
  }
  return { events, state, rejected, retries };
}

const messagesOf = (events: RoomEvent[]) => events.flatMap((e) => (e.type === 'message_sent' ? [e.data] : []));
const count = (events: RoomEvent[], type: RoomEvent['type']) => events.filter((e) => e.type === type).length;

describe('room invariants over any command sequence', () => {
  // Totals over all runs, to check that the generator really exercises the
  // interesting cases (messages, retries, rejections, people leaving, and
  // each of the newer commands taking effect or being refused).
  const seen = {
    messages: 0,
    retries: 0,
    rejected: 0,
    replies: 0,
    leaves: 0,
    ownerLeaves: 0,
    directRooms: 0,
    byType: new Map<string, number>(),
    byCode: new Map<string, number>(),
  };

  it('numbers messages 1..n without gaps, lets only members post, and never duplicates a retry', () => {
    expect(run(reactionRoundTrip).events.map((e) => e.type)).toContain('reaction_removed');
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

        // Events about a message carry its seq.
        const seqOf = new Map(messages.map((m) => [m.message_id, m.seq]));
        for (const e of events) {
          if (
            e.type === 'message_edited' ||
            e.type === 'message_deleted' ||
            e.type === 'reaction_added' ||
            e.type === 'reaction_removed'
          ) {
            expect(e.data.seq).toBe(seqOf.get(e.data.message_id));
          }
        }

        seen.messages += messages.length;
        seen.retries += retries;
        for (const [code, n] of rejected) {
          seen.rejected += n;
          seen.byCode.set(code, (seen.byCode.get(code) ?? 0) + n);
        }
        seen.replies += messages.filter((m) => m.reply_to !== null).length;
        seen.leaves += count(events, 'user_left_room');
        if (events[0]?.type === 'room_created' && events[0].data.type === 'direct') seen.directRooms++;
        for (const e of events) seen.byType.set(e.type, (seen.byType.get(e.type) ?? 0) + 1);
      }),
      // Random runs reach every event and refusal checked below nearly always,
      // but not always (one run in ~30 had no reaction_removed): this
      // scenario makes the rarest ones certain.
      { numRuns: 300, examples: [[reactionRoundTrip]] },
    );
    expect(seen.messages).toBeGreaterThan(0);
    expect(seen.retries).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(0);
    expect(seen.replies).toBeGreaterThan(0);
    expect(seen.leaves).toBeGreaterThan(0);
    expect(seen.directRooms).toBeGreaterThan(0);
    for (const type of [
      'room_updated',
      'member_role_changed',
      'message_edited',
      'message_deleted',
      'reaction_added',
      'reaction_removed',
      'messages_read',
      'room_closed',
      'room_reopened',
    ]) {
      expect(seen.byType.get(type) ?? 0, `no ${type} in any run`).toBeGreaterThan(0);
    }
    for (const code of [
      'room_not_found',
      'forbidden',
      'invalid_state',
      'message_not_found',
      'last_owner',
      'blocked',
      'not_a_member',
    ]) {
      expect(seen.byCode.get(code) ?? 0, `no command refused with ${code}`).toBeGreaterThan(0);
    }
  });

  it('never edits or reacts to a message after deleting it, and never holds a user twice in one reaction', () => {
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events, state } = run(steps);
        const deletedAt = new Map<string, number>();
        for (const [i, e] of events.entries()) {
          if (e.type === 'message_deleted') {
            expect(deletedAt.has(e.data.message_id), 'deleted twice').toBe(false);
            deletedAt.set(e.data.message_id, i);
          }
          if (e.type === 'message_edited' || e.type === 'reaction_added' || e.type === 'reaction_removed') {
            expect(deletedAt.has(e.data.message_id), `${e.type} after the message was deleted`).toBe(false);
          }
        }
        // Reactions folded from the events: adding twice is never needed.
        const reactions = new Map<string, string[]>();
        for (const e of events) {
          if (e.type !== 'reaction_added' && e.type !== 'reaction_removed') continue;
          const key = `${e.data.message_id} ${e.data.emoji}`;
          const users = reactions.get(key) ?? [];
          if (e.type === 'reaction_added') reactions.set(key, [...users, e.data.user_id]);
          else
            reactions.set(
              key,
              users.filter((u) => u !== e.data.user_id),
            );
        }
        for (const [key, users] of reactions) expect(new Set(users).size, `a user twice in ${key}`).toBe(users.length);
        for (const id of deletedAt.keys()) expect(state.messages.get(id)!.reactions).toBeNull();
      }),
      { numRuns: 200 },
    );
  });

  it("never moves a member's read position back or beyond the last message", () => {
    // `run` checks every messages_read against the model; here, the positions
    // folded from the events alone, from each join on.
    fc.assert(
      fc.property(scenario, (steps) => {
        const { events } = run(steps);
        const positions = new Map<string, number>();
        let lastSeq = 0;
        for (const e of events) {
          if (e.type === 'user_joined_room') positions.set(e.data.user_id, 0);
          if (e.type === 'user_left_room') positions.delete(e.data.user_id);
          if (e.type === 'message_sent') {
            lastSeq = e.data.seq;
            positions.set(e.data.sender_id, e.data.seq);
          }
          if (e.type === 'messages_read') {
            expect(e.data.seq).toBeGreaterThan(positions.get(e.data.user_id)!);
            expect(e.data.seq).toBeLessThanOrEqual(lastSeq);
            positions.set(e.data.user_id, e.data.seq);
          }
        }
      }),
      { numRuns: 200 },
    );
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

  it('keeps an owner in a group room while it has members, even as owners leave and step down', () => {
    // `run` checks the owner after every command; here the runs are steered to
    // owners adding owners, leaving and changing roles, the cases that could
    // strand a room.
    const ownersShuffle = fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('add' as const), actor: user, user_id: user, role: fc.constant<Role>('owner') }),
        fc.record({ kind: fc.constant('remove' as const), actor: user, user_id: user }),
        fc.record({ kind: fc.constant('change_role' as const), actor: user, user_id: user, role }),
      ),
      { maxLength: 40 },
    );
    const groupStart = fc.record({
      kind: fc.constant('create' as const),
      actor: user,
      type: fc.constant<RoomType>('group'),
      member_ids: fc.array(user, { minLength: 1, maxLength: 6 }),
    });
    let ownerDemotions = 0;
    fc.assert(
      fc.property(groupStart, ownersShuffle, (first, rest) => {
        const { events } = run([first, ...rest]);
        const roles = new Map<string, Role>();
        for (const e of events) {
          if (e.type === 'user_joined_room') roles.set(e.data.user_id, e.data.role);
          if (e.type === 'user_left_room' && roles.get(e.data.user_id) === 'owner') seen.ownerLeaves++;
          if (e.type === 'member_role_changed') {
            if (roles.get(e.data.user_id) === 'owner') ownerDemotions++;
            roles.set(e.data.user_id, e.data.role);
          }
        }
      }),
      {
        numRuns: 300,
        // Random runs reach an owner demoting an owner only now and then, so
        // one run that does is always among them: ann makes cat an owner,
        // demotes her, makes dan an owner and leaves.
        examples: [
          [
            { kind: 'create', actor: 'ann', type: 'group', member_ids: ['ben'] },
            [
              { kind: 'add', actor: 'ann', user_id: 'cat', role: 'owner' },
              { kind: 'change_role', actor: 'ann', user_id: 'cat', role: 'member' },
              { kind: 'add', actor: 'ann', user_id: 'dan', role: 'owner' },
              { kind: 'remove', actor: 'ann', user_id: 'ann' },
            ],
          ],
        ],
      },
    );
    expect(seen.ownerLeaves).toBeGreaterThan(0);
    expect(ownerDemotions).toBeGreaterThan(0);
  });
});
