// The read-model tables, described once. Queries are checked against these
// types at compile time; the migrations in migrations/ create the same shape.

import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  /** Normalised (NFKC, lower case): unique. */
  username: string;
  /** Lower case: unique. */
  email: string;
  display_name: string;
  bio: string;
  avatar_url: string | null;
  created_at: number;
  /** Set when the account was deleted (migrations/0008): the profile is erased, username and email are placeholders. */
  deleted_at: number | null;
  /** When the user confirmed their current email by its link (migrations/0011); null: not yet. */
  email_verified_at: number | null;
  /** When a global admin suspended the account (migrations/0023); null: not suspended. */
  suspended_at: Generated<number | null>;
  /** Until when (null with suspended_at set: until lifted). */
  suspended_until: Generated<number | null>;
  /** Why, as the admin wrote it (erased with the account). */
  suspension_reason: Generated<string | null>;
  /** 1: a global admin by `parley admin grant` (migrations/0026), beside those PARLEY_ADMINS names. */
  is_admin: Generated<number>;
  /** 1: a bot account (migrations/0029): no email or password; it acts with API tokens (bot_tokens). */
  is_bot: Generated<number>;
}

/** One act of a global admin (chat projection; migrations/0023): GET /api/v1/admin/audit. */
export interface AdminAuditTable {
  action_id: string;
  action:
    | 'suspend'
    | 'lift_suspension'
    | 'grant_admin'
    | 'revoke_admin'
    | 'create_webhook'
    | 'pause_webhook'
    | 'resume_webhook'
    | 'replay_webhook'
    | 'delete_webhook'
    | 'create_bot'
    | 'issue_bot_token'
    | 'revoke_bot_token'
    | 'delete_bot';
  /** The admin; OPERATOR_ID (the nil UUID) for the operator's `parley admin` and for the system's acts (a failing webhook paused). */
  admin_id: string;
  /** The account acted on; null for a webhook's acts (migrations/0028). */
  target_user_id: string | null;
  /** The webhook acted on (migrations/0028). */
  target_webhook_id: string | null;
  /** A suspension's end (null: until lifted, or not a suspension). */
  until: number | null;
  at: number;
}

/** Outgoing webhooks (chat projection; migrations/0028): what the dispatcher delivers, and where. */
export interface WebhooksTable {
  id: string;
  /** Opened from the log (sealed there under the webhook's key). */
  url: string;
  /** JSON array of event type names. */
  events: string;
  room_id: string | null;
  status: 'active' | 'paused';
  paused_reason: 'admin' | 'failing' | null;
  paused_at: number | null;
  last_error: string | null;
  /** The latest replay's start; replay_generation counts replays, so the dispatcher sees a new one. */
  replay_from: number | null;
  replay_generation: number;
  created_by: string;
  created_at: number;
}

/**
 * A webhook's signing secret, beside the read models and never in the log
 * (webhooks/webhooks.ts writes it before the command that creates the
 * webhook). Not a projection: a rebuild leaves it as it is.
 */
export interface WebhookSecretsTable {
  webhook_id: string;
  secret: string;
  created_at: number;
}

/**
 * Bots' API tokens (migrations/0029; auth/bot-tokens.ts): the token's SHA-256,
 * never the token, and what it may do. Written by the request that issues or
 * revokes it, beside the read models like password hashes: not a projection,
 * a rebuild leaves it as it is (the log has each token's issue and revocation,
 * for the audit).
 */
export interface BotTokensTable {
  id: string;
  /** The bot. */
  user_id: string;
  name: string;
  /** Hex SHA-256 of the token: unique. */
  token_hash: string;
  /** JSON array of the rooms it may act in; null: every room of the bot. */
  room_ids: string | null;
  created_by: string;
  created_at: number;
  /** null: valid. */
  revoked_at: number | null;
  /** When it last authenticated a request or a socket, to PARLEY_BOT_TOKEN_USE_RESOLUTION_S; null: never. */
  last_used_at: Generated<number | null>;
}

/**
 * Where each webhook stands in each partition of the events topic: the next
 * offset to deliver, and the replay it counts from. The dispatcher's own
 * bookkeeping (like a consumer group's offsets), not a projection.
 */
export interface WebhookPositionsTable {
  webhook_id: string;
  log_partition: number;
  next_offset: number;
  replay_generation: number;
}

/** One delivery attempt (webhooks/delivery-log.ts): the admins' view of what their receiver answered. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  /** `<partition>-<offset>` of the event: the same for every attempt and every replay of it. */
  delivery_id: string;
  event_type: string;
  attempt: number;
  /** The receiver's HTTP status; null when it did not answer. */
  status: number | null;
  error: string | null;
  ok: number;
  duration_ms: number;
  at: number;
}

/** A device's Web Push subscription (chat projection; migrations/0024): the pusher's address book. */
export interface PushSubscriptionsTable {
  user_id: string;
  /** A keyed hash of the endpoint (auth/push-subscriptions.ts). */
  subscription_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  added_at: number;
}

/** A report to the moderators (chat projection; migrations/0025): GET /api/v1/reports. */
export interface ReportsTable {
  id: string;
  reporter_id: string;
  target_user_id: string;
  /** The reported message's room; null for a report of a user. */
  room_id: string | null;
  message_id: string | null;
  /** The reporter's words (emptied when the reporter's account is erased). */
  reason: string;
  /** null while open. */
  resolution: 'actioned' | 'dismissed' | null;
  resolved_by: string | null;
  filed_at: number;
  resolved_at: number | null;
}

/**
 * One change a user may see, for GET /api/v1/sync (chat projection;
 * migrations/0027). Keyed by the event's log position, so a sync token is a
 * list of per-partition offsets. `data` holds a frame's data when it names only
 * ids and numbers, or the ids of the object the frame shows (a message, a room,
 * a friend request), read from the model when a client syncs: personal values
 * are never copied here, and an erased one is never served from here.
 */
export interface SyncChangesTable {
  log_partition: number;
  log_offset: number;
  /** The change's place among one event's changes. */
  idx: number;
  /** Set: every current member of the room sees it. */
  room_id: string | null;
  /** Set: this user sees it. */
  user_id: string | null;
  /** The server frame's type (NEW_MESSAGE, READ_RECEIPT …). */
  frame: string;
  /** JSON. */
  data: string;
  /** The event's append time; pruning keeps PARLEY_SYNC_RETENTION_S of them. */
  appended_at: number;
}

/** Per partition, the first offset sync_changes still holds: an older token must resync. */
export interface SyncHorizonsTable {
  log_partition: number;
  first_offset: number;
}

export interface RoomsTable {
  id: string;
  type: 'group' | 'direct';
  name: string;
  topic: string;
  created_by: string;
  created_at: number;
  last_seq: number;
  last_message_id: string | null;
  /** 1 when a block closed this direct room. */
  closed: number;
  /** Messages older than this many days are erased (migrations/0009); null: none by the room's rule. */
  retention_days: number | null;
  /** Slow mode: seconds between two messages of a plain member; 0 = off (migrations/0019). */
  slow_mode_s: Generated<number>;
}

export interface RoomMembersTable {
  room_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member';
  joined_at: number;
  last_read_seq: number;
  /** How far the member's devices have received the room (delivery receipts); reading implies it. */
  last_delivered_seq: Generated<number>;
  /** How the room notifies the member: 'all' | 'mentions' | 'none' (migrations/0022). */
  notify_level: Generated<'all' | 'mentions' | 'none'>;
  /** Silent until then, whatever the level; null: not muted. */
  notify_muted_until: Generated<number | null>;
  /** When the member last set the two above (migrations/0031); null: never. The pusher judges a message by the setting it was sent under. */
  notify_set_at: Generated<number | null>;
}

/** A pending invitation to a group room (migrations/0012). */
export interface RoomInvitationsTable {
  room_id: string;
  user_id: string;
  role: 'owner' | 'admin' | 'member';
  invited_by: string;
  invited_at: number;
}

/** A user banned from a group room (chat projection; migrations/0019). */
export interface RoomBansTable {
  room_id: string;
  user_id: string;
  banned_by: string;
  banned_at: number;
}

/** A member's mute in a room; past `muted_until` it is over (chat projection; migrations/0019). */
export interface RoomMutesTable {
  room_id: string;
  user_id: string;
  muted_until: number;
  muted_by: string;
}

/** A pinned message (chat projection; migrations/0015). */
export interface RoomPinsTable {
  room_id: string;
  message_id: string;
  seq: number;
  pinned_by: string;
  pinned_at: number;
}

/** What a message said before an edit replaced it (chat projection; migrations/0016). */
export interface MessageVersionsTable {
  message_id: string;
  /** 0: as sent; 1: as the first edit left it; … */
  version: number;
  room_id: string;
  seq: number;
  content: string;
  /** When this version was written (sent, or edited to it). */
  written_at: number;
}

/** A user a message mentions (chat projection; migrations/0017): their mentions inbox. */
export interface MentionsTable {
  message_id: string;
  user_id: string;
  room_id: string;
  seq: number;
  /** When the message (or the edit that added the mention) was written. */
  mentioned_at: number;
}

/**
 * A thread (the replies to `message_id`) as one user follows it (chat
 * projection, projections/chat-threads.ts; migrations/0021): their followed
 * threads, with how far they have read each.
 */
export interface ThreadFollowsTable {
  message_id: string;
  user_id: string;
  room_id: string;
  /** The first message's seq (retention erases a room's threads up to a seq). */
  root_seq: number;
  /** 1: listed in their followed threads; 0: they unfollowed it (or only read it). */
  following: number;
  last_read_seq: number;
  /** The last reply's time (the first message's before any reply): followed threads are listed newest first by it. */
  last_activity_at: number;
}

export interface MessagesTable {
  id: string;
  room_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  content: string;
  mime_type: string;
  reply_to: string | null;
  /** JSON array of attachments. */
  attachments: string;
  /** JSON object emoji → [user_id]. */
  reactions: string;
  created_at: number;
  edited_at: number | null;
  deleted: number;
  /** JSON array of mentioned user ids, or null. */
  mentions: string | null;
}

export interface FriendRequestsTable {
  id: string;
  from_user_id: string;
  to_user_id: string;
  status: 'pending' | 'accepted' | 'rejected' | 'cancelled';
  created_at: number;
  updated_at: number;
}

export interface FriendshipsTable {
  user_id: string;
  friend_id: string;
  since: number;
}

export interface BlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: number;
}

/** Where each projection stands in each log partition (written with its rows). */
export interface ProjectionOffsetsTable {
  projection: string;
  topic: string;
  partition: number;
  next_offset: number;
}

/**
 * A poison record of a projection (projections/dead-letters.ts): parked (its
 * partition halts at it), retrying (an operator asked for another try),
 * applied (that try worked) or skipped (an operator moved the offset past it).
 */
export interface DeadLettersTable {
  id: Generated<number>;
  projection: string;
  topic: string;
  partition: number;
  offset: number;
  event_type: string | null;
  error_code: string;
  error_message: string;
  attempts: number;
  first_failed_at: number;
  last_failed_at: number;
  status: 'parked' | 'retrying' | 'applied' | 'skipped';
  resolved_at: number | null;
}

/**
 * Which version of each rebuildable read model is active, and which one
 * `parley rebuild` is building (see projections/versions.ts). No row: version 1.
 */
export interface ProjectionVersionsTable {
  projection: string;
  active_version: number;
  building_version: number | null;
  updated_at: number;
}

/**
 * When each user was last seen, projected from the signals log. Not part of the
 * chat model: signals are kept briefly, so this cannot be rebuilt from the log
 * and must survive the chat model's rebuilds.
 */
export interface UserLastSeenTable {
  user_id: string;
  last_seen_at: number;
}

/**
 * What lets a user log in, beside the read models and never in the log: the
 * auth routes write it with the command that sets it (auth/credentials.ts).
 * No projection builds it, so a rebuild never touches it.
 */
export interface CredentialsTable {
  user_id: string;
  /** bcrypt. */
  password_hash: string;
  updated_at: number;
}

/** Refresh-token sessions: only hashes are stored; a family is one login. */
export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  family_expires_at: number;
  used_at: number | null;
  revoked_at: number | null;
}

/**
 * The data keys that seal personal values in the log (src/privacy/), beside
 * the read models and never in the log (migrations/0007_data_keys.ts).
 * Destroying a key (secret → null) erases every value sealed under it; the
 * row stays, so an erased key is never mistaken for one that is missing.
 */
export interface DataKeysTable {
  /** `message:<message_id>` or `user:<user_id>`: whose data it seals. */
  id: string;
  created_at: number;
  /** 32 random bytes; null once destroyed. */
  secret: Uint8Array | null;
  destroyed_at: number | null;
}

/**
 * Signed direct uploads (migrations/0004_uploads.ts). Not a read model: the
 * upload routes write it directly, since uploads are not chat events.
 */
export interface UploadsTable {
  id: string;
  user_id: string;
  purpose: 'avatar' | 'attachment';
  /** The room an attachment was signed for; null for an avatar. */
  room_id: string | null;
  mime_type: string;
  /** The size signed: the most the file may be. Once ready, the stored size. */
  bytes: number;
  provider: 'local' | 'cloudinary';
  status: 'pending' | 'ready' | 'rejected';
  /** Where the file is delivered from, once ready. */
  url: string | null;
  asset_id: string | null;
  version: number | null;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
  /** 1: an avatar that becomes the user's avatar_url once ready (asked at signing; migrations/0014). */
  sets_avatar: number;
}

/**
 * One-time account tokens (auth/one-time-tokens.ts): a password reset's link,
 * an email confirmation's. Only the SHA-256 of a token is stored; it dies when
 * used or expired.
 */
export interface AccountTokensTable {
  token_hash: string;
  user_id: string;
  purpose: 'password_reset' | 'confirm_email';
  /** The address an email confirmation confirms (the account's, or the one it changes to). */
  email: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/**
 * Where a processor taking a partition over starts (migrations/0030,
 * commands/snapshots.ts): per partition of a log (`scope`), the offset the
 * snapshot is good up to and the processor's memory of recent commands.
 */
export interface ProcessorSnapshotsTable {
  scope: string;
  partition_no: number;
  /** The state's format; a snapshot of another format is ignored. */
  format: string;
  next_offset: number;
  /** The key and command id of the record at next_offset - 1: a snapshot of another log is ignored. */
  last_record: string;
  memory: Buffer;
  taken_at: number;
}

/** An aggregate's state in a snapshot, without its cold entries. */
export interface ProcessorSnapshotAggregatesTable {
  scope: string;
  partition_no: number;
  aggregate_id: string;
  state: Buffer;
}

/** A cold entry of an aggregate (a room's message), loaded when a command or event needs it. */
export interface ProcessorSnapshotEntriesTable {
  scope: string;
  aggregate_id: string;
  entry_id: string;
  entry: Buffer;
  /** The snapshot offset it was written for: never replaced by an entry of an older one. */
  next_offset: number;
}

export interface Database {
  users: UsersTable;
  rooms: RoomsTable;
  room_members: RoomMembersTable;
  room_invitations: RoomInvitationsTable;
  room_pins: RoomPinsTable;
  room_bans: RoomBansTable;
  room_mutes: RoomMutesTable;
  message_versions: MessageVersionsTable;
  mentions: MentionsTable;
  thread_follows: ThreadFollowsTable;
  admin_audit: AdminAuditTable;
  push_subscriptions: PushSubscriptionsTable;
  reports: ReportsTable;
  webhooks: WebhooksTable;
  webhook_secrets: WebhookSecretsTable;
  bot_tokens: BotTokensTable;
  webhook_positions: WebhookPositionsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  sync_changes: SyncChangesTable;
  sync_horizons: SyncHorizonsTable;
  messages: MessagesTable;
  projection_offsets: ProjectionOffsetsTable;
  dead_letters: DeadLettersTable;
  projection_versions: ProjectionVersionsTable;
  user_last_seen: UserLastSeenTable;
  credentials: CredentialsTable;
  refresh_tokens: RefreshTokensTable;
  friend_requests: FriendRequestsTable;
  friendships: FriendshipsTable;
  blocks: BlocksTable;
  uploads: UploadsTable;
  data_keys: DataKeysTable;
  account_tokens: AccountTokensTable;
  processor_snapshots: ProcessorSnapshotsTable;
  processor_snapshot_aggregates: ProcessorSnapshotAggregatesTable;
  processor_snapshot_entries: ProcessorSnapshotEntriesTable;
}
