// A deterministic, realistic events log for projection tests and benchmarks:
// random commands (users, group and direct rooms, members, messages in bursts,
// reads, reactions, edits, deletions, pins, friend requests, blocks) are decided by
// the real deciders, so every event is one the domain could have written, and
// keyed by its aggregate as the processor keys it.

import type { EventCodec } from '../../log/codec.ts';
import { aggregateIdOf, deciderFor, type AnyCommand, type AnyEvent } from '../../domain/aggregates.ts';
import { Rejection } from '../../domain/decider.ts';
import type { Log, Position } from '../../log/port.ts';
import { headers, topics } from '../../log/topics.ts';

export interface GeneratedEvent {
  /** Aggregate id: the record key. */
  key: string;
  event: AnyEvent;
}

export interface ChatEventsOptions {
  seed: number;
  users: number;
  rooms: number;
  /** Stop after about this many events (setup included). */
  events: number;
  /** Epoch ms of the first command. */
  startAt?: number;
  /**
   * 'realistic': mostly messages, in bursts (benchmarks); 'churn': many edits,
   * deletions, reactions, reads, leaves and rejoins (tests of the projection).
   */
  mix?: 'realistic' | 'churn';
}

type Action =
  | 'send'
  | 'read'
  | 'deliver'
  | 'moderate'
  | 'react'
  | 'edit'
  | 'delete'
  | 'pin'
  | 'thread'
  | 'notify'
  | 'suspend'
  | 'push'
  | 'report'
  | 'webhook'
  | 'add'
  | 'remove'
  | 'role'
  | 'rename'
  | 'profile'
  | 'request'
  | 'answer'
  | 'block'
  | 'unfriend'
  | 'close'
  | 'group';

const mixes: Record<'realistic' | 'churn', Record<Action, number>> = {
  realistic: {
    send: 70,
    read: 8,
    react: 7,
    edit: 3,
    delete: 1,
    add: 2,
    remove: 1,
    role: 0.5,
    rename: 0.5,
    profile: 0.5,
    request: 2.5,
    answer: 1.5,
    block: 0.5,
    unfriend: 0.5,
    close: 0.5,
    group: 0.2,
    pin: 0,
    thread: 0,
    notify: 0,
    suspend: 0,
    push: 0,
    report: 0,
    webhook: 0,
    deliver: 0,
    moderate: 0,
  },
  churn: {
    send: 25,
    read: 15,
    deliver: 8,
    moderate: 4,
    react: 20,
    edit: 8,
    delete: 6,
    add: 7,
    remove: 6,
    role: 2,
    rename: 2,
    profile: 2,
    request: 3,
    answer: 2,
    block: 1,
    unfriend: 1,
    close: 1,
    group: 0.5,
    pin: 4,
    thread: 5,
    notify: 2,
    suspend: 1,
    push: 1,
    report: 1,
    webhook: 0.5,
  },
};

/** mulberry32: small, fast, good enough for test data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const words = [
  'hello',
  'world',
  'parley',
  'chat',
  'événement',
  'café',
  'naïve',
  'rebuild',
  'green',
  'blue',
  'ok',
  '👍',
  'שלום',
  '数据',
];
const emojis = ['👍', '❤️', '😂', '🎉'];

/**
 * Yields the events of `options.events`-ish random commands. A generator, so a
 * benchmark can stream hundreds of thousands of them.
 */
export function* chatEvents(options: ChatEventsOptions): Generator<GeneratedEvent> {
  const next = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const seedHex = (options.seed >>> 0).toString(16).padStart(8, '0');
  let counter = 0;
  const id = () => `${seedHex}-0000-7000-8000-${(counter++).toString(16).padStart(12, '0')}`;
  let now = options.startAt ?? 1_700_000_000_000;
  const states = new Map<string, unknown>();
  let produced = 0;

  function* run(command: AnyCommand): Generator<GeneratedEvent, AnyEvent[]> {
    now += 1 + Math.floor(next() * 50);
    command.metadata.at = now;
    const key = aggregateIdOf(command);
    const decider = deciderFor(key);
    let state = states.has(key) ? states.get(key) : decider.initialState();
    let events: AnyEvent[];
    try {
      events = decider.decide(command, state) as AnyEvent[];
    } catch (error) {
      if (error instanceof Rejection) return [];
      throw error;
    }
    for (const event of events) {
      state = decider.evolve(state, event);
      produced++;
      yield { key, event };
    }
    states.set(key, state);
    return events;
  }
  const meta = (user: string | null) => ({ command_id: id(), user_id: user, at: 0 });

  const users: string[] = [];
  for (let i = 0; i < options.users; i++) {
    const user = id();
    users.push(user);
    yield* run({
      type: 'register_user',
      data: {
        user_id: user,
        username: `user${options.seed}_${i}`,
        email: `u${options.seed}_${i}@example.com`,
        display_name: `User ${i}`,
      },
      metadata: meta(user),
    });
  }
  // Bots made by the first user (as an admin would): one with a token kept and
  // one revoked, one made and deleted.
  // Counter ids only: the random stream is the same with or without it.
  if (users.length > 0) {
    const [admin] = users as [string];
    const bot = id();
    yield* run({
      type: 'register_user',
      data: { user_id: bot, username: `bot${options.seed}`, email: '', display_name: 'Bot', bot: true },
      metadata: meta(admin),
    });
    const tokens = [id(), id()];
    for (const tokenId of tokens) {
      yield* run({
        type: 'issue_bot_token',
        data: { user_id: bot, token_id: tokenId, name: 'ci', room_ids: null, action_id: id() },
        metadata: meta(admin),
      });
    }
    yield* run({
      type: 'revoke_bot_token',
      data: { user_id: bot, token_id: tokens[0]!, action_id: id() },
      metadata: meta(admin),
    });
    const gone = id();
    yield* run({
      type: 'register_user',
      data: { user_id: gone, username: `gone${options.seed}`, email: '', display_name: 'Gone', bot: true },
      metadata: meta(admin),
    });
    yield* run({ type: 'delete_user', data: { user_id: gone, action_id: id() }, metadata: meta(admin) });
  }

  interface Room {
    id: string;
    members: string[];
    messages: { id: string; sender: string }[];
    seq: number;
    /** Users banned, and members muted, at some point (to lift it again). */
    banned: string[];
    muted: string[];
  }
  const rooms: Room[] = [];
  const createGroup = function* (): Generator<GeneratedEvent, void> {
    const owner = pick(users);
    const members = [...new Set(Array.from({ length: 2 + Math.floor(next() * 8) }, () => pick(users)))];
    const room: Room = { id: id(), members: [...new Set([owner, ...members])], messages: [], seq: 0, banned: [], muted: [] };
    const events = yield* run({
      type: 'create_room',
      data: { room_id: room.id, type: 'group', name: `room ${rooms.length}`, member_ids: members },
      metadata: meta(owner),
    });
    if (events.length > 0) rooms.push(room);
  };
  for (let i = 0; i < options.rooms; i++) yield* createGroup();

  const pending: { request: string; from: string; to: string }[] = [];
  const directs: { id: string; pair: [string, string] }[] = [];

  const weights = Object.entries(mixes[options.mix ?? 'realistic']) as [Action, number][];
  const weightTotal = weights.reduce((sum, [, w]) => sum + w, 0);
  const pickAction = (): Action => {
    let roll = next() * weightTotal;
    for (const [action, weight] of weights) if ((roll -= weight) < 0) return action;
    return 'send';
  };
  /** Mostly among the last messages, so edits, reactions and deletions meet in one batch. */
  const recent = <T>(items: readonly T[]): T =>
    next() < 0.7 ? items[Math.max(0, items.length - 1 - Math.floor(next() * 10))]! : pick(items);

  while (produced < options.events) {
    const room = pick(rooms);
    const action = pickAction();
    if (action === 'send') {
      // A burst of messages, as a busy room has.
      const burst = 1 + Math.floor(next() * 6);
      for (let b = 0; b < burst && produced < options.events; b++) {
        const sender = pick(room.members);
        const messageId = id();
        const mentions = next() < 0.1 ? [pick(room.members)] : undefined;
        const events = yield* run({
          type: 'send_message',
          data: {
            room_id: room.id,
            message_id: messageId,
            client_msg_id: `c-${counter}`,
            content: Array.from({ length: 1 + Math.floor(next() * 12) }, () => pick(words)).join(' '),
            mime_type: 'text/plain',
            // Churn: many replies to recent messages, so threads grow and overlap within a batch.
            reply_to:
              room.messages.length === 0
                ? null
                : options.mix === 'churn'
                  ? next() < 0.4
                    ? recent(room.messages).id
                    : null
                  : next() < 0.1
                    ? pick(room.messages).id
                    : null,
            attachments:
              next() < 0.05
                ? [{ url: `https://files.example/${counter}.png`, mime_type: 'image/png', bytes: 1234, name: null }]
                : [],
            ...(mentions === undefined ? {} : { mentions }),
          },
          metadata: meta(sender),
        });
        if (events.length > 0) {
          room.messages.push({ id: messageId, sender });
          if (room.messages.length > 200) room.messages.shift();
        }
      }
    } else if (action === 'read') {
      // Up to a random point: sometimes below what the reader has already read (sent), which changes nothing.
      const seq = next() < 0.5 ? 1_000_000 : 1 + Math.floor(next() * Math.max(1, room.messages.length));
      yield* run({ type: 'mark_read', data: { room_id: room.id, seq }, metadata: meta(pick(room.members)) });
    } else if (action === 'deliver') {
      // As a device acknowledges: sometimes below the member's read mark, which changes nothing.
      const seq = next() < 0.3 ? 1_000_000 : 1 + Math.floor(next() * Math.max(1, room.messages.length));
      yield* run({ type: 'mark_delivered', data: { room_id: room.id, seq }, metadata: meta(pick(room.members)) });
    } else if (action === 'moderate') {
      // By the room's first member (its owner, unless they left).
      const moderator = room.members[0]!;
      const roll = next();
      // Lifting picks among those banned or muted before, so that it changes something.
      const lift = next() < 0.4;
      if (roll < 0.45) {
        // Mostly members; now and then anyone (an outsider ahead, or an invitee: their invitation ends).
        const target = next() < 0.8 ? pick(room.members) : pick(users);
        const user = lift && room.banned.length > 0 ? pick(room.banned) : target;
        const events = yield* run({
          type: 'ban_member',
          data: { room_id: room.id, user_id: user, banned: !lift },
          metadata: meta(moderator),
        });
        if (events.some((e) => e.type === 'user_left_room')) room.members = room.members.filter((m) => m !== user);
        if (events.some((e) => e.type === 'member_banned')) room.banned.push(user);
      } else if (roll < 0.8) {
        const user = lift && room.muted.length > 0 ? pick(room.muted) : pick(room.members);
        const until = lift ? null : now + 60_000;
        const events = yield* run({
          type: 'mute_member',
          data: { room_id: room.id, user_id: user, until },
          metadata: meta(moderator),
        });
        if (events.some((e) => e.type === 'member_muted')) room.muted.push(user);
      } else {
        yield* run({ type: 'set_slow_mode', data: { room_id: room.id, interval_s: pick([0, 5]) }, metadata: meta(moderator) });
      }
    } else if (action === 'report' && room.messages.length > 0) {
      // A member reports a message, or a user; a moderator resolves an open report now and then.
      const message = recent(room.messages);
      const reporter = pick(room.members);
      const reportId = id();
      const aboutMessage = next() < 0.7;
      yield* run({
        type: 'file_report',
        data: {
          report_id: reportId,
          target_user_id: aboutMessage ? message.sender : pick(users),
          room_id: aboutMessage ? room.id : null,
          message_id: aboutMessage ? message.id : null,
          reason: pick(words),
        },
        metadata: meta(reporter),
      });
      if (next() < 0.6) {
        yield* run({
          type: 'resolve_report',
          data: { report_id: reportId, resolution: next() < 0.5 ? 'actioned' : 'dismissed' },
          metadata: meta(room.members[0]!),
        });
      }
    } else if (action === 'webhook') {
      // An admin subscribes a receiver to this room (or to everything), then pauses, resumes, replays or deletes it.
      const admin = room.members[0]!;
      const webhookId = id();
      const act = (type: 'resume_webhook' | 'replay_webhook' | 'delete_webhook') => {
        const data = { webhook_id: webhookId, action_id: id() };
        return run(
          type === 'replay_webhook'
            ? { type, data: { ...data, from_time: now - 60_000 }, metadata: meta(admin) }
            : { type, data, metadata: meta(admin) },
        );
      };
      yield* run({
        type: 'create_webhook',
        data: {
          webhook_id: webhookId,
          action_id: id(),
          url: `https://hooks.example.com/${pick(words)}`,
          events: ['message_sent', 'message_edited'],
          room_id: next() < 0.7 ? room.id : null,
        },
        metadata: meta(admin),
      });
      if (next() < 0.5) {
        // The system pauses a failing one (no user), or an admin pauses it.
        const failing = next() < 0.5;
        yield* run({
          type: 'pause_webhook',
          data: {
            webhook_id: webhookId,
            action_id: id(),
            reason: failing ? 'failing' : 'admin',
            error: failing ? 'HTTP 503' : null,
          },
          metadata: meta(failing ? null : admin),
        });
        if (next() < 0.5) yield* act('resume_webhook');
      }
      if (next() < 0.4) yield* act('replay_webhook');
      if (next() < 0.3) yield* act('delete_webhook');
    } else if (action === 'react' && room.messages.length > 0) {
      const message = recent(room.messages);
      yield* run({
        type: 'react',
        data: { room_id: room.id, message_id: message.id, emoji: pick(emojis), add: next() < 0.75 },
        metadata: meta(pick(room.members)),
      });
    } else if (action === 'edit' && room.messages.length > 0) {
      const message = recent(room.messages);
      yield* run({
        type: 'edit_message',
        data: {
          room_id: room.id,
          message_id: message.id,
          content: `edited ${pick(words)}`,
          // Churn: edits that name someone else, or again the same one (mentions change or stay).
          ...(options.mix === 'churn' && next() < 0.6 ? { mentions: [pick(room.members)] } : {}),
        },
        metadata: meta(message.sender),
      });
    } else if (action === 'delete' && room.messages.length > 0) {
      const message = recent(room.messages);
      yield* run({ type: 'delete_message', data: { room_id: room.id, message_id: message.id }, metadata: meta(message.sender) });
    } else if (action === 'pin' && room.messages.length > 0) {
      const message = recent(room.messages);
      yield* run({
        type: 'pin_message',
        data: { room_id: room.id, message_id: message.id, pinned: next() < 0.7, max_pins: 5 },
        metadata: meta(pick(room.members)),
      });
    } else if (action === 'thread' && room.messages.length > 0) {
      // Follow, unfollow, or read a recent thread up to some point (sometimes one with no reply yet).
      const message = recent(room.messages);
      const roll = next();
      const user = next() < 0.5 ? message.sender : pick(room.members);
      if (roll < 0.5) {
        const seq = next() < 0.5 ? 1_000_000 : 1 + Math.floor(next() * Math.max(1, room.messages.length));
        yield* run({ type: 'mark_thread_read', data: { room_id: room.id, message_id: message.id, seq }, metadata: meta(user) });
      } else {
        yield* run({
          type: 'follow_thread',
          data: { room_id: room.id, message_id: message.id, following: roll < 0.7 },
          metadata: meta(user),
        });
      }
    } else if (action === 'notify') {
      // Sometimes the same setting again, which changes nothing.
      const muted_until = next() < 0.3 ? now + 3_600_000 : null;
      yield* run({
        type: 'set_notifications',
        data: { room_id: room.id, level: pick(['all', 'mentions', 'none'] as const), muted_until },
        metadata: meta(pick(room.members)),
      });
    } else if (action === 'add' && next() < 0.5) {
      const user = pick(users);
      const events = yield* run({
        type: 'add_member',
        data: { room_id: room.id, user_id: user, role: next() < 0.2 ? 'admin' : 'member' },
        metadata: meta(room.members[0]!),
      });
      if (events.length > 0) room.members.push(user);
    } else if (action === 'add') {
      // An invitation, mostly answered at once (so both land in one batch), sometimes left pending.
      const user = pick(users);
      const invited = yield* run({
        type: 'invite_member',
        data: { room_id: room.id, user_id: user, role: next() < 0.2 ? 'admin' : 'member' },
        metadata: meta(room.members[0]!),
      });
      const answer = next();
      if (invited.length > 0 && answer < 0.5) {
        const joined = yield* run({ type: 'accept_invitation', data: { room_id: room.id }, metadata: meta(user) });
        if (joined.length > 0) room.members.push(user);
      } else if (invited.length > 0 && answer < 0.7) {
        yield* run({ type: 'decline_invitation', data: { room_id: room.id }, metadata: meta(user) });
      } else if (invited.length > 0 && answer < 0.8) {
        yield* run({ type: 'remove_member', data: { room_id: room.id, user_id: user }, metadata: meta(room.members[0]!) });
      }
    } else if (action === 'remove' && room.members.length > 2) {
      const user = pick(room.members.slice(1));
      const events = yield* run({ type: 'remove_member', data: { room_id: room.id, user_id: user }, metadata: meta(user) });
      if (events.length > 0) room.members = room.members.filter((m) => m !== user);
    } else if (action === 'role') {
      yield* run({
        type: 'change_role',
        data: { room_id: room.id, user_id: pick(room.members), role: pick(['admin', 'member'] as const) },
        metadata: meta(room.members[0]!),
      });
    } else if (action === 'rename') {
      yield* run({
        type: 'update_room',
        data: { room_id: room.id, name: `room ${pick(words)}`, topic: pick(words) },
        metadata: meta(room.members[0]!),
      });
    } else if (action === 'profile') {
      const user = pick(users);
      yield* run({
        type: 'update_profile',
        data: { user_id: user, bio: pick(words), display_name: `U ${pick(words)}` },
        metadata: meta(user),
      });
    } else if (action === 'suspend') {
      // An admin (any other user: the intake checks who is one) suspends, now and then until a time, or lifts.
      const [admin, user] = [pick(users), pick(users)];
      if (next() < 0.6) {
        const until = next() < 0.5 ? null : now + 3_600_000;
        yield* run({
          type: 'suspend_user',
          data: { user_id: user, until, reason: pick(words), action_id: id() },
          metadata: meta(admin),
        });
      } else if (next() < 0.8) {
        yield* run({ type: 'lift_suspension', data: { user_id: user, action_id: id() }, metadata: meta(admin) });
      } else {
        // The operator (no user) grants or revokes admin.
        const type = next() < 0.6 ? 'grant_admin' : 'revoke_admin';
        yield* run({ type, data: { user_id: user, action_id: id() }, metadata: meta(null) });
      }
    } else if (action === 'push') {
      // A device subscribes (again: new keys), or one of the user's goes.
      const user = pick(users);
      const subscription_id = `sub-${Math.floor(next() * 3)}`;
      if (next() < 0.7) {
        yield* run({
          type: 'add_push_subscription',
          data: {
            user_id: user,
            subscription_id,
            endpoint: `https://fcm.googleapis.com/fcm/send/${pick(words)}`,
            p256dh: `p256dh-${pick(words)}`,
            auth: `auth-${pick(words)}`,
          },
          metadata: meta(user),
        });
      } else {
        const reason = next() < 0.5 ? 'unsubscribed' : 'expired';
        yield* run({
          type: 'remove_push_subscription',
          data: { user_id: user, subscription_id, reason },
          metadata: meta(reason === 'expired' ? null : user),
        });
      }
    } else if (action === 'request') {
      const [from, to] = [pick(users), pick(users)];
      const request = id();
      const events = yield* run({
        type: 'send_friend_request',
        data: { user_id: to, request_id: request },
        metadata: meta(from),
      });
      if (events.length > 0) pending.push({ request, from, to });
    } else if (action === 'answer' && pending.length > 0) {
      const { request, from, to } = pending.splice(Math.floor(next() * pending.length), 1)[0]!;
      const answer = next();
      const type = answer < 0.7 ? 'accept_friend_request' : answer < 0.85 ? 'reject_friend_request' : 'cancel_friend_request';
      const events = yield* run({
        type,
        data: { user_id: type === 'cancel_friend_request' ? to : from, request_id: request },
        metadata: meta(type === 'cancel_friend_request' ? from : to),
      });
      if (type === 'accept_friend_request' && events.length > 0 && next() < 0.5) {
        // The process manager opens a direct room for new friends.
        const pair = [from, to].sort() as [string, string];
        const direct = { id: id(), pair };
        yield* run({
          type: 'create_room',
          data: { room_id: direct.id, type: 'direct', name: '', member_ids: pair },
          metadata: meta(null),
        });
        directs.push(direct);
        rooms.push({ id: direct.id, members: [...pair], messages: [], seq: 0, banned: [], muted: [] });
      }
    } else if (action === 'block') {
      const [a, b] = [pick(users), pick(users)];
      yield* run({ type: next() < 0.6 ? 'block_user' : 'unblock_user', data: { user_id: b }, metadata: meta(a) });
    } else if (action === 'unfriend') {
      const [a, b] = [pick(users), pick(users)];
      yield* run({ type: 'unfriend', data: { user_id: b }, metadata: meta(a) });
    } else if (action === 'close' && directs.length > 0) {
      const direct = pick(directs);
      yield* run({ type: next() < 0.5 ? 'close_room' : 'reopen_room', data: { room_id: direct.id }, metadata: meta(null) });
    } else if (action === 'group') {
      yield* createGroup();
    }
  }
}

/**
 * Appends events to the events log as the processor would (Avro value, event
 * type header, keyed by aggregate), in appends of `chunk`; returns the last position.
 */
export async function appendEvents(
  log: Log,
  codec: EventCodec,
  events: Iterable<GeneratedEvent>,
  chunk = 1_000,
): Promise<Position | null> {
  let pending: GeneratedEvent[] = [];
  let last: Position | null = null;
  const flush = async () => {
    if (pending.length === 0) return;
    const positions = await log.append(
      topics.events,
      pending.map(({ key, event }) => ({
        key,
        value: codec.encode(event.type, event.data),
        headers: { [headers.eventType]: event.type, [headers.aggregateId]: key },
      })),
    );
    last = positions[positions.length - 1] ?? last;
    pending = [];
  };
  for (const event of events) {
    pending.push(event);
    if (pending.length >= chunk) await flush();
  }
  await flush();
  return last;
}
