// The chat read model: users, rooms, memberships and messages, as the queries
// and the gateway need them. Each event type maps to a small write; the runner
// supplies the transaction and the exactly-once bookkeeping.

import type { Insertable, Transaction, UpdateQueryBuilder, UpdateResult } from 'kysely';
import type { AnyEvent } from '../domain/aggregates.ts';
import { assertNever } from '../domain/decider.ts';
import type { MessageEdited, MessageSent, RoomCreated, UserJoinedRoom } from '../domain/room.ts';
import type { FriendRequestAccepted, FriendRequestSent } from '../domain/friendship.ts';
import type { UserRegistered } from '../domain/user.ts';
import { destroyKeys, messageKeyId, userKeyId } from '../privacy/key-store.ts';
import { ERASED } from '../privacy/vault.ts';
import { OPERATOR_ID } from '../ids.ts';
import { deleteRowsWhereIn, existingPairs, insertRows, updateRows, type Cell } from '../store/dialect.ts';
import type { Database, FriendRequestsTable, MessagesTable, RoomMembersTable, RoomsTable, UsersTable } from '../store/schema.ts';
import { applyMentionEdits, MentionsBatch, mentionsOneByOne, type EditTarget } from './chat-mentions.ts';
import { applyThreadChoice, ThreadsBatch } from './chat-threads.ts';
import type { Projection } from './runner.ts';
import { insertSyncChanges } from './sync-changes.ts';
import { applyWebhookEvent } from './chat-webhooks.ts';
import { chatReadCacheDeps } from './chat-cache-deps.ts';

export const chatProjectionName = 'chat';

export const chatProjection: Projection = {
  name: chatProjectionName,
  readsPersonalData: true,
  async apply(trx, event, record) {
    await applyChatEvent(trx, event as AnyEvent);
    await insertSyncChanges(trx, [{ event, record }]);
  },
  async applyBatch(trx, events) {
    await applyChatEvents(
      trx,
      events.map(({ event }) => event as AnyEvent),
    );
    await insertSyncChanges(trx, events);
  },
  readCacheDeps: chatReadCacheDeps,
};

/**
 * A deleted account's row holds this instead of its username and email: no one
 * can register it ('~' is allowed in neither), and each is unique, as the
 * indexes want.
 */
const erasedIdentity = (userId: string) => `~${userId}`;

const userRow = (d: UserRegistered['data']): Insertable<UsersTable> => ({
  id: d.user_id,
  username: d.username,
  // Erased (the account was deleted; a rebuild reads it so): the placeholder,
  // or two deleted accounts would share the unique email ''.
  email: d.email === '' ? erasedIdentity(d.user_id) : d.email,
  display_name: d.display_name,
  bio: '',
  avatar_url: null,
  created_at: d.created_at,
  deleted_at: null,
  email_verified_at: null,
  is_bot: d.bot ? 1 : 0,
});

const roomRow = (d: RoomCreated['data']): Insertable<RoomsTable> => ({
  id: d.room_id,
  type: d.type,
  name: d.name,
  topic: '',
  created_by: d.created_by,
  created_at: d.created_at,
  last_seq: 0,
  last_message_id: null,
  closed: 0,
  retention_days: null,
});

const memberRow = (d: UserJoinedRoom['data']): Insertable<RoomMembersTable> => ({
  room_id: d.room_id,
  user_id: d.user_id,
  role: d.role,
  joined_at: d.joined_at,
  last_read_seq: 0,
  last_delivered_seq: 0,
});

const messageRow = (d: MessageSent['data']): Insertable<MessagesTable> => ({
  id: d.message_id,
  room_id: d.room_id,
  seq: d.seq,
  sender_id: d.sender_id,
  client_msg_id: d.client_msg_id,
  content: d.content,
  mime_type: d.mime_type,
  reply_to: d.reply_to,
  attachments: JSON.stringify(d.attachments),
  reactions: '{}',
  created_at: d.created_at,
  edited_at: null,
  deleted: 0,
  mentions: d.mentions.length > 0 ? JSON.stringify(d.mentions) : null,
});

const requestRow = (d: FriendRequestSent['data']): Insertable<FriendRequestsTable> => ({
  id: d.request_id,
  from_user_id: d.from_user_id,
  to_user_id: d.to_user_id,
  status: 'pending',
  created_at: d.created_at,
  updated_at: d.created_at,
});

const statusAfter = (type: 'friend_request_accepted' | 'friend_request_rejected' | 'friend_request_cancelled') =>
  type === 'friend_request_accepted' ? 'accepted' : type === 'friend_request_rejected' ? 'rejected' : 'cancelled';

/** One row per direction, so "my friends" is a single indexed range. */
async function befriend(trx: Transaction<Database>, d: FriendRequestAccepted['data']): Promise<void> {
  await trx
    .insertInto('friendships')
    .values([
      { user_id: d.from_user_id, friend_id: d.to_user_id, since: d.at },
      { user_id: d.to_user_id, friend_id: d.from_user_id, since: d.at },
    ])
    .execute();
}

type Reactions = Record<string, string[]>;
const parseReactions = (json: string) => JSON.parse(json) as Reactions;

/** A message's reactions after one reaction event (the same steps on either path). */
function reacted(reactions: Reactions, event: Extract<AnyEvent, { type: 'reaction_added' | 'reaction_removed' }>): Reactions {
  const d = event.data;
  const users = new Set(reactions[d.emoji] ?? []);
  if (event.type === 'reaction_added') users.add(d.user_id);
  else users.delete(d.user_id);
  if (users.size > 0) return { ...reactions, [d.emoji]: [...users] };
  const { [d.emoji]: _emptied, ...others } = reactions;
  return others;
}

/** Making a bot is an admin's act, in the audit (its action id: the bot's id). */
async function auditBotMade(trx: Transaction<Database>, d: UserRegistered['data']): Promise<void> {
  if (!d.bot || d.created_by === null) return;
  await trx
    .insertInto('admin_audit')
    .values({ action_id: d.user_id, action: 'create_bot', admin_id: d.created_by, target_user_id: d.user_id, at: d.created_at })
    .execute();
}

async function applyChatEvent(trx: Transaction<Database>, event: AnyEvent): Promise<void> {
  switch (event.type) {
    case 'user_registered': {
      const d = event.data;
      await trx.insertInto('users').values(userRow(d)).execute();
      await auditBotMade(trx, d);
      return;
    }
    case 'bot_token_issued':
    case 'bot_token_revoked': {
      const issued = event.type === 'bot_token_issued';
      const { user_id, action_id } = event.data;
      const [by, at] = issued ? [event.data.issued_by, event.data.issued_at] : [event.data.revoked_by, event.data.revoked_at];
      await trx
        .insertInto('admin_audit')
        .values({ action_id, action: issued ? 'issue_bot_token' : 'revoke_bot_token', admin_id: by, target_user_id: user_id, at })
        .execute();
      return;
    }
    case 'user_profile_updated': {
      const d = event.data;
      const changes: { display_name?: string; bio?: string; avatar_url?: string | null } = {};
      if (d.changed.includes('display_name') && d.display_name !== null) changes.display_name = d.display_name;
      if (d.changed.includes('bio')) changes.bio = d.bio ?? '';
      if (d.changed.includes('avatar_url')) changes.avatar_url = d.avatar_url;
      if (Object.keys(changes).length > 0) {
        await trx.updateTable('users').set(changes).where('id', '=', d.user_id).execute();
      }
      return;
    }
    case 'value_reserved':
    case 'value_released':
      return; // reservations only matter to the writer
    case 'room_created': {
      const d = event.data;
      await trx.insertInto('rooms').values(roomRow(d)).execute();
      return;
    }
    case 'room_updated':
      await trx
        .updateTable('rooms')
        .set({ name: event.data.name, topic: event.data.topic, retention_days: event.data.retention_days })
        .where('id', '=', event.data.room_id)
        .execute();
      return;
    case 'room_closed':
    case 'room_reopened':
      await trx
        .updateTable('rooms')
        .set({ closed: event.type === 'room_closed' ? 1 : 0 })
        .where('id', '=', event.data.room_id)
        .execute();
      return;
    case 'member_role_changed':
      await trx
        .updateTable('room_members')
        .set({ role: event.data.role })
        .where('room_id', '=', event.data.room_id)
        .where('user_id', '=', event.data.user_id)
        .execute();
      return;
    case 'messages_read':
      await raiseMark(trx, 'last_read_seq', event.data);
      return;
    case 'member_banned': {
      const { room_id, user_id, banned_by, banned_at } = event.data;
      await trx.insertInto('room_bans').values({ room_id, user_id, banned_by, banned_at }).execute();
      return;
    }
    case 'member_unbanned':
      await deleteRoomUserRow(trx, 'room_bans', event.data.room_id, event.data.user_id);
      return;
    case 'member_muted': {
      const { room_id, user_id, until, muted_by } = event.data;
      await deleteRoomUserRow(trx, 'room_mutes', room_id, user_id);
      await trx.insertInto('room_mutes').values({ room_id, user_id, muted_until: until, muted_by }).execute();
      return;
    }
    case 'member_unmuted':
      await deleteRoomUserRow(trx, 'room_mutes', event.data.room_id, event.data.user_id);
      return;
    case 'slow_mode_set':
      await trx.updateTable('rooms').set({ slow_mode_s: event.data.interval_s }).where('id', '=', event.data.room_id).execute();
      return;
    case 'messages_delivered':
      await raiseMark(trx, 'last_delivered_seq', event.data);
      return;
    case 'message_edited': {
      // What it said until now becomes its latest earlier version.
      await applyEdits(trx, new Map([[event.data.message_id, [event]]]));
      await trx
        .updateTable('messages')
        .set({ content: event.data.content, edited_at: event.data.edited_at, mentions: JSON.stringify(event.data.mentions) })
        .where('id', '=', event.data.message_id)
        .execute();
      return;
    }
    case 'message_deleted':
      // A tombstone: the row keeps its seq, loses what it said; destroying the
      // message's key erases what it said from the log too (every copy).
      await trx
        .updateTable('messages')
        .set({ deleted: 1, content: '', attachments: '[]', reactions: '{}', mentions: null })
        .where('id', '=', event.data.message_id)
        .execute();
      await destroyKeys(trx, [messageKeyId(event.data.message_id)], event.data.deleted_at);
      await unpin(trx, event.data.room_id, event.data.message_id);
      await forgetVersions(trx, [event.data.message_id]);
      await mentionsOneByOne.forget(trx, [event.data.message_id]);
      return;
    case 'message_pinned': {
      const { room_id, message_id, seq, pinned_by, pinned_at } = event.data;
      await trx.insertInto('room_pins').values({ room_id, message_id, seq, pinned_by, pinned_at }).execute();
      return;
    }
    case 'message_unpinned':
      await unpin(trx, event.data.room_id, event.data.message_id);
      return;
    case 'reaction_added':
    case 'reaction_removed': {
      const d = event.data;
      const row = await trx.selectFrom('messages').select('reactions').where('id', '=', d.message_id).executeTakeFirst();
      if (row === undefined) return;
      const reactions = reacted(parseReactions(row.reactions), event);
      await trx
        .updateTable('messages')
        .set({ reactions: JSON.stringify(reactions) })
        .where('id', '=', d.message_id)
        .execute();
      return;
    }
    case 'friend_request_sent':
      await trx.insertInto('friend_requests').values(requestRow(event.data)).execute();
      return;
    case 'friend_request_accepted':
    case 'friend_request_rejected':
    case 'friend_request_cancelled': {
      const d = event.data;
      await trx
        .updateTable('friend_requests')
        .set({ status: statusAfter(event.type), updated_at: d.at })
        .where('id', '=', d.request_id)
        .execute();
      if (event.type === 'friend_request_accepted') await befriend(trx, event.data);
      return;
    }
    case 'friendship_ended': {
      const { user_a, user_b } = event.data;
      await trx
        .deleteFrom('friendships')
        .where((eb) =>
          eb.or([
            eb.and([eb('user_id', '=', user_a), eb('friend_id', '=', user_b)]),
            eb.and([eb('user_id', '=', user_b), eb('friend_id', '=', user_a)]),
          ]),
        )
        .execute();
      return;
    }
    case 'user_blocked':
      await trx
        .insertInto('blocks')
        .values({ blocker_id: event.data.blocker_id, blocked_id: event.data.blocked_id, created_at: event.data.at })
        .execute();
      return;
    case 'user_unblocked':
      await trx
        .deleteFrom('blocks')
        .where('blocker_id', '=', event.data.blocker_id)
        .where('blocked_id', '=', event.data.blocked_id)
        .execute();
      return;
    case 'user_joined_room': {
      const d = event.data;
      await trx.insertInto('room_members').values(memberRow(d)).execute();
      await endInvitation(trx, d.room_id, d.user_id);
      return;
    }
    case 'user_invited_to_room': {
      const { room_id, user_id, role, invited_by, invited_at } = event.data;
      await trx.insertInto('room_invitations').values({ room_id, user_id, role, invited_by, invited_at }).execute();
      return;
    }
    case 'room_invitation_ended':
      await endInvitation(trx, event.data.room_id, event.data.user_id);
      return;
    case 'user_left_room': {
      const d = event.data;
      await deleteRoomUserRow(trx, 'room_members', d.room_id, d.user_id);
      return;
    }
    case 'message_sent': {
      const d = event.data;
      await trx.insertInto('messages').values(messageRow(d)).execute();
      await trx
        .updateTable('rooms')
        .set({ last_seq: d.seq, last_message_id: d.message_id })
        .where('id', '=', d.room_id)
        .execute();
      // The sender has read everything up to their own message.
      await trx
        .updateTable('room_members')
        .set({ last_read_seq: d.seq })
        .where('room_id', '=', d.room_id)
        .where('user_id', '=', d.sender_id)
        .execute();
      await mentionsOneByOne.sent(trx, d);
      const threads = new ThreadsBatch();
      threads.sent(d);
      await threads.flush(trx);
      return;
    }
    case 'thread_followed':
    case 'thread_unfollowed':
    case 'thread_read':
      await applyThreadChoice(trx, event);
      return;
    case 'notifications_set': {
      const { room_id, user_id, level, muted_until, at } = event.data;
      await trx
        .updateTable('room_members')
        .set({ notify_level: level, notify_muted_until: muted_until, notify_set_at: at })
        .where('room_id', '=', room_id)
        .where('user_id', '=', user_id)
        .execute();
      return;
    }
    case 'user_deleted': {
      const { user_id, deleted_at, deleted_by, action_id } = event.data;
      await eraseAccount(trx, user_id, deleted_at);
      // An admin deleting a bot is an act in the audit.
      if (deleted_by !== null && action_id !== null) {
        await trx
          .insertInto('admin_audit')
          .values({ action_id, action: 'delete_bot', admin_id: deleted_by, target_user_id: user_id, at: deleted_at })
          .execute();
      }
      return;
    }
    case 'push_subscription_added': {
      const { user_id, subscription_id, endpoint, p256dh, auth, added_at } = event.data;
      // The same device again: its new keys replace the old.
      await forgetPushSubscription(trx, user_id, subscription_id);
      // Erased (the account's key destroyed, seen in a rebuild): no address left to push to.
      if (endpoint === ERASED) return;
      await trx.insertInto('push_subscriptions').values({ user_id, subscription_id, endpoint, p256dh, auth, added_at }).execute();
      return;
    }
    case 'push_subscription_removed':
      await forgetPushSubscription(trx, event.data.user_id, event.data.subscription_id);
      return;
    case 'admin_granted':
    case 'admin_revoked': {
      const granted = event.type === 'admin_granted';
      const { user_id, action_id } = event.data;
      const [by, at] = granted ? [event.data.granted_by, event.data.granted_at] : [event.data.revoked_by, event.data.revoked_at];
      await trx
        .updateTable('users')
        .set({ is_admin: granted ? 1 : 0 })
        .where('id', '=', user_id)
        .execute();
      await trx
        .insertInto('admin_audit')
        .values({
          action_id,
          action: granted ? 'grant_admin' : 'revoke_admin',
          admin_id: by ?? OPERATOR_ID,
          target_user_id: user_id,
          until: null,
          at,
        })
        .execute();
      return;
    }
    case 'report_filed': {
      const { report_id, reporter_id, target_user_id, room_id, message_id, reason, filed_at } = event.data;
      await trx
        .insertInto('reports')
        .values({ id: report_id, reporter_id, target_user_id, room_id, message_id, reason, filed_at })
        .execute();
      return;
    }
    case 'report_resolved': {
      const { report_id, resolution, resolved_by, resolved_at } = event.data;
      await trx.updateTable('reports').set({ resolution, resolved_by, resolved_at }).where('id', '=', report_id).execute();
      return;
    }
    case 'password_changed':
      return; // an audit fact: nothing in the chat model changes
    case 'user_suspended': {
      const { user_id, until, reason, action_id, suspended_by, suspended_at } = event.data;
      await trx
        .updateTable('users')
        .set({ suspended_at, suspended_until: until, suspension_reason: reason })
        .where('id', '=', user_id)
        .execute();
      await trx
        .insertInto('admin_audit')
        .values({ action_id, action: 'suspend', admin_id: suspended_by, target_user_id: user_id, until, at: suspended_at })
        .execute();
      return;
    }
    case 'user_suspension_lifted': {
      const { user_id, action_id, lifted_by, lifted_at } = event.data;
      await trx
        .updateTable('users')
        .set({ suspended_at: null, suspended_until: null, suspension_reason: null })
        .where('id', '=', user_id)
        .execute();
      await trx
        .insertInto('admin_audit')
        .values({
          action_id,
          action: 'lift_suspension',
          admin_id: lifted_by,
          target_user_id: user_id,
          until: null,
          at: lifted_at,
        })
        .execute();
      return;
    }
    case 'email_confirmed': {
      const d = event.data;
      await trx
        .updateTable('users')
        // Erased (a deleted account, read back): the placeholder, as at registration.
        .set({ email: d.email === '' ? erasedIdentity(d.user_id) : d.email, email_verified_at: d.confirmed_at })
        .where('id', '=', d.user_id)
        .where('deleted_at', 'is', null)
        .execute();
      return;
    }
    case 'messages_expired': {
      // Retention: the room's messages up to up_to_seq become tombstones, their keys destroyed.
      const { room_id, up_to_seq, expired_at } = event.data;
      const expired = await trx
        .selectFrom('messages')
        .select('id')
        .where('room_id', '=', room_id)
        .where('seq', '<=', up_to_seq)
        .where('deleted', '=', 0)
        .execute();
      await tombstone(trx, (q) => q.where('room_id', '=', room_id).where('seq', '<=', up_to_seq));
      await trx.deleteFrom('room_pins').where('room_id', '=', room_id).where('seq', '<=', up_to_seq).execute();
      await trx.deleteFrom('message_versions').where('room_id', '=', room_id).where('seq', '<=', up_to_seq).execute();
      await trx.deleteFrom('mentions').where('room_id', '=', room_id).where('seq', '<=', up_to_seq).execute();
      await trx.deleteFrom('thread_follows').where('room_id', '=', room_id).where('root_seq', '<=', up_to_seq).execute();
      await destroyKeys(
        trx,
        expired.map((m) => messageKeyId(m.id)),
        expired_at,
      );
      return;
    }
    case 'webhook_created':
    case 'webhook_paused':
    case 'webhook_resumed':
    case 'webhook_replay_requested':
    case 'webhook_deleted':
      await applyWebhookEvent(trx, event);
      return;
    default:
      return assertNever(event);
  }
}

/** A message loses its pin: unpinned, deleted or expired. By primary key, so it locks that row only (MySQL). */
async function unpin(trx: Transaction<Database>, roomId: string, messageId: string): Promise<void> {
  await trx.deleteFrom('room_pins').where('room_id', '=', roomId).where('message_id', '=', messageId).execute();
}

/**
 * A deleted account: its profile is erased (its key destroyed, its row
 * emptied), and its messages become tombstones whose keys are destroyed too —
 * Matrix's policy: the content goes, the place in history stays, so `seq`
 * stays gapless. The row's username and email become a placeholder no one can
 * register ('~' is allowed in neither), freeing both for the unique indexes.
 */
async function eraseAccount(trx: Transaction<Database>, userId: string, at: number): Promise<void> {
  const placeholder = erasedIdentity(userId);
  await trx
    .updateTable('users')
    .set({
      username: placeholder,
      email: placeholder,
      display_name: '',
      bio: '',
      avatar_url: null,
      deleted_at: at,
      suspension_reason: null,
    })
    .where('id', '=', userId)
    .execute();
  await trx.deleteFrom('room_invitations').where('user_id', '=', userId).execute();
  const messages = await trx.selectFrom('messages').select('id').where('sender_id', '=', userId).execute();
  await tombstone(trx, (q) => q.where('sender_id', '=', userId));
  await forgetVersions(
    trx,
    messages.map((m) => m.id),
  );
  // What they wrote mentions nobody any more, and nobody's mention reaches them.
  await mentionsOneByOne.forget(
    trx,
    messages.map((m) => m.id),
  );
  await trx.deleteFrom('mentions').where('user_id', '=', userId).execute();
  await trx.deleteFrom('thread_follows').where('user_id', '=', userId).execute();
  await trx.deleteFrom('push_subscriptions').where('user_id', '=', userId).execute();
  // Their reports stay (a moderation record), without their words.
  await trx.updateTable('reports').set({ reason: '' }).where('reporter_id', '=', userId).execute();
  await destroyKeys(trx, [userKeyId(userId), ...messages.map((m) => messageKeyId(m.id))], at);
}

async function forgetPushSubscription(trx: Transaction<Database>, userId: string, subscriptionId: string): Promise<void> {
  await trx
    .deleteFrom('push_subscriptions')
    .where('user_id', '=', userId)
    .where('subscription_id', '=', subscriptionId)
    .execute();
}

// ── edit history ────────────────────────────────────────────────────────────

/** A message as its next edit finds it: what it says, since when, how many earlier versions it has, whom it names. */
interface StoredMessage extends EditTarget {
  content: string;
  written_at: number;
  versions: number;
}

/** Each message of `ids` that exists and is not deleted (erased messages keep no history). */
async function storedMessagesOf(trx: Transaction<Database>, ids: readonly string[]): Promise<StoredMessage[]> {
  const found: StoredMessage[] = [];
  for (let start = 0; start < ids.length; start += 1_000) {
    const chunk = ids.slice(start, start + 1_000);
    const rows = await trx
      .selectFrom('messages')
      .select(['id', 'room_id', 'seq', 'sender_id', 'content', 'created_at', 'edited_at', 'mentions'])
      .where('id', 'in', chunk)
      .where('deleted', '=', 0)
      .execute();
    const counts = await trx
      .selectFrom('message_versions')
      .select(['message_id', (eb) => eb.fn.countAll<number | string>().as('versions')])
      .where('message_id', 'in', chunk)
      .groupBy('message_id')
      .execute();
    const countOf = new Map(counts.map((c) => [c.message_id, Number(c.versions)]));
    for (const row of rows) {
      found.push({
        message_id: row.id,
        room_id: row.room_id,
        seq: row.seq,
        sender_id: row.sender_id,
        mentions: row.mentions === null ? [] : (JSON.parse(row.mentions) as string[]),
        content: row.content,
        written_at: row.edited_at ?? row.created_at,
        versions: countOf.get(row.id) ?? 0,
      });
    }
  }
  return found;
}

/**
 * What edits of stored messages (each message's in order) leave besides the
 * new text: the text they replaced (edit history) and the mentions they
 * change. Before the messages' rows take the new text and mentions.
 */
async function applyEdits(trx: Transaction<Database>, edits: ReadonlyMap<string, readonly MessageEdited[]>): Promise<void> {
  const stored = await storedMessagesOf(trx, [...edits.keys()]);
  await insertRows(
    trx,
    'message_versions',
    stored.flatMap((message) => versionsReplacedBy(message, edits.get(message.message_id)!)),
  );
  await applyMentionEdits(trx, stored, edits);
}

/** The earlier versions `edits` (of one message, in order) leave behind, starting from `current`. */
function versionsReplacedBy(current: StoredMessage, edits: readonly MessageEdited[]): Row[] {
  const rows: Row[] = [];
  let { content, written_at, versions } = current;
  for (const edit of edits) {
    rows.push({
      message_id: current.message_id,
      version: versions++,
      room_id: current.room_id,
      seq: current.seq,
      content,
      written_at,
    });
    content = edit.data.content;
    written_at = edit.data.edited_at;
  }
  return rows;
}

/** Erasure wins: a deleted or erased message keeps no earlier version. */
const forgetVersions = (trx: Transaction<Database>, ids: readonly string[]) =>
  deleteRowsWhereIn(trx, 'message_versions', 'message_id', ids);

/** An invitation ends when its invitee joins, declines or it is withdrawn. */
const endInvitation = (trx: Transaction<Database>, roomId: string, userId: string) =>
  deleteRoomUserRow(trx, 'room_invitations', roomId, userId);

/** Moves a member's read or delivery mark forward, never back. */
async function raiseMark(
  trx: Transaction<Database>,
  column: MarkColumn,
  mark: { room_id: string; user_id: string; seq: number },
): Promise<void> {
  await trx
    .updateTable('room_members')
    .set({ [column]: mark.seq })
    .where('room_id', '=', mark.room_id)
    .where('user_id', '=', mark.user_id)
    .where(column, '<', mark.seq)
    .execute();
}

/** Deletes a user's row of a room (membership, invitation, ban, mute) by its primary key. */
async function deleteRoomUserRow(
  trx: Transaction<Database>,
  table: 'room_members' | 'room_invitations' | 'room_bans' | 'room_mutes',
  roomId: string,
  userId: string,
): Promise<void> {
  await trx.deleteFrom(table).where('room_id', '=', roomId).where('user_id', '=', userId).execute();
}

/** Turns the messages `where` picks into tombstones: their place in history stays, what they said goes. */
async function tombstone(
  trx: Transaction<Database>,
  where: (
    query: UpdateQueryBuilder<Database, 'messages', 'messages', UpdateResult>,
  ) => UpdateQueryBuilder<Database, 'messages', 'messages', UpdateResult>,
): Promise<void> {
  await where(
    trx.updateTable('messages').set({ deleted: 1, content: '', attachments: '[]', reactions: '{}', mentions: null }),
  ).execute();
}

// ── batches ─────────────────────────────────────────────────────────────────
// A batch defers what it can and writes it with few statements at the end.
// New users, rooms, members and messages become multi-row INSERTs; changes to
// rows that exist already (a room's last message, a message's edit, deletion
// or reactions, a member's read mark, a profile) are gathered per row, where
// only the last value of each column matters, and written by a few bulk
// UPDATEs. An event that changes a row still pending changes it in memory.
// What is left (friendships, blocks, roles, leaves, invitations) is
// written at once through applyChatEvent: it touches other rows or other
// columns than anything pending, so the order between them does not matter.
// The rows left are exactly those of applying each event in turn:
// rebuild.int.spec.ts compares both, row by row, on generated logs.

type Row = Record<string, Cell>;
/** A member's mark pending: what they have read, or what their devices have received. */
type MarkColumn = 'last_read_seq' | 'last_delivered_seq';
const markColumns: readonly MarkColumn[] = ['last_read_seq', 'last_delivered_seq'];
type MemberMark = { room_id: string; user_id: string; seq: number; onlyIfGreater: boolean };
type ReactionEvent = Extract<AnyEvent, { type: 'reaction_added' | 'reaction_removed' }>;
/** Tables whose existing rows a batch updates by id. */
type ById = 'users' | 'rooms' | 'messages' | 'friend_requests';

const memberKey = (roomId: string, userId: string) => `${roomId}\u0000${userId}`;

class ChatBatch {
  readonly #trx: Transaction<Database>;
  readonly #users = new Map<string, Insertable<UsersTable>>();
  readonly #rooms = new Map<string, Insertable<RoomsTable>>();
  readonly #members = new Map<string, Insertable<RoomMembersTable>>();
  readonly #messages = new Map<string, Insertable<MessagesTable>>();
  /** Column changes to rows not pending (they exist outside this batch, or nowhere: then no-ops). */
  readonly #updates: Record<ById, Map<string, Row>> = {
    users: new Map(),
    rooms: new Map(),
    messages: new Map(),
    friend_requests: new Map(),
  };
  readonly #requests = new Map<string, Insertable<FriendRequestsTable>>();
  /** Reactions of messages not pending: from the stored value (or from none, once deleted), in order. */
  readonly #reactions = new Map<string, { fromStored: boolean; events: ReactionEvent[] }>();
  /** Read and delivery marks of members not pending. */
  readonly #marks: Record<MarkColumn, Map<string, MemberMark>> = { last_read_seq: new Map(), last_delivered_seq: new Map() };
  /**
   * Rows to delete, by key: invitations their invitee's join ended, pins of
   * deleted messages. A DELETE per join or deletion, whether or not there was
   * a row, was over half of a rebuild's statements (bench/README, fix 34).
   */
  #deletes: { room_invitations: [string, string][]; room_pins: [string, string][] } = {
    room_invitations: [],
    room_pins: [],
  };
  /** Data keys to destroy (deleted messages'), with when. */
  readonly #erasures: { keyId: string; at: number }[] = [];
  /** Earlier versions of messages pending here (they have none stored). */
  #versions: Row[] = [];
  /** Edits of messages not pending: their earlier versions and mention changes start from the stored row, at flush. */
  readonly #edits = new Map<string, MessageEdited[]>();
  /** Messages not pending that were deleted: their stored earlier versions go, at flush. */
  readonly #forgotten = new Set<string>();
  readonly #mentions = new MentionsBatch();
  readonly #threads = new ThreadsBatch();

  constructor(trx: Transaction<Database>) {
    this.#trx = trx;
  }

  #update(table: ById, id: string, changes: Row): void {
    const row = this.#updates[table].get(id);
    if (row === undefined) this.#updates[table].set(id, { ...changes });
    else Object.assign(row, changes);
  }

  async apply(event: AnyEvent): Promise<void> {
    switch (event.type) {
      case 'user_registered':
        if (this.#users.has(event.data.user_id)) break; // a duplicate fails as it would alone
        this.#users.set(event.data.user_id, userRow(event.data));
        await auditBotMade(this.#trx, event.data);
        return;
      case 'user_profile_updated': {
        const d = event.data;
        const changes: Row = {};
        if (d.changed.includes('display_name') && d.display_name !== null) changes.display_name = d.display_name;
        if (d.changed.includes('bio')) changes.bio = d.bio ?? '';
        if (d.changed.includes('avatar_url')) changes.avatar_url = d.avatar_url;
        const row = this.#users.get(d.user_id);
        if (row !== undefined) Object.assign(row, changes);
        else if (Object.keys(changes).length > 0) this.#update('users', d.user_id, changes);
        return;
      }
      case 'room_created':
        if (this.#rooms.has(event.data.room_id)) break;
        this.#rooms.set(event.data.room_id, roomRow(event.data));
        return;
      case 'room_updated':
        this.#changeRoom(event.data.room_id, {
          name: event.data.name,
          topic: event.data.topic,
          retention_days: event.data.retention_days,
        });
        return;
      case 'room_closed':
      case 'room_reopened':
        this.#changeRoom(event.data.room_id, { closed: event.type === 'room_closed' ? 1 : 0 });
        return;
      case 'user_joined_room': {
        const d = event.data;
        const key = memberKey(d.room_id, d.user_id);
        if (this.#members.has(key)) break;
        // A mark pending for a member not in the room (a no-op) must not land on the new row.
        await this.#writeMarks(key);
        this.#members.set(key, memberRow(d));
        // The invitation this join ends is stored already (invitations are
        // written at once); its deletion waits for the batch's others.
        this.#deletes.room_invitations.push([d.room_id, d.user_id]);
        return;
      }
      case 'user_left_room': {
        const key = memberKey(event.data.room_id, event.data.user_id);
        // Whatever was pending for the row goes with it.
        for (const column of markColumns) this.#marks[column].delete(key);
        if (this.#members.delete(key)) return;
        break;
      }
      case 'member_role_changed': {
        const row = this.#members.get(memberKey(event.data.room_id, event.data.user_id));
        if (row === undefined) break;
        row.role = event.data.role;
        return;
      }
      case 'message_sent': {
        const d = event.data;
        if (this.#messages.has(d.message_id)) break;
        this.#messages.set(d.message_id, messageRow(d));
        this.#changeRoom(d.room_id, { last_seq: d.seq, last_message_id: d.message_id });
        this.#mark('last_read_seq', d.room_id, d.sender_id, d.seq, false);
        this.#mentions.sent(d);
        this.#threads.sent(d);
        return;
      }
      case 'messages_read':
        this.#mark('last_read_seq', event.data.room_id, event.data.user_id, event.data.seq, true);
        return;
      case 'messages_delivered':
        this.#mark('last_delivered_seq', event.data.room_id, event.data.user_id, event.data.seq, true);
        return;
      case 'message_edited': {
        const id = event.data.message_id;
        const row = this.#messages.get(id);
        if (row === undefined) this.#edits.set(id, [...(this.#edits.get(id) ?? []), event]);
        else if (row.deleted !== 1) {
          const version = this.#versions.filter((v) => v.message_id === id).length;
          const written_at = row.edited_at ?? row.created_at;
          this.#versions.push({ message_id: id, version, room_id: row.room_id, seq: row.seq, content: row.content, written_at });
          this.#mentions.editedPending(event);
        }
        this.#changeMessage(id, {
          content: event.data.content,
          edited_at: event.data.edited_at,
          mentions: JSON.stringify(event.data.mentions),
        });
        return;
      }
      case 'message_deleted': {
        const tombstone = { deleted: 1, content: '', attachments: '[]', reactions: '{}', mentions: null };
        const id = event.data.message_id;
        this.#erasures.push({ keyId: messageKeyId(id), at: event.data.deleted_at });
        // Pins are written at once (they are rare); the deleted message's goes with the batch's others.
        this.#deletes.room_pins.push([event.data.room_id, id]);
        // Erasure wins over edit history and mentions.
        this.#mentions.deleted(id);
        this.#versions = this.#versions.filter((v) => v.message_id !== id);
        if (!this.#messages.has(id)) {
          this.#edits.delete(id);
          this.#forgotten.add(id);
        }
        if (this.#messages.has(id)) Object.assign(this.#messages.get(id)!, tombstone);
        else {
          const { reactions: _, ...rest } = tombstone;
          this.#update('messages', id, rest);
          // Reactions start again from none (the row's, if any, are gone).
          this.#reactions.set(id, { fromStored: false, events: [] });
        }
        return;
      }
      case 'reaction_added':
      case 'reaction_removed': {
        const row = this.#messages.get(event.data.message_id);
        if (row !== undefined) {
          row.reactions = JSON.stringify(reacted(parseReactions(row.reactions), event));
          return;
        }
        const pending = this.#reactions.get(event.data.message_id);
        if (pending === undefined) this.#reactions.set(event.data.message_id, { fromStored: true, events: [event] });
        else pending.events.push(event);
        return;
      }
      case 'friend_request_sent':
        if (this.#requests.has(event.data.request_id)) break;
        this.#requests.set(event.data.request_id, requestRow(event.data));
        return;
      case 'friend_request_accepted':
      case 'friend_request_rejected':
      case 'friend_request_cancelled': {
        const changes = { status: statusAfter(event.type), updated_at: event.data.at };
        const row = this.#requests.get(event.data.request_id);
        if (row !== undefined) Object.assign(row, changes);
        else this.#update('friend_requests', event.data.request_id, changes);
        // Friendships are written at once, like every other change to them.
        if (event.type === 'friend_request_accepted') await befriend(this.#trx, event.data);
        return;
      }
      case 'user_deleted':
      case 'messages_expired':
      case 'email_confirmed':
      case 'user_suspended':
      case 'user_suspension_lifted':
      case 'admin_granted':
      case 'admin_revoked':
        // They rewrite many rows (a user's or a room's messages), pending ones
        // included: those are written first.
        await this.flush();
        break;
      case 'member_banned':
      case 'member_unbanned':
      case 'member_muted':
      case 'member_unmuted':
      case 'slow_mode_set':
      case 'thread_followed':
      case 'thread_unfollowed':
      case 'thread_read':
      case 'notifications_set':
      case 'bot_token_issued':
      case 'bot_token_revoked':
        // Rare (a thread read mark: one per thread a user opens): written at
        // once, after what is pending (the room, or the thread's rows, may be).
        await this.flush();
        break;
      case 'user_invited_to_room':
      case 'room_invitation_ended':
      case 'message_pinned':
      case 'message_unpinned':
        // Written at once, after the deletions pending in their table (an
        // invitation again after a join and a leave must find the first one gone).
        await this.#writeDeletes();
        break;
      default:
        break;
    }
    await applyChatEvent(this.#trx, event);
  }

  /**
   * Deletes the rows pending deletion that exist: one read per table for the
   * batch, then each found row by its key (few: most joins follow no
   * invitation, most deleted messages were never pinned).
   */
  async #writeDeletes(): Promise<void> {
    const trx = this.#trx;
    const { room_invitations: invitations, room_pins: pins } = this.#deletes;
    this.#deletes = { room_invitations: [], room_pins: [] };
    // existingPairs of no pairs reads nothing.
    for (const [room, user] of await existingPairs(trx, 'room_invitations', ['room_id', 'user_id'], invitations)) {
      await endInvitation(trx, String(room), String(user));
    }
    for (const [room, message] of await existingPairs(trx, 'room_pins', ['room_id', 'message_id'], pins)) {
      await unpin(trx, String(room), String(message));
    }
  }

  #changeRoom(id: string, changes: Row): void {
    const row = this.#rooms.get(id);
    if (row !== undefined) Object.assign(row, changes);
    else this.#update('rooms', id, changes);
  }

  #changeMessage(id: string, changes: Row): void {
    const row = this.#messages.get(id);
    if (row !== undefined) Object.assign(row, changes);
    else this.#update('messages', id, changes);
  }

  /** Writes everything pending. */
  async flush(): Promise<void> {
    const trx = this.#trx;
    await this.#writeDeletes();
    await insertRows(trx, 'users', [...this.#users.values()] as Row[]);
    await insertRows(trx, 'rooms', [...this.#rooms.values()] as Row[]);
    await insertRows(trx, 'room_members', [...this.#members.values()] as Row[]);
    await insertRows(trx, 'messages', [...this.#messages.values()] as Row[]);
    await insertRows(trx, 'friend_requests', [...this.#requests.values()] as Row[]);
    await this.#settleEdits();
    await this.#mentions.flush(trx);
    // After the messages (a thread's first message may be new) and the users.
    await this.#threads.flush(trx);
    await this.#settleReactions();
    for (const table of ['users', 'rooms', 'messages', 'friend_requests'] as const) {
      // One bulk UPDATE per set of columns changed.
      const byColumns = new Map<string, Row[]>();
      for (const [id, changes] of this.#updates[table]) {
        const columns = Object.keys(changes).sort();
        const key = columns.join(',');
        const rows = byColumns.get(key) ?? byColumns.set(key, []).get(key)!;
        rows.push({ id, ...changes });
      }
      for (const [key, rows] of byColumns) await updateRows(trx, table, ['id'], key.split(','), rows);
    }
    await this.#writeMarks();
    for (const { keyId, at } of this.#erasures) await destroyKeys(trx, [keyId], at);
    this.#erasures.length = 0;
    this.#users.clear();
    this.#rooms.clear();
    this.#members.clear();
    this.#messages.clear();
    this.#requests.clear();
    for (const updates of Object.values(this.#updates)) updates.clear();
    this.#reactions.clear();
  }

  /** Writes what the batch's edits left (before the messages' new text is): earlier versions, mention changes. */
  async #settleEdits(): Promise<void> {
    await applyEdits(this.#trx, this.#edits);
    await insertRows(this.#trx, 'message_versions', this.#versions);
    await forgetVersions(this.#trx, [...this.#forgotten]);
    this.#versions = [];
    this.#edits.clear();
    this.#forgotten.clear();
  }

  /** Turns the reactions gathered for existing messages into their final value. */
  async #settleReactions(): Promise<void> {
    const stored = new Map<string, string>();
    const ids = [...this.#reactions].filter(([, r]) => r.fromStored).map(([id]) => id);
    for (let start = 0; start < ids.length; start += 1_000) {
      const rows = await this.#trx
        .selectFrom('messages')
        .select(['id', 'reactions'])
        .where('id', 'in', ids.slice(start, start + 1_000))
        .execute();
      for (const row of rows) stored.set(row.id, row.reactions);
    }
    for (const [id, { fromStored, events }] of this.#reactions) {
      const base = fromStored ? stored.get(id) : '{}';
      if (base === undefined) continue; // no such message: reacting to it changed nothing
      const reactions = events.reduce(reacted, parseReactions(base));
      this.#update('messages', id, { reactions: JSON.stringify(reactions) });
    }
  }

  /** message_sent sets the sender's read mark; messages_read and messages_delivered only raise theirs. */
  #mark(column: MarkColumn, room_id: string, user_id: string, seq: number, onlyIfGreater: boolean): void {
    const key = memberKey(room_id, user_id);
    const member = this.#members.get(key);
    if (member !== undefined) {
      member[column] = onlyIfGreater ? Math.max(member[column] ?? 0, seq) : seq;
      return;
    }
    const pending = this.#marks[column];
    const mark = pending.get(key);
    if (mark === undefined) pending.set(key, { room_id, user_id, seq, onlyIfGreater });
    else if (!onlyIfGreater) Object.assign(mark, { seq, onlyIfGreater: false });
    else mark.seq = Math.max(mark.seq, seq);
  }

  /** Writes the pending marks (only `key`'s when given). */
  async #writeMarks(key?: string): Promise<void> {
    for (const column of markColumns) {
      const pending = this.#marks[column];
      let marks: MemberMark[];
      if (key === undefined) {
        marks = [...pending.values()];
        pending.clear();
      } else {
        const mark = pending.get(key);
        if (mark === undefined) continue;
        pending.delete(key);
        marks = [mark];
      }
      await updateRows(
        this.#trx,
        'room_members',
        ['room_id', 'user_id'],
        [column],
        marks.map(({ room_id, user_id, seq, onlyIfGreater }) => ({
          room_id,
          user_id,
          [column]: seq,
          raise: onlyIfGreater ? 1 : 0,
        })),
        (mark) => mark.raise === 1,
      );
    }
  }
}

async function applyChatEvents(trx: Transaction<Database>, events: readonly AnyEvent[]): Promise<void> {
  const batch = new ChatBatch(trx);
  for (const event of events) await batch.apply(event);
  await batch.flush();
}
