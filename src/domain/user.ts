// The user aggregate: a registered account and its public profile. Uniqueness
// of username and email is not checked here (that needs other aggregates); the
// intake reserves both through the reservation aggregate first.

import { assertNever, Rejection, type Command, type DomainEvent } from './decider.ts';

/**
 * No credential travels with it: the password's hash is in the credentials
 * store before the command is sent (auth/credentials.ts), never in the log.
 */
export type RegisterUser = Command<
  'register_user',
  {
    user_id: string;
    username: string;
    email: string;
    display_name: string;
    /** A bot account (issue 15): no email, no password; it acts with API tokens only. Absent: false. */
    bot?: boolean;
  }
>;
export type UpdateProfile = Command<
  'update_profile',
  { user_id: string; display_name?: string; bio?: string; avatar_url?: string | null }
>;
/** The route checked the current password and stored the new one's hash; the log says only that it changed. */
export type ChangePassword = Command<'change_password', { user_id: string }>;
/**
 * The user followed the link mailed to `email` (sealed): the account's email is
 * now that address, confirmed — a registration's address, or a new one.
 */
export type ConfirmEmail = Command<'confirm_email', { user_id: string; email: string }>;
/**
 * The user deletes their account (the route checks the password first), or a
 * global admin (checked at intake) deletes a bot, naming the act (`action_id`).
 */
export type DeleteUser = Command<'delete_user', { user_id: string; action_id?: string }>;
/**
 * A global admin (checked at intake: PARLEY_ADMINS) suspends an account until
 * `until` (epoch ms; null: until lifted), saying why (`reason`, sealed with the
 * account's key: it is about them). `action_id` names the act in the audit.
 */
export type SuspendUser = Command<'suspend_user', { user_id: string; until: number | null; reason: string; action_id: string }>;
export type LiftSuspension = Command<'lift_suspension', { user_id: string; action_id: string }>;
/**
 * A device of the user asks for Web Push (issue 14): its push service's
 * `endpoint` and the browser's keys (`p256dh`, `auth`), all three sealed with
 * the account's key. `subscription_id` is a keyed hash of the endpoint, so the
 * same device subscribing again replaces its keys.
 */
export type AddPushSubscription = Command<
  'add_push_subscription',
  { user_id: string; subscription_id: string; endpoint: string; p256dh: string; auth: string }
>;
/**
 * The user unsubscribed a device (`unsubscribed`), a new device took the place
 * of the oldest (`replaced`: PARLEY_PUSH_MAX_SUBSCRIPTIONS), or the push
 * service said the subscription is gone (`expired`: the pusher, as the system,
 * was answered 404/410).
 */
export type RemovePushSubscription = Command<
  'remove_push_subscription',
  { user_id: string; subscription_id: string; reason: PushSubscriptionRemoval }
>;
export type PushSubscriptionRemoval = 'unsubscribed' | 'replaced' | 'expired';
/**
 * The account becomes a global admin, or stops being one, beside those named
 * in PARLEY_ADMINS. Given by the operator (`parley admin grant|revoke`, no user:
 * the system) — who may is the intake's business, as for suspensions.
 */
export type GrantAdmin = Command<'grant_admin', { user_id: string; action_id: string }>;
export type RevokeAdmin = Command<'revoke_admin', { user_id: string; action_id: string }>;
/**
 * A global admin (checked at intake) gives a bot an API token. The token
 * itself never enters the log: its SHA-256 is kept beside the read models
 * (auth/bot-tokens.ts). `room_ids`: the rooms it may act in (null: all the
 * bot's rooms).
 */
export type IssueBotToken = Command<
  'issue_bot_token',
  { user_id: string; token_id: string; name: string; room_ids: string[] | null; action_id: string }
>;
export type RevokeBotToken = Command<'revoke_bot_token', { user_id: string; token_id: string; action_id: string }>;
export type UserCommand =
  | RegisterUser
  | IssueBotToken
  | RevokeBotToken
  | UpdateProfile
  | ChangePassword
  | ConfirmEmail
  | DeleteUser
  | SuspendUser
  | LiftSuspension
  | AddPushSubscription
  | RemovePushSubscription
  | GrantAdmin
  | RevokeAdmin;

export type UserRegistered = DomainEvent<
  'user_registered',
  {
    user_id: string;
    username: string;
    email: string;
    display_name: string;
    created_at: number;
    /** A bot account (since v4; false before). */
    bot: boolean;
    /** Who made the account: the admin who created a bot; null for a user who registered (since v4). */
    created_by: string | null;
  }
>;
export type UserProfileUpdated = DomainEvent<
  'user_profile_updated',
  {
    user_id: string;
    display_name: string | null;
    bio: string | null;
    avatar_url: string | null;
    /** Which of the nullable fields above were set (null may mean "cleared"). */
    changed: string[];
    updated_at: number;
  }
>;
/**
 * The account is gone: its projection destroys the data keys of the profile
 * and of the user's messages (docs/PRIVACY.md), so nothing of it can be read
 * again from any copy of the log.
 */
export type UserDeleted = DomainEvent<
  'user_deleted',
  {
    user_id: string;
    deleted_at: number;
    /** The admin who deleted a bot; null: the user themself (since v2). */
    deleted_by: string | null;
    /** A bot's deletion: the act's id in the audit; null otherwise (since v2). */
    action_id: string | null;
  }
>;
/** A credential changed (never what it is): the user's other sessions were ended. */
export type PasswordChanged = DomainEvent<'password_changed', { user_id: string; changed_at: number }>;
/** The account's email is `email` (sealed), confirmed by its link. */
export type EmailConfirmed = DomainEvent<'email_confirmed', { user_id: string; email: string; confirmed_at: number }>;
/** The account may not log in until `until` (null: until lifted); its sessions were ended. */
export type UserSuspended = DomainEvent<
  'user_suspended',
  { user_id: string; until: number | null; reason: string; action_id: string; suspended_by: string; suspended_at: number }
>;
export type UserSuspensionLifted = DomainEvent<
  'user_suspension_lifted',
  { user_id: string; action_id: string; lifted_by: string; lifted_at: number }
>;
export type PushSubscriptionAdded = DomainEvent<
  'push_subscription_added',
  { user_id: string; subscription_id: string; endpoint: string; p256dh: string; auth: string; added_at: number }
>;
export type PushSubscriptionRemoved = DomainEvent<
  'push_subscription_removed',
  { user_id: string; subscription_id: string; reason: PushSubscriptionRemoval; removed_at: number }
>;
/** `granted_by` / `revoked_by`: the admin's id, or null for the operator. */
export type AdminGranted = DomainEvent<
  'admin_granted',
  { user_id: string; action_id: string; granted_by: string | null; granted_at: number }
>;
export type AdminRevoked = DomainEvent<
  'admin_revoked',
  { user_id: string; action_id: string; revoked_by: string | null; revoked_at: number }
>;
/** `issued_by`: the admin. */
export type BotTokenIssued = DomainEvent<
  'bot_token_issued',
  {
    user_id: string;
    token_id: string;
    name: string;
    room_ids: string[] | null;
    action_id: string;
    issued_by: string;
    issued_at: number;
  }
>;
export type BotTokenRevoked = DomainEvent<
  'bot_token_revoked',
  { user_id: string; token_id: string; action_id: string; revoked_by: string; revoked_at: number }
>;
export type UserEvent =
  | UserRegistered
  | BotTokenIssued
  | BotTokenRevoked
  | UserProfileUpdated
  | PasswordChanged
  | EmailConfirmed
  | UserDeleted
  | UserSuspended
  | UserSuspensionLifted
  | PushSubscriptionAdded
  | PushSubscriptionRemoved
  | AdminGranted
  | AdminRevoked;

export interface UserState {
  exists: boolean;
  deleted: boolean;
  username: string;
  /** Suspended until then (Infinity: until lifted); 0: not suspended. */
  suspended_until: number;
  /** The ids of the account's push subscriptions, oldest first. */
  push_subscriptions: string[];
  /** Granted admin (not counting PARLEY_ADMINS, which the domain does not see). */
  admin: boolean;
  bot: boolean;
  /** A bot's API tokens not revoked. */
  bot_tokens: string[];
}

export const initialUserState = (): UserState => ({
  exists: false,
  deleted: false,
  username: '',
  suspended_until: 0,
  push_subscriptions: [],
  admin: false,
  bot: false,
  bot_tokens: [],
});
export const userAggregateId = (userId: string): string => `user:${userId}`;

export function decideUser(command: UserCommand, state: UserState): UserEvent[] {
  const at = command.metadata.at;
  switch (command.type) {
    case 'register_user': {
      if (state.exists) throw new Rejection('already_exists', 'user already exists');
      const { bot = false, ...data } = command.data;
      // A user registers themself; a bot is made by an admin (who may: checked at intake).
      const createdBy = command.metadata.user_id;
      if (bot && (createdBy === null || createdBy === data.user_id))
        throw new Rejection('forbidden', 'a bot is made by an admin');
      return [{ type: 'user_registered', data: { ...data, created_at: at, bot, created_by: bot ? createdBy : null } }];
    }
    case 'issue_bot_token': {
      if (!state.exists || state.deleted || !state.bot) throw new Rejection('user_not_found', 'bot not found');
      const admin = command.metadata.user_id;
      if (admin === null) throw new Rejection('forbidden', 'a bot token is issued by an admin');
      if (state.bot_tokens.includes(command.data.token_id)) return [];
      return [{ type: 'bot_token_issued', data: { ...command.data, issued_by: admin, issued_at: at } }];
    }
    case 'revoke_bot_token': {
      if (!state.exists || !state.bot) throw new Rejection('user_not_found', 'bot not found');
      const admin = command.metadata.user_id;
      if (admin === null) throw new Rejection('forbidden', 'a bot token is revoked by an admin');
      if (!state.bot_tokens.includes(command.data.token_id)) return [];
      return [{ type: 'bot_token_revoked', data: { ...command.data, revoked_by: admin, revoked_at: at } }];
    }
    case 'update_profile': {
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      if (command.metadata.user_id !== command.data.user_id) {
        throw new Rejection('forbidden', 'you can only change your own profile');
      }
      const { user_id, display_name, bio, avatar_url } = command.data;
      const changed = Object.entries({ display_name, bio, avatar_url })
        .filter(([, value]) => value !== undefined)
        .map(([field]) => field);
      if (changed.length === 0) return [];
      return [
        {
          type: 'user_profile_updated',
          data: {
            user_id,
            display_name: display_name ?? null,
            bio: bio ?? null,
            avatar_url: avatar_url ?? null,
            changed,
            updated_at: at,
          },
        },
      ];
    }
    case 'change_password':
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      if (command.metadata.user_id !== command.data.user_id) {
        throw new Rejection('forbidden', 'you can only change your own password');
      }
      return [{ type: 'password_changed', data: { user_id: command.data.user_id, changed_at: at } }];
    case 'confirm_email':
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      if (command.metadata.user_id !== command.data.user_id) {
        throw new Rejection('forbidden', 'you can only confirm your own email');
      }
      return [{ type: 'email_confirmed', data: { ...command.data, confirmed_at: at } }];
    case 'delete_user': {
      if (!state.exists) throw new Rejection('user_not_found', 'user not found');
      const by = command.metadata.user_id;
      const { user_id } = command.data;
      // A person deletes only their own account; a bot is deleted by an admin.
      const ownAccount = by === user_id;
      if (!ownAccount && (by === null || !state.bot)) throw new Rejection('forbidden', 'you can only delete your own account');
      if (state.deleted) return [];
      const action_id = ownAccount ? null : (command.data.action_id ?? null);
      return [{ type: 'user_deleted', data: { user_id, deleted_at: at, deleted_by: ownAccount ? null : by, action_id } }];
    }
    case 'suspend_user': {
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      const admin = command.metadata.user_id;
      if (admin === null) throw new Rejection('forbidden', 'a suspension needs an admin');
      if (admin === command.data.user_id) throw new Rejection('forbidden', 'you cannot suspend yourself');
      if (command.data.until !== null && command.data.until <= at) {
        throw new Rejection('invalid_state', 'a suspension ends in the future');
      }
      return [{ type: 'user_suspended', data: { ...command.data, suspended_by: admin, suspended_at: at } }];
    }
    case 'lift_suspension': {
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      const admin = command.metadata.user_id;
      if (admin === null) throw new Rejection('forbidden', 'lifting a suspension needs an admin');
      if (state.suspended_until <= at) return [];
      const { user_id, action_id } = command.data;
      return [{ type: 'user_suspension_lifted', data: { user_id, action_id, lifted_by: admin, lifted_at: at } }];
    }
    case 'add_push_subscription':
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      if (command.metadata.user_id !== command.data.user_id) {
        throw new Rejection('forbidden', 'you can only subscribe your own devices');
      }
      return [{ type: 'push_subscription_added', data: { ...command.data, added_at: at } }];
    case 'remove_push_subscription': {
      // The user, or the system (the pusher, for a subscription its push service dropped).
      const by = command.metadata.user_id;
      if (by !== null && by !== command.data.user_id) {
        throw new Rejection('forbidden', 'you can only unsubscribe your own devices');
      }
      if (!state.push_subscriptions.includes(command.data.subscription_id)) return [];
      return [{ type: 'push_subscription_removed', data: { ...command.data, removed_at: at } }];
    }
    case 'grant_admin': {
      if (!state.exists || state.deleted) throw new Rejection('user_not_found', 'user not found');
      if (state.admin) return [];
      const { user_id, action_id } = command.data;
      return [{ type: 'admin_granted', data: { user_id, action_id, granted_by: command.metadata.user_id, granted_at: at } }];
    }
    case 'revoke_admin': {
      if (!state.exists) throw new Rejection('user_not_found', 'user not found');
      if (!state.admin) return [];
      const { user_id, action_id } = command.data;
      return [{ type: 'admin_revoked', data: { user_id, action_id, revoked_by: command.metadata.user_id, revoked_at: at } }];
    }
    default:
      return assertNever(command);
  }
}

export function evolveUser(state: UserState, event: UserEvent): UserState {
  switch (event.type) {
    case 'user_registered':
      return { ...initialUserState(), exists: true, username: event.data.username, bot: event.data.bot };
    case 'bot_token_issued':
      return { ...state, bot_tokens: [...state.bot_tokens, event.data.token_id] };
    case 'bot_token_revoked':
      return { ...state, bot_tokens: state.bot_tokens.filter((id) => id !== event.data.token_id) };
    case 'user_profile_updated':
    case 'password_changed':
    case 'email_confirmed':
      return state;
    case 'user_deleted':
      return { ...state, deleted: true, push_subscriptions: [], admin: false, bot_tokens: [] };
    case 'admin_granted':
      return { ...state, admin: true };
    case 'admin_revoked':
      return { ...state, admin: false };
    case 'user_suspended':
      return { ...state, suspended_until: event.data.until ?? Infinity };
    case 'user_suspension_lifted':
      return { ...state, suspended_until: 0 };
    case 'push_subscription_added': {
      const { subscription_id } = event.data;
      const others = state.push_subscriptions.filter((id) => id !== subscription_id);
      return { ...state, push_subscriptions: [...others, subscription_id] };
    }
    case 'push_subscription_removed': {
      const { subscription_id } = event.data;
      return { ...state, push_subscriptions: state.push_subscriptions.filter((id) => id !== subscription_id) };
    }
    default:
      return assertNever(event);
  }
}

export const userDecider = { initialState: initialUserState, decide: decideUser, evolve: evolveUser };
