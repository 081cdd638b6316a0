// Per-user command budgets: which class of budget each command a client gives
// is charged to, and the charge itself. REST routes and WebSocket frames reach
// the same service methods, and those charge here before doing any work, so a
// user has one budget per class however many sockets, tabs or instances they
// use (the counters live behind the RateLimiter port: Redis when distributed).
// The per-socket frame bucket in the gateway is a separate flood guard.

import type { Config } from '../config.ts';
import type { AnyCommand } from '../domain/aggregates.ts';
import type { RateLimiter } from '../infra/rate-limiter.ts';

export type CommandRateClass = 'messages' | 'edits' | 'reactions' | 'rooms' | 'friend_requests' | 'other';

/**
 * The class each command is charged to; `null` for commands no client gives
 * through a chat or social route (registration and account flows, which the
 * auth routes limit by IP and account, and the system's own commands).
 * `satisfies Record<…>` makes a new command type a compile error here until
 * someone decides its class.
 */
export const commandRateClass = {
  send_message: 'messages',
  edit_message: 'edits',
  delete_message: 'edits',
  react: 'reactions',
  create_room: 'rooms',
  update_room: 'rooms',
  add_member: 'rooms',
  remove_member: 'rooms',
  invite_member: 'rooms',
  accept_invitation: 'other',
  decline_invitation: 'other',
  change_role: 'rooms',
  ban_member: 'rooms',
  mute_member: 'rooms',
  set_slow_mode: 'rooms',
  send_friend_request: 'friend_requests',
  accept_friend_request: 'other',
  reject_friend_request: 'other',
  cancel_friend_request: 'other',
  unfriend: 'other',
  block_user: 'other',
  unblock_user: 'other',
  mark_read: 'other',
  mark_delivered: 'other',
  follow_thread: 'other',
  mark_thread_read: 'other',
  set_notifications: 'other',
  pin_message: 'other',
  update_profile: 'other',
  add_push_subscription: 'other',
  file_report: 'other',
  resolve_report: 'other',
  remove_push_subscription: 'other',
  register_user: null,
  change_password: null,
  confirm_email: null,
  delete_user: null,
  // Admins only, checked at intake: no budget of their own.
  suspend_user: null,
  lift_suspension: null,
  grant_admin: null,
  revoke_admin: null,
  issue_bot_token: null,
  revoke_bot_token: null,
  create_webhook: null,
  pause_webhook: null,
  resume_webhook: null,
  replay_webhook: null,
  delete_webhook: null,
  reserve: null,
  release: null,
  close_room: null,
  reopen_room: null,
  expire_messages: null,
} as const satisfies Record<AnyCommand['type'], CommandRateClass | null>;

/** A command type a client gives, charged to a budget. */
export type MeteredCommand = {
  [T in keyof typeof commandRateClass]: (typeof commandRateClass)[T] extends null ? never : T;
}[keyof typeof commandRateClass];

export type CommandRateConfig = Pick<
  Config,
  | 'PARLEY_RATE_MESSAGES_MAX'
  | 'PARLEY_RATE_MESSAGES_WINDOW_S'
  | 'PARLEY_RATE_EDITS_MAX'
  | 'PARLEY_RATE_EDITS_WINDOW_S'
  | 'PARLEY_RATE_REACTIONS_MAX'
  | 'PARLEY_RATE_REACTIONS_WINDOW_S'
  | 'PARLEY_RATE_ROOMS_MAX'
  | 'PARLEY_RATE_ROOMS_WINDOW_S'
  | 'PARLEY_RATE_FRIEND_REQUESTS_MAX'
  | 'PARLEY_RATE_FRIEND_REQUESTS_WINDOW_S'
  | 'PARLEY_RATE_OTHER_MAX'
  | 'PARLEY_RATE_OTHER_WINDOW_S'
>;

/** Each class's budget: `max` commands per `windowS` seconds. */
export function commandRateBudgets(config: CommandRateConfig): Record<CommandRateClass, { max: number; windowS: number }> {
  return {
    messages: { max: config.PARLEY_RATE_MESSAGES_MAX, windowS: config.PARLEY_RATE_MESSAGES_WINDOW_S },
    edits: { max: config.PARLEY_RATE_EDITS_MAX, windowS: config.PARLEY_RATE_EDITS_WINDOW_S },
    reactions: { max: config.PARLEY_RATE_REACTIONS_MAX, windowS: config.PARLEY_RATE_REACTIONS_WINDOW_S },
    rooms: { max: config.PARLEY_RATE_ROOMS_MAX, windowS: config.PARLEY_RATE_ROOMS_WINDOW_S },
    friend_requests: { max: config.PARLEY_RATE_FRIEND_REQUESTS_MAX, windowS: config.PARLEY_RATE_FRIEND_REQUESTS_WINDOW_S },
    other: { max: config.PARLEY_RATE_OTHER_MAX, windowS: config.PARLEY_RATE_OTHER_WINDOW_S },
  };
}

/** The user spent this class's budget; the HTTP and WS layers answer `rate_limited`. */
export class CommandRateLimited extends Error {
  readonly rateClass: CommandRateClass;
  /** Whole seconds until the budget's window starts again. */
  readonly retryAfterS: number;

  constructor(rateClass: CommandRateClass, retryAfterS: number) {
    super(`too many commands of this kind (${rateClass}); try again in ${retryAfterS} s`);
    this.name = 'CommandRateLimited';
    this.rateClass = rateClass;
    this.retryAfterS = retryAfterS;
  }
}

export interface CommandRateLimits {
  /** Counts one `command` of `userId`; throws CommandRateLimited once its class's budget is spent. */
  charge(userId: string, command: MeteredCommand): Promise<void>;
}

/**
 * A lease is at most this fraction of its budget (1/8): what one instance may
 * hold unspent stays a small part of what the user may send.
 */
const LEASE_SHARE = 8;

/**
 * Hits of a user's budget this instance holds: reserved from the shared
 * counter, spent here without asking it again, worthless once its window ends.
 */
interface Lease {
  left: number;
  /** When the window the hits were taken from ends, by this instance's clock (a little early, never late). */
  endsAt: number;
  /** How many the last reservation asked for: the next asks for twice as many. */
  size: number;
}

/**
 * Charges commands to their budgets. Counting every command at the shared
 * counter (Redis, when distributed) is a round trip before each one is
 * decided, so hits are leased: the first command of a user's window reserves
 * one, each further reservation twice the last, up to `leaseHits` and at most
 * an eighth of the budget — a user who sends one message a minute costs what
 * they did, one typing fast a round trip every few messages. The budget still
 * holds across instances (a lease is taken from the shared count); what a
 * lease costs is precision: hits one instance holds and does not spend are not
 * available to the user's commands on another until the window ends (less
 * than a lease per instance, and only for a user on several instances at
 * once). `leaseHits` 1 counts every command at the counter.
 */
export function createCommandRateLimits(options: {
  limiter: RateLimiter;
  config: CommandRateConfig;
  /** Most hits one reservation takes (PARLEY_RATE_LEASE_HITS). */
  leaseHits?: number;
  clock?: () => number;
}): CommandRateLimits {
  const { limiter } = options;
  const leaseHits = Math.max(1, options.leaseHits ?? 1);
  const clock = options.clock ?? Date.now;
  const budgets = commandRateBudgets(options.config);
  const leases = new Map<string, Lease>();
  let charges = 0;

  return {
    async charge(userId, command) {
      const rateClass = commandRateClass[command];
      const { max, windowS } = budgets[rateClass];
      const key = `commands:${rateClass}:${userId}`;
      if (leaseHits === 1) {
        const decision = await limiter.hit(key, max, windowS);
        if (!decision.allowed) throw new CommandRateLimited(rateClass, decision.retryAfterS);
        return;
      }
      const askedAt = clock();
      // Leases of ended windows are dropped now and then, so the map follows the active users.
      if (++charges % 1000 === 0) for (const [k, l] of leases) if (l.endsAt <= askedAt) leases.delete(k);
      const held = leases.get(key);
      const current = held !== undefined && held.endsAt > askedAt ? held : undefined;
      if (current !== undefined && current.left > 0) {
        current.left--;
        return;
      }
      const size = current === undefined ? 1 : Math.min(current.size * 2, leaseHits, Math.max(1, Math.floor(max / LEASE_SHARE)));
      const { granted, resetsInMs } = await limiter.reserve(key, size, max, windowS);
      if (granted === 0) throw new CommandRateLimited(rateClass, Math.max(1, Math.ceil(resetsInMs / 1000)));
      // Timed from when it was asked, before the counter read its window: the lease ends no later than the window.
      const endsAt = askedAt + resetsInMs;
      const now = leases.get(key);
      // Another command's reservation of the same window may have landed meanwhile: the hits add up.
      if (now !== undefined && now.endsAt > clock() && now !== current) {
        now.left += granted - 1;
        now.size = Math.max(now.size, size);
      } else leases.set(key, { left: granted - 1, endsAt, size });
    },
  };
}
