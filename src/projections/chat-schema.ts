// The chat model's tables as they are today, in one place, for any version:
// `parley rebuild chat` creates version N's fresh tables from this (tables
// first, indexes and full-text search once the rows are in). Version 1 was
// created by migrations/0001…0005 instead; chat-schema.int.spec.ts checks on
// both engines that the two agree, column by column and index by index.
//
// Changing the chat model's schema therefore means: change it here, add a
// migration that makes the same change to every version whose tables exist
// (`existingVersions(db, chatModel)` lists them, `versionedName` names them),
// and, when old events must fill the new column, `parley rebuild chat`.

import { sql } from 'kysely';
import { engineOf, type AnyDatabase } from '../store/dialect.ts';
import { chatProjection } from './chat-projection.ts';
import { versionedName, type VersionedModel } from './versions.ts';

/** The chat model's tables (version-1 names), children before parents. */
export const chatTables = [
  'sync_changes',
  'sync_horizons',
  'room_bans',
  'room_mutes',
  'room_pins',
  'message_versions',
  'mentions',
  'thread_follows',
  'admin_audit',
  'push_subscriptions',
  'reports',
  'webhooks',
  'messages',
  'room_members',
  'room_invitations',
  'rooms',
  'friend_requests',
  'friendships',
  'blocks',
  'users',
] as const;

/** Names queries use that a version renames: the tables and SQLite's full-text table. */
export const chatNames: readonly string[] = [...chatTables, 'messages_fts'];

const ftsTriggers = ['messages_fts_insert', 'messages_fts_delete', 'messages_fts_update'] as const;

/**
 * Secondary indexes, unique ones included. The projection's own writes only
 * ever find rows by primary key, so a rebuild loads the tables without them
 * and builds each once at the end, sorted, which is far cheaper than keeping
 * them up to date row by row. (Migrations declared some as column or table
 * constraints; the schema is the same, chat-schema.int.spec.ts checks it.)
 */
const chatIndexes: readonly { name: string; table: (typeof chatTables)[number]; columns: string[]; unique: boolean }[] = [
  { name: 'users_username', table: 'users', columns: ['username'], unique: true },
  { name: 'users_email', table: 'users', columns: ['email'], unique: true },
  { name: 'room_members_by_user', table: 'room_members', columns: ['user_id'], unique: false },
  // "My invitations".
  { name: 'room_invitations_by_user', table: 'room_invitations', columns: ['user_id', 'invited_at'], unique: false },
  { name: 'messages_room_seq', table: 'messages', columns: ['room_id', 'seq'], unique: true },
  { name: 'messages_room_client_id', table: 'messages', columns: ['room_id', 'sender_id', 'client_msg_id'], unique: true },
  // A thread's replies, and the summaries of the threads a history page roots.
  { name: 'messages_reply_to', table: 'messages', columns: ['reply_to', 'seq'], unique: false },
  // A user's own messages: erased with the account, listed by the export.
  { name: 'messages_by_sender', table: 'messages', columns: ['sender_id', 'created_at'], unique: false },
  // My mentions, newest first; retention erases a room's up to a seq.
  { name: 'mentions_by_user', table: 'mentions', columns: ['user_id', 'mentioned_at'], unique: false },
  { name: 'mentions_room_seq', table: 'mentions', columns: ['room_id', 'seq'], unique: false },
  // My followed threads, the latest active first; retention erases a room's up to a seq.
  { name: 'thread_follows_by_user', table: 'thread_follows', columns: ['user_id', 'last_activity_at'], unique: false },
  { name: 'thread_follows_room_seq', table: 'thread_follows', columns: ['room_id', 'root_seq'], unique: false },
  // The audit, newest first.
  { name: 'admin_audit_at', table: 'admin_audit', columns: ['at'], unique: false },
  // Reports, newest first: all of them (global admins), a room's (its moderators).
  { name: 'reports_filed', table: 'reports', columns: ['filed_at'], unique: false },
  { name: 'reports_room', table: 'reports', columns: ['room_id', 'filed_at'], unique: false },
  // Retention erases a room's earlier versions up to a seq.
  { name: 'message_versions_room_seq', table: 'message_versions', columns: ['room_id', 'seq'], unique: false },
  // A user's changes, and a room's, from a sync token on (GET /api/v1/sync).
  { name: 'sync_changes_by_user', table: 'sync_changes', columns: ['user_id', 'log_partition', 'log_offset'], unique: false },
  { name: 'sync_changes_by_room', table: 'sync_changes', columns: ['room_id', 'log_partition', 'log_offset'], unique: false },
  { name: 'friend_requests_to', table: 'friend_requests', columns: ['to_user_id', 'status'], unique: false },
  { name: 'friend_requests_from', table: 'friend_requests', columns: ['from_user_id', 'status'], unique: false },
  { name: 'blocks_by_blocked', table: 'blocks', columns: ['blocked_id'], unique: false },
];

/** Creates the tables of a version with their primary keys; finishChatTables adds the rest. */
export async function createChatTables(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);

  await db.schema
    .createTable(n('users'))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('username', 'varchar(64)', (c) => c.notNull())
    .addColumn('email', 'varchar(320)', (c) => c.notNull())
    .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('bio', 'varchar(1000)', (c) => c.notNull().defaultTo(''))
    .addColumn('avatar_url', 'varchar(2048)')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('deleted_at', 'bigint')
    .addColumn('email_verified_at', 'bigint')
    .addColumn('suspended_at', 'bigint')
    .addColumn('suspended_until', 'bigint')
    .addColumn('suspension_reason', 'varchar(1000)')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_bot', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable(n('rooms'))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(10)', (c) => c.notNull())
    .addColumn('name', 'varchar(400)', (c) => c.notNull())
    .addColumn('topic', 'varchar(1000)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_message_id', 'varchar(36)')
    .addColumn('closed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retention_days', 'integer')
    .addColumn('slow_mode_s', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable(n('room_members'))
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('role', 'varchar(10)', (c) => c.notNull())
    .addColumn('joined_at', 'bigint', (c) => c.notNull())
    .addColumn('last_read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_delivered_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('notify_level', 'varchar(10)', (c) => c.notNull().defaultTo('all'))
    .addColumn('notify_muted_until', 'bigint')
    .addColumn('notify_set_at', 'bigint')
    .addPrimaryKeyConstraint(n('room_members_pk'), ['room_id', 'user_id'])
    .execute();

  await createInvitationsTable(db, version);
  await createPinsTable(db, version);
  await createVersionsTable(db, version);
  await createMentionsTable(db, version);
  await createThreadFollowsTable(db, version);
  await createAdminAuditTable(db, version);
  await createPushSubscriptionsTable(db, version);
  await createReportsTable(db, version);
  await createWebhooksTable(db, version);
  await createModerationTables(db, version);
  await createSyncTables(db, version);

  await db.schema
    .createTable(n('messages'))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('sender_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('client_msg_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('mime_type', 'varchar(100)', (c) => c.notNull())
    .addColumn('reply_to', 'varchar(36)')
    .addColumn('attachments', 'text', (c) => c.notNull())
    .addColumn('reactions', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('edited_at', 'bigint')
    .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('mentions', 'text')
    .execute();

  await db.schema
    .createTable(n('friend_requests'))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('from_user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('to_user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable(n('friendships'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('friend_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('friendships_pk'), ['user_id', 'friend_id'])
    .execute();

  await db.schema
    .createTable(n('blocks'))
    .addColumn('blocker_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('blocked_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('blocks_pk'), ['blocker_id', 'blocked_id'])
    .execute();
}

/** Pending invitations to group rooms (migrations/0012 added it to the versions before it). */
export async function createInvitationsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('room_invitations'))
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('role', 'varchar(10)', (c) => c.notNull())
    .addColumn('invited_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('invited_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('room_invitations_pk'), ['room_id', 'user_id'])
    .execute();
}

/** Room bans and mutes (migrations/0019 added them to the versions before it). */
export async function createModerationTables(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('room_bans'))
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('banned_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('banned_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('room_bans_pk'), ['room_id', 'user_id'])
    .execute();
  // Apart from room_members: leaving a room does not end a mute.
  await db.schema
    .createTable(n('room_mutes'))
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('muted_until', 'bigint', (c) => c.notNull())
    .addColumn('muted_by', 'varchar(36)', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('room_mutes_pk'), ['room_id', 'user_id'])
    .execute();
}

/** Pinned messages, per room (migrations/0015 added it to the versions before it). */
export async function createPinsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('room_pins'))
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('pinned_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('pinned_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('room_pins_pk'), ['room_id', 'message_id'])
    .execute();
}

/**
 * A message's earlier versions, the text an edit replaced (migrations/0016
 * added it to the versions before it). Version 0 is what was sent.
 */
export async function createVersionsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('message_versions'))
    .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('written_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('message_versions_pk'), ['message_id', 'version'])
    .execute();
}

/** Who each message mentions, for their mentions inbox (migrations/0017 added it to the versions before it). */
export async function createMentionsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('mentions'))
    .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('mentioned_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('mentions_pk'), ['message_id', 'user_id'])
    .execute();
}

/** Who follows which thread, and how far they have read it (migrations/0021 added it to the versions before it). */
export async function createThreadFollowsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('thread_follows'))
    .addColumn('message_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('root_seq', 'bigint', (c) => c.notNull())
    .addColumn('following', 'integer', (c) => c.notNull())
    .addColumn('last_read_seq', 'bigint', (c) => c.notNull())
    .addColumn('last_activity_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('thread_follows_pk'), ['message_id', 'user_id'])
    .execute();
}

/**
 * Global admins' acts (migrations/0023 added it to the versions before it;
 * 0028 made the target a user or a webhook, and builds it under `name`).
 */
export async function createAdminAuditTable(
  db: AnyDatabase,
  version: number,
  name = versionedName('admin_audit', version),
): Promise<void> {
  await db.schema
    .createTable(name)
    .addColumn('action_id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('admin_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('target_user_id', 'varchar(36)')
    .addColumn('target_webhook_id', 'varchar(36)')
    .addColumn('until', 'bigint')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
}

/** The users' Web Push subscriptions (migrations/0024 added it to the versions before it). */
export async function createPushSubscriptionsTable(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('push_subscriptions'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('subscription_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('endpoint', 'varchar(2048)', (c) => c.notNull())
    .addColumn('p256dh', 'varchar(128)', (c) => c.notNull())
    .addColumn('auth', 'varchar(64)', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('push_subscriptions_pk'), ['user_id', 'subscription_id'])
    .execute();
}

/** Reports to the moderators (migrations/0025 added it to the versions before it). */
export async function createSyncTables(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  await db.schema
    .createTable(n('sync_changes'))
    .addColumn('log_partition', 'integer', (c) => c.notNull())
    .addColumn('log_offset', 'bigint', (c) => c.notNull())
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)')
    .addColumn('user_id', 'varchar(36)')
    .addColumn('frame', 'varchar(32)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('appended_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint(n('sync_changes_pk'), ['log_partition', 'log_offset', 'idx'])
    .execute();
  await db.schema
    .createTable(n('sync_horizons'))
    .addColumn('log_partition', 'integer', (c) => c.primaryKey())
    .addColumn('first_offset', 'bigint', (c) => c.notNull())
    .execute();
}

export async function createReportsTable(db: AnyDatabase, version: number): Promise<void> {
  await db.schema
    .createTable(versionedName('reports', version))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('reporter_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('target_user_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)')
    .addColumn('message_id', 'varchar(36)')
    .addColumn('reason', 'varchar(1000)', (c) => c.notNull())
    .addColumn('resolution', 'varchar(10)')
    .addColumn('resolved_by', 'varchar(36)')
    .addColumn('filed_at', 'bigint', (c) => c.notNull())
    .addColumn('resolved_at', 'bigint')
    .execute();
}

/** Outgoing webhooks (migrations/0028 added it to the versions before it). */
export async function createWebhooksTable(db: AnyDatabase, version: number): Promise<void> {
  await db.schema
    .createTable(versionedName('webhooks', version))
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('room_id', 'varchar(36)')
    .addColumn('status', 'varchar(10)', (c) => c.notNull())
    .addColumn('paused_reason', 'varchar(10)')
    .addColumn('paused_at', 'bigint')
    .addColumn('last_error', 'varchar(1000)')
    .addColumn('replay_from', 'bigint')
    .addColumn('replay_generation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'varchar(36)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

/**
 * The secondary indexes and full-text search (FTS5 on SQLite, a FULLTEXT index
 * on MySQL); what exists already is left alone.
 */
export async function finishChatTables(db: AnyDatabase, version: number): Promise<void> {
  if (engineOf(db) === 'mysql') {
    await finishMysqlTables(db, version);
    return;
  }
  const n = (name: string) => versionedName(name, version);
  for (const index of chatIndexes) {
    let create = db.schema.createIndex(n(index.name)).ifNotExists().on(n(index.table)).columns(index.columns);
    if (index.unique) create = create.unique();
    await create.execute();
  }
  await createSqliteMessageSearch(db, version);
}

/**
 * MySQL: one ALTER per table adds all its missing indexes in one pass over the
 * rows. The messages table's FULLTEXT index goes in the same ALTER: InnoDB
 * rebuilds the whole table to add a first FULLTEXT index (it adds a hidden
 * FTS_DOC_ID column), so adding it separately, before or after the other
 * indexes, copies the table twice (1M messages: ~14.6 s apart, ~9.9 s together).
 */
async function finishMysqlTables(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  const { rows } = await sql<{ name: string }>`select distinct index_name as name from information_schema.statistics
    where table_schema = database() and table_name in (${sql.join(chatTables.map(n))})`.execute(db);
  const existing = new Set(rows.map((row) => row.name));
  for (const table of chatTables) {
    const adds = chatIndexes
      .filter((index) => index.table === table && !existing.has(n(index.name)))
      .map(
        (index) =>
          sql`add ${sql.raw(index.unique ? 'unique ' : '')}index ${sql.id(n(index.name))} (${sql.join(index.columns.map((c) => sql.id(c)))})`,
      );
    if (table === 'messages' && !existing.has(n(messageSearchIndex))) {
      adds.push(sql`add fulltext index ${sql.id(n(messageSearchIndex))} (content)`);
    }
    if (adds.length > 0) await sql`alter table ${sql.table(n(table))} ${sql.join(adds)}`.execute(db);
  }
}

const messageSearchIndex = 'messages_content_ft';

/**
 * SQLite's full-text search over messages.content: FTS5 kept by triggers,
 * built over the rows already there (a rebuild adds it once it has loaded the
 * messages, much faster than row by row). Does nothing when the version has it.
 */
async function createSqliteMessageSearch(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  // One transaction: the runner's batches (same connection) wait, and every
  // message is indexed either by the 'rebuild' or by the triggers.
  await db.transaction().execute(async (trx) => {
    const { rows } = await sql`select 1 from sqlite_master where name = ${n('messages_fts')}`.execute(trx);
    if (rows.length > 0) return;
    await createSqliteSearch(trx, version);
  });
}

async function createSqliteSearch(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  const messages = sql.table(n('messages'));
  const fts = sql.table(n('messages_fts'));
  // The content= option is a string literal naming the table.
  await sql`create virtual table ${fts} using fts5(content, content=${sql.lit(n('messages'))}, content_rowid='rowid', tokenize='unicode61 remove_diacritics 2')`.execute(
    db,
  );
  await eraseDeletedTerms(db, n('messages_fts'));
  await sql`insert into ${fts}(${fts}) values ('rebuild')`.execute(db);
  await sql`create trigger ${sql.id(n('messages_fts_insert'))} after insert on ${messages} begin
      insert into ${fts}(rowid, content) values (new.rowid, new.content);
    end`.execute(db);
  await sql`create trigger ${sql.id(n('messages_fts_delete'))} after delete on ${messages} begin
      insert into ${fts}(${fts}, rowid, content) values ('delete', old.rowid, old.content);
    end`.execute(db);
  await sql`create trigger ${sql.id(n('messages_fts_update'))} after update of content on ${messages} begin
      insert into ${fts}(${fts}, rowid, content) values ('delete', old.rowid, old.content);
      insert into ${fts}(rowid, content) values (new.rowid, new.content);
    end`.execute(db);
}

/**
 * FTS5 keeps a deleted row's terms in its index until a merge drops them;
 * `secure-delete` removes them as the row goes, so an erased message's words
 * leave the file with it (docs/PRIVACY.md).
 */
export async function eraseDeletedTerms(db: AnyDatabase, ftsTable: string): Promise<void> {
  const fts = sql.table(ftsTable);
  await sql`insert into ${fts}(${fts}, rank) values ('secure-delete', 1)`.execute(db);
}

export async function dropChatTables(db: AnyDatabase, version: number): Promise<void> {
  const n = (name: string) => versionedName(name, version);
  if (engineOf(db) === 'sqlite') {
    for (const trigger of ftsTriggers) await sql`drop trigger if exists ${sql.id(n(trigger))}`.execute(db);
    await sql`drop table if exists ${sql.table(n('messages_fts'))}`.execute(db);
  }
  for (const table of chatTables) await db.schema.dropTable(n(table)).ifExists().execute();
}

/** The chat read model as a rebuildable, versioned model. */
export const chatModel: VersionedModel = {
  projection: chatProjection,
  tables: chatTables,
  names: chatNames,
  create: createChatTables,
  finish: finishChatTables,
  drop: dropChatTables,
};
