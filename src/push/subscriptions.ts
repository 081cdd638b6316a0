// A user's devices subscribe to Web Push and unsubscribe (issue 14). The
// endpoint and keys go into the log sealed with the account's key (they
// identify a device); the subscription's id is a keyed hash of the endpoint,
// so the same device subscribing again replaces its keys rather than adding a
// second subscription, and the id means nothing once the account is erased.

import type { Kysely } from 'kysely';
import type { CommandExecutor } from '../commands/execute.ts';
import { userKeyId } from '../privacy/key-store.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Database } from '../store/schema.ts';

export interface PushSubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** A subscription as its owner sees it (GET /api/v1/push/subscriptions). */
export interface PushSubscriptionView {
  subscription_id: string;
  endpoint: string;
  added_at: number;
}

export interface PushSubscriptionsDeps {
  db: Kysely<Database>;
  executor: CommandExecutor;
  vault: PersonalDataVault;
  /** PARLEY_PUSH_MAX_SUBSCRIPTIONS. */
  maxPerUser: number;
}

/** Hex characters of the keyed hash kept as the id. */
const ID_LENGTH = 32;

export async function subscriptionIdOf(vault: PersonalDataVault, userId: string, endpoint: string): Promise<string> {
  return (await vault.blindIndex(userKeyId(userId), endpoint)).slice(0, ID_LENGTH);
}

export async function listPushSubscriptions(db: Kysely<Database>, userId: string): Promise<PushSubscriptionView[]> {
  return db
    .selectFrom('push_subscriptions')
    .select(['subscription_id', 'endpoint', 'added_at'])
    .where('user_id', '=', userId)
    .orderBy('added_at')
    .orderBy('subscription_id')
    .execute();
}

/** Subscribes a device (its endpoint already allowed by endpoint-policy.ts); a device beyond the limit replaces the oldest. */
export async function subscribe(
  deps: PushSubscriptionsDeps,
  userId: string,
  input: PushSubscriptionInput,
): Promise<PushSubscriptionView> {
  const subscriptionId = await subscriptionIdOf(deps.vault, userId, input.endpoint);
  const existing = await listPushSubscriptions(deps.db, userId);
  if (!existing.some((subscription) => subscription.subscription_id === subscriptionId)) {
    for (const oldest of existing.slice(0, Math.max(0, existing.length - deps.maxPerUser + 1))) {
      await deps.executor.executeFor(userId, {
        type: 'remove_push_subscription',
        data: { user_id: userId, subscription_id: oldest.subscription_id, reason: 'replaced' },
      });
    }
  }
  const sealer = await deps.vault.sealerFor(userKeyId(userId));
  await deps.executor.executeFor(userId, {
    type: 'add_push_subscription',
    data: {
      user_id: userId,
      subscription_id: subscriptionId,
      endpoint: sealer.seal(input.endpoint),
      p256dh: sealer.seal(input.keys.p256dh),
      auth: sealer.seal(input.keys.auth),
    },
  });
  const added = (await listPushSubscriptions(deps.db, userId)).find((row) => row.subscription_id === subscriptionId);
  // Read-your-writes: the executor waited for the projection.
  if (added === undefined) throw new Error('the push subscription is not in the read model after its command');
  return added;
}

/** Unsubscribes a device; one that is not subscribed changes nothing. */
export async function unsubscribe(deps: PushSubscriptionsDeps, userId: string, endpoint: string): Promise<void> {
  await deps.executor.executeFor(userId, {
    type: 'remove_push_subscription',
    data: { user_id: userId, subscription_id: await subscriptionIdOf(deps.vault, userId, endpoint), reason: 'unsubscribed' },
  });
}
