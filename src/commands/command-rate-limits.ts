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

export function createCommandRateLimits(options: { limiter: RateLimiter; config: CommandRateConfig }): CommandRateLimits {
  const { limiter } = options;
  const budgets = commandRateBudgets(options.config);
  return {
    async charge(userId, command) {
      const rateClass = commandRateClass[command];
      const { max, windowS } = budgets[rateClass];
      const decision = await limiter.hit(`commands:${rateClass}:${userId}`, max, windowS);
      if (!decision.allowed) throw new CommandRateLimited(rateClass, decision.retryAfterS);
    },
  };
}
