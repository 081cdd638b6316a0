// The user's rules: registering once, and changing only your own profile.

import { describe, it } from 'vitest';
import type { CommandMetadata } from './decider.ts';
import { given } from './testing/given-when-then.ts';
import {
  userDecider,
  type AddPushSubscription,
  type AdminGranted,
  type AdminRevoked,
  type BotTokenIssued,
  type BotTokenRevoked,
  type IssueBotToken,
  type RevokeBotToken,
  type GrantAdmin,
  type RevokeAdmin,
  type PushSubscriptionAdded,
  type PushSubscriptionRemoved,
  type RemovePushSubscription,
  type ChangePassword,
  type ConfirmEmail,
  type DeleteUser,
  type LiftSuspension,
  type SuspendUser,
  type UserSuspended,
  type UserSuspensionLifted,
  type RegisterUser,
  type UpdateProfile,
  type UserDeleted,
  type UserProfileUpdated,
  type UserRegistered,
} from './user.ts';

const T0 = 1_700_000_000_000;
const T1 = T0 + 1_000;

const meta = (user_id: string | null, at: number): CommandMetadata => ({ command_id: `cmd-${at}`, user_id, at });

const account = {
  user_id: 'alice-id',
  username: 'alice',
  email: 'alice@example.com',
  display_name: 'Alice',
};

const register = (by: string | null = null): RegisterUser => ({
  type: 'register_user',
  data: account,
  metadata: meta(by, T0),
});

const registered: UserRegistered = {
  type: 'user_registered',
  data: { ...account, created_at: T0, bot: false, created_by: null },
};

const update = (by: string | null, changes: Omit<UpdateProfile['data'], 'user_id'>, user_id = 'alice-id'): UpdateProfile => ({
  type: 'update_profile',
  data: { user_id, ...changes },
  metadata: meta(by, T1),
});

const updated = (
  fields: Partial<Pick<UserProfileUpdated['data'], 'display_name' | 'bio' | 'avatar_url'>>,
  changed: string[],
): UserProfileUpdated => ({
  type: 'user_profile_updated',
  data: {
    user_id: 'alice-id',
    display_name: null,
    bio: null,
    avatar_url: null,
    ...fields,
    changed,
    updated_at: T1,
  },
});

describe('register_user', () => {
  it('registers a new user, stamped with the command time', () => {
    given(userDecider, []).when(register()).then([registered]);
  });

  it('refuses to register the same user twice', () => {
    given(userDecider, [registered]).when(register()).thenRejects('already_exists');
  });
});

describe('update_profile', () => {
  it('records only the fields that were given', () => {
    given(userDecider, [registered])
      .when(update('alice-id', { bio: 'hi there' }))
      .then([updated({ bio: 'hi there' }, ['bio'])]);
  });

  it('records several fields at once', () => {
    given(userDecider, [registered])
      .when(update('alice-id', { display_name: 'Al', avatar_url: 'https://cdn.example/a.png' }))
      .then([updated({ display_name: 'Al', avatar_url: 'https://cdn.example/a.png' }, ['display_name', 'avatar_url'])]);
  });

  it('tells a cleared avatar apart from an untouched one', () => {
    given(userDecider, [registered])
      .when(update('alice-id', { avatar_url: null }))
      .then([updated({}, ['avatar_url'])]);
  });

  it('yields no events when nothing is changed', () => {
    given(userDecider, [registered]).when(update('alice-id', {})).then([]);
  });

  it('refuses to change somebody else’s profile', () => {
    given(userDecider, [registered])
      .when(update('mallory-id', { bio: 'pwned' }))
      .thenRejects('forbidden');
  });

  it('refuses a profile change without a user', () => {
    given(userDecider, [registered])
      .when(update(null, { bio: 'x' }))
      .thenRejects('forbidden');
  });

  it('says user_not_found for a user who never registered', () => {
    given(userDecider, [])
      .when(update('alice-id', { bio: 'x' }))
      .thenRejects('user_not_found');
  });
});

describe('change_password', () => {
  const change = (by: string | null, user_id = 'alice-id'): ChangePassword => ({
    type: 'change_password',
    data: { user_id },
    metadata: meta(by, T1),
  });

  it('records that the password changed, and nothing of it', () => {
    given(userDecider, [registered])
      .when(change('alice-id'))
      .then([{ type: 'password_changed', data: { user_id: 'alice-id', changed_at: T1 } }]);
  });

  it('refuses anyone else, and an account that does not exist', () => {
    given(userDecider, [registered]).when(change('bob-id')).thenRejects('forbidden');
    given(userDecider, []).when(change('alice-id')).thenRejects('user_not_found');
  });
});

describe('confirm_email', () => {
  const confirm = (by: string | null): ConfirmEmail => ({
    type: 'confirm_email',
    data: { user_id: 'alice-id', email: 'sealed-new-address' },
    metadata: meta(by, T1),
  });

  it('records the confirmed address (sealed by the caller), for the user only', () => {
    given(userDecider, [registered])
      .when(confirm('alice-id'))
      .then([{ type: 'email_confirmed', data: { user_id: 'alice-id', email: 'sealed-new-address', confirmed_at: T1 } }]);
    given(userDecider, [registered]).when(confirm('bob-id')).thenRejects('forbidden');
    given(userDecider, [
      registered,
      { type: 'user_deleted', data: { user_id: 'alice-id', deleted_at: T1, deleted_by: null, action_id: null } },
    ])
      .when(confirm('alice-id'))
      .thenRejects('user_not_found');
  });
});

describe('delete_user', () => {
  const remove = (by: string | null, user_id = 'alice-id'): DeleteUser => ({
    type: 'delete_user',
    data: { user_id },
    metadata: meta(by, T1),
  });
  const deleted: UserDeleted = {
    type: 'user_deleted',
    data: { user_id: 'alice-id', deleted_at: T1, deleted_by: null, action_id: null },
  };

  it('deletes one’s own account', () => {
    given(userDecider, [registered]).when(remove('alice-id')).then([deleted]);
  });

  it('refuses anyone else, and an account that does not exist', () => {
    given(userDecider, [registered]).when(remove('bob-id')).thenRejects('forbidden');
    given(userDecider, []).when(remove('alice-id')).thenRejects('user_not_found');
  });

  it('is harmless twice, and a deleted account has no profile to change', () => {
    given(userDecider, [registered, deleted]).when(remove('alice-id')).then([]);
    given(userDecider, [registered, deleted])
      .when(update('alice-id', { bio: 'back' }))
      .thenRejects('user_not_found');
  });
});

describe('suspend_user and lift_suspension', () => {
  const suspend = (by: string | null, until: number | null, user_id = 'alice-id'): SuspendUser => ({
    type: 'suspend_user',
    data: { user_id, until, reason: 'spam', action_id: 'act-1' },
    metadata: meta(by, T1),
  });
  const lift = (by: string | null): LiftSuspension => ({
    type: 'lift_suspension',
    data: { user_id: 'alice-id', action_id: 'act-2' },
    metadata: meta(by, T1),
  });
  const suspended = (until: number | null): UserSuspended => ({
    type: 'user_suspended',
    data: { user_id: 'alice-id', until, reason: 'spam', action_id: 'act-1', suspended_by: 'admin-id', suspended_at: T0 },
  });
  const lifted: UserSuspensionLifted = {
    type: 'user_suspension_lifted',
    data: { user_id: 'alice-id', action_id: 'act-2', lifted_by: 'admin-id', lifted_at: T1 },
  };

  it('an admin (checked at intake) suspends an account until a time or until lifted, and lifts it', () => {
    given(userDecider, [registered])
      .when(suspend('admin-id', null))
      .then([{ ...suspended(null), data: { ...suspended(null).data, suspended_at: T1 } }]);
    given(userDecider, [registered, suspended(null)])
      .when(lift('admin-id'))
      .then([lifted]);
  });

  it('lifting what is not in force says nothing: never suspended, lifted already, or ended by itself', () => {
    given(userDecider, [registered]).when(lift('admin-id')).then([]);
    given(userDecider, [registered, suspended(null), lifted])
      .when(lift('admin-id'))
      .then([]);
    given(userDecider, [registered, suspended(T1)])
      .when(lift('admin-id'))
      .then([]);
  });

  it('refuses a suspension that ends in the past, of oneself, of no account, or without an admin', () => {
    given(userDecider, [registered]).when(suspend('admin-id', T1)).thenRejects('invalid_state');
    given(userDecider, [registered]).when(suspend('alice-id', null)).thenRejects('forbidden');
    given(userDecider, [registered]).when(suspend(null, null)).thenRejects('forbidden');
    given(userDecider, []).when(suspend('admin-id', null)).thenRejects('user_not_found');
    given(userDecider, [
      registered,
      { type: 'user_deleted', data: { user_id: 'alice-id', deleted_at: T0, deleted_by: null, action_id: null } },
    ])
      .when(suspend('admin-id', null))
      .thenRejects('user_not_found');
  });
});

describe('add_push_subscription and remove_push_subscription', () => {
  const device = { user_id: 'alice-id', subscription_id: 'sub-1', endpoint: 'sealed:e', p256dh: 'sealed:p', auth: 'sealed:a' };
  const add = (by: string | null): AddPushSubscription => ({
    type: 'add_push_subscription',
    data: device,
    metadata: meta(by, T1),
  });
  const remove = (by: string | null, reason: 'unsubscribed' | 'expired' = 'unsubscribed'): RemovePushSubscription => ({
    type: 'remove_push_subscription',
    data: { user_id: 'alice-id', subscription_id: 'sub-1', reason },
    metadata: meta(by, T1),
  });
  const added: PushSubscriptionAdded = { type: 'push_subscription_added', data: { ...device, added_at: T1 } };
  const removed = (reason: 'unsubscribed' | 'expired'): PushSubscriptionRemoved => ({
    type: 'push_subscription_removed',
    data: { user_id: 'alice-id', subscription_id: 'sub-1', reason, removed_at: T1 },
  });

  it('a user subscribes their own device, again with new keys, and unsubscribes it', () => {
    given(userDecider, [registered]).when(add('alice-id')).then([added]);
    given(userDecider, [registered, added]).when(add('alice-id')).then([added]);
    given(userDecider, [registered, added])
      .when(remove('alice-id'))
      .then([removed('unsubscribed')]);
  });

  it('the system removes a device its push service dropped', () => {
    given(userDecider, [registered, added])
      .when(remove(null, 'expired'))
      .then([removed('expired')]);
  });

  it('removing a device that is not subscribed says nothing: never, removed already, or the account deleted', () => {
    given(userDecider, [registered]).when(remove('alice-id')).then([]);
    given(userDecider, [registered, added, removed('expired')])
      .when(remove('alice-id'))
      .then([]);
    given(userDecider, [
      registered,
      added,
      { type: 'user_deleted', data: { user_id: 'alice-id', deleted_at: T1, deleted_by: null, action_id: null } },
    ])
      .when(remove(null, 'expired'))
      .then([]);
  });

  it('refuses someone else’s devices, and an account that does not exist or was deleted', () => {
    given(userDecider, [registered]).when(add('bob-id')).thenRejects('forbidden');
    given(userDecider, [registered, added]).when(remove('bob-id')).thenRejects('forbidden');
    given(userDecider, []).when(add('alice-id')).thenRejects('user_not_found');
    given(userDecider, [
      registered,
      { type: 'user_deleted', data: { user_id: 'alice-id', deleted_at: T0, deleted_by: null, action_id: null } },
    ])
      .when(add('alice-id'))
      .thenRejects('user_not_found');
  });
});

describe('grant_admin and revoke_admin', () => {
  const act = (type: 'grant_admin' | 'revoke_admin', by: string | null = null): GrantAdmin | RevokeAdmin => ({
    type,
    data: { user_id: 'alice-id', action_id: 'act-9' },
    metadata: meta(by, T1),
  });
  const granted: AdminGranted = {
    type: 'admin_granted',
    data: { user_id: 'alice-id', action_id: 'act-9', granted_by: null, granted_at: T1 },
  };
  const revoked: AdminRevoked = {
    type: 'admin_revoked',
    data: { user_id: 'alice-id', action_id: 'act-9', revoked_by: null, revoked_at: T1 },
  };

  it('the operator grants admin once and revokes it once; again says nothing', () => {
    given(userDecider, [registered]).when(act('grant_admin')).then([granted]);
    given(userDecider, [registered, granted]).when(act('grant_admin')).then([]);
    given(userDecider, [registered, granted]).when(act('revoke_admin')).then([revoked]);
    given(userDecider, [registered, granted, revoked]).when(act('revoke_admin')).then([]);
    given(userDecider, [registered]).when(act('revoke_admin')).then([]);
  });

  it('an admin granting says who did', () => {
    given(userDecider, [registered])
      .when(act('grant_admin', 'boss-id'))
      .then([{ ...granted, data: { ...granted.data, granted_by: 'boss-id' } }]);
  });

  it('refuses an account that does not exist, and granting a deleted one', () => {
    given(userDecider, []).when(act('grant_admin')).thenRejects('user_not_found');
    given(userDecider, [
      registered,
      { type: 'user_deleted', data: { user_id: 'alice-id', deleted_at: T0, deleted_by: null, action_id: null } },
    ])
      .when(act('grant_admin'))
      .thenRejects('user_not_found');
  });
});

describe('bots: register_user with bot, issue_bot_token and revoke_bot_token', () => {
  const botAccount = { user_id: 'bot-id', username: 'deploy_bot', email: '', display_name: 'Deploys', bot: true };
  const makeBot = (by: string | null): RegisterUser => ({ type: 'register_user', data: botAccount, metadata: meta(by, T0) });
  const { bot: _bot, ...botData } = botAccount;
  const botRegistered: UserRegistered = {
    type: 'user_registered',
    data: { ...botData, created_at: T0, bot: true, created_by: 'boss-id' },
  };
  const issue = (token_id: string, by: string | null = 'boss-id'): IssueBotToken => ({
    type: 'issue_bot_token',
    data: { user_id: 'bot-id', token_id, name: 'ci', room_ids: ['room-1'], action_id: `act-${token_id}` },
    metadata: meta(by, T1),
  });
  const issued = (token_id: string): BotTokenIssued => ({
    type: 'bot_token_issued',
    data: {
      user_id: 'bot-id',
      token_id,
      name: 'ci',
      room_ids: ['room-1'],
      action_id: `act-${token_id}`,
      issued_by: 'boss-id',
      issued_at: T1,
    },
  });
  const revoke = (token_id: string, by: string | null = 'boss-id', user_id = 'bot-id'): RevokeBotToken => ({
    type: 'revoke_bot_token',
    data: { user_id, token_id, action_id: `undo-${token_id}` },
    metadata: meta(by, T1),
  });
  const revoked = (token_id: string): BotTokenRevoked => ({
    type: 'bot_token_revoked',
    data: { user_id: 'bot-id', token_id, action_id: `undo-${token_id}`, revoked_by: 'boss-id', revoked_at: T1 },
  });

  it('an admin makes a bot: the event says so and who made it; a person registering is no bot and made by nobody', () => {
    given(userDecider, []).when(makeBot('boss-id')).then([botRegistered]);
    given(userDecider, []).when(register('alice-id')).then([registered]);
  });

  it('refuses a bot made by nobody, or by itself', () => {
    given(userDecider, []).when(makeBot(null)).thenRejects('forbidden');
    given(userDecider, []).when(makeBot('bot-id')).thenRejects('forbidden');
  });

  it('issues a token once per id, revokes it once; the log never has the token, only its id', () => {
    given(userDecider, [botRegistered])
      .when(issue('t1'))
      .then([issued('t1')]);
    given(userDecider, [botRegistered, issued('t1')])
      .when(issue('t1'))
      .then([]);
    given(userDecider, [botRegistered, issued('t1')])
      .when(revoke('t1'))
      .then([revoked('t1')]);
    given(userDecider, [botRegistered, issued('t1'), revoked('t1')])
      .when(revoke('t1'))
      .then([]);
    given(userDecider, [botRegistered, issued('t1')])
      .when(revoke('t2'))
      .then([]);
  });

  it('a person, a deleted bot, or no account gets no token; a token needs an admin', () => {
    given(userDecider, [registered])
      .when({ ...issue('t1'), data: { ...issue('t1').data, user_id: 'alice-id' } })
      .thenRejects('user_not_found');
    given(userDecider, [
      botRegistered,
      { type: 'user_deleted', data: { user_id: 'bot-id', deleted_at: T1, deleted_by: null, action_id: null } },
    ])
      .when(issue('t1'))
      .thenRejects('user_not_found');
    given(userDecider, []).when(issue('t1')).thenRejects('user_not_found');
    given(userDecider, [botRegistered]).when(issue('t1', null)).thenRejects('forbidden');
    given(userDecider, [botRegistered, issued('t1')])
      .when(revoke('t1', null))
      .thenRejects('forbidden');
    given(userDecider, [registered])
      .when(revoke('t1', 'boss-id', 'alice-id'))
      .thenRejects('user_not_found');
  });

  it('an admin deletes a bot, naming the act; nobody but its user deletes a person', () => {
    const deleteBot = (by: string | null, user_id = 'bot-id'): DeleteUser => ({
      type: 'delete_user',
      data: { user_id, action_id: 'act-del' },
      metadata: meta(by, T1),
    });
    given(userDecider, [botRegistered])
      .when(deleteBot('boss-id'))
      .then([{ type: 'user_deleted', data: { user_id: 'bot-id', deleted_at: T1, deleted_by: 'boss-id', action_id: 'act-del' } }]);
    given(userDecider, [botRegistered]).when(deleteBot(null)).thenRejects('forbidden');
    given(userDecider, [registered]).when(deleteBot('boss-id', 'alice-id')).thenRejects('forbidden');
  });

  it('a deleted bot holds no tokens: revoking one says nothing', () => {
    given(userDecider, [
      botRegistered,
      issued('t1'),
      { type: 'user_deleted', data: { user_id: 'bot-id', deleted_at: T1, deleted_by: null, action_id: null } },
    ])
      .when(revoke('t1'))
      .then([]);
  });
});
