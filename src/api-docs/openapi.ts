// The OpenAPI 3.1 document of Parley's REST API and WebSocket frames, built from
// the configuration. Request bodies, query strings and WS client frames are the
// very zod schemas the routes and the gateway parse with (JSON Schema 2020-12 from
// zod 4's `z.toJSONSchema`, which is OpenAPI 3.1's dialect); the few rules zod
// keeps in refinements (code-point limits, "not blank", "at least one field")
// are added as annotations below. Response objects are described by zod schemas
// here whose keys are checked against the wire types at compile time, so a field
// added to a view without a word here fails `tsc`. openapi.unit.spec.ts checks
// that every registered route is in the document and every documented route exists.

import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import {
  loginBody,
  passwordChange,
  passwordConfirmation,
  passwordResetBody,
  passwordResetConfirmBody,
  emailChange,
  verifyEmailBody,
  refreshBody,
  registerBody,
  adminInputs,
} from '../auth/http-routes.ts';
import { pushInputs } from '../push/http-routes.ts';
import { reportInputs } from '../commands/report-routes.ts';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_CHARS } from '../auth/passwords.ts';
import { commandInputs, webUrl } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { clientFrameSchemas } from '../gateway/frames.ts';
import type { PresenceStatus } from '../queries/presence.ts';
import type { InvitationView, RoomBan, RoomDetail, RoomSummary, RoomView } from '../queries/rooms-queries.ts';
import type { FriendRequestView } from '../queries/social-queries.ts';
import type { MeView, MessageView, UserView } from '../queries/wire.ts';
import type { MessageReceipts } from '../queries/messages-queries.ts';
import type { FollowedThread, MessageInHistory, ThreadSummary } from '../queries/threads-queries.ts';
import { MAX_TOKEN_CHARS } from '../http/auth-middleware.ts';
import { DEFAULT_MAX_DEPTH } from '../http/body.ts';
import { MAX_VALIDATION_DETAILS, rejectionStatus } from '../http/errors.ts';
import { uploadSignBody } from '../uploads/routes.ts';
import { webhookInputs } from '../webhooks/webhook-routes.ts';
import { botInputs } from '../bots/bot-routes.ts';
import { uploadPurposes, type NotificationOutcome, type SignedUpload } from '../uploads/storage.ts';
import type { UploadView } from '../uploads/uploads.ts';
import { operationSpecs, type ErrorStatus, type HttpMethod, type OperationSpec } from './operations.ts';

export type { HttpMethod } from './operations.ts';

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OperationObject>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, ResponseObject>;
    parameters: Record<string, unknown>;
    headers: Record<string, unknown>;
    securitySchemes: Record<string, unknown>;
  };
  security: Record<string, string[]>[];
  'x-websocket': WebSocketSection;
}

export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, ResponseObject | { $ref: string }>;
}

export interface ParameterObject {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: JsonSchema; examples?: Record<string, { value: unknown }> }>;
}

export interface WebSocketSection {
  path: string;
  description: string;
  authentication: string;
  limits: Record<string, number>;
  close_codes: Record<string, string>;
  client_frames: FrameDoc[];
  server_frames: FrameDoc[];
}

export interface FrameDoc {
  type: string;
  description: string;
  schema: { $ref: string };
}

// ---------------------------------------------------------------------------
// Response objects. Objects are open: the contract may gain fields.

const id = z.uuid().meta({ description: 'lowercase' });
const epochMs = z.number().int().nonnegative().meta({ description: 'epoch milliseconds' });
const role = z.enum(['owner', 'admin', 'member']);

const User = z
  .object({
    id,
    username: z.string().meta({ description: "lower case, 3–32 of a–z 0–9 _ . ('' once the account is deleted)" }),
    display_name: z.string(),
    avatar_url: z.string().nullable(),
    bio: z.string(),
    created_at: epochMs,
    deleted: z.boolean().meta({ description: 'the account was deleted: its profile is erased (docs/PRIVACY.md)' }),
    bot: z.boolean().meta({ description: 'a bot account: made by an admin, acting with API tokens' }),
  })
  .meta({ description: 'A user (public profile).' });

const Me = User.extend({
  email: z.string().meta({ description: 'lower case; changes only once the new address is confirmed' }),
  email_verified: z.boolean().meta({ description: 'the address was confirmed by the link mailed to it' }),
}).meta({ description: 'My own profile: the public one, with my email.' });

const PresenceStatusSchema = z
  .object({ online: z.boolean(), last_seen_at: epochMs.nullable() })
  .meta({ description: 'Presence: whether the user has a socket open, and when they last closed their last one.' });

const UserWithStatus = User.extend({
  status: PresenceStatusSchema.nullable().meta({
    description:
      'Their presence, shown to themself, their friends and users who share a room with them, unless a block stands ' +
      'between the two (the rule PRESENCE frames follow); null to anyone else.',
  }),
}).meta({
  description: 'A public profile with presence.',
});
const Friend = User.extend({ since: epochMs, status: PresenceStatusSchema }).meta({
  description: 'A friend: profile, when the friendship began, presence.',
});
const BlockedUser = User.extend({ blocked_at: epochMs }).meta({ description: 'A user the caller blocks.' });

const Session = z
  .object({
    user: User,
    access_token: z.string().meta({ description: 'JWT (RS256); send as `Authorization: Bearer <token>`' }),
    refresh_token: z.string().meta({ description: 'opaque; single use: each refresh returns a new one' }),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().positive().meta({ description: 'seconds until the access token expires' }),
  })
  .meta({ description: 'A signed-in session.' });

const Attachment = z.object({
  url: z.string(),
  mime_type: z.string(),
  bytes: z.number().int().nonnegative(),
  name: z.string().nullable(),
});

const Message = z
  .object({
    id,
    room_id: id,
    seq: z.number().int().positive().meta({ description: '1, 2, 3… in each room, without gaps' }),
    sender_id: id,
    client_msg_id: z.string(),
    content: z.string().nullable().meta({ description: 'null once erased (a deleted message)' }),
    mime_type: z.string(),
    reply_to: id.nullable(),
    attachments: z.array(Attachment).meta({ description: '[] once deleted' }),
    mentions: z.array(id).meta({
      description:
        'user ids the content names as `@username` (members only); `@room` from an owner or admin names every member, `@here` those online when it was sent',
    }),
    reactions: z.record(z.string(), z.array(id)).meta({ description: 'emoji → ids of the users who reacted' }),
    created_at: epochMs,
    edited_at: epochMs.nullable(),
    deleted: z.boolean(),
    erased: z.boolean().meta({
      description: 'what the message said is gone from every copy of the log, not only hidden (docs/PRIVACY.md)',
    }),
  })
  .meta({ description: 'A message.' });

const roomType = z.enum(['group', 'direct']);
const Room = z
  .object({
    id,
    type: roomType,
    name: z.string(),
    topic: z.string(),
    closed: z.boolean().meta({ description: 'a direct room closed by a block: readable, no new messages' }),
    retention_days: z.number().int().positive().nullable().meta({
      description:
        "messages older than this many days are erased (set by an owner); null: the room sets no limit (the server's may apply)",
    }),
    slow_mode_s: z
      .number()
      .int()
      .nonnegative()
      .meta({ description: 'slow mode: seconds a plain member waits between two messages (owners and admins do not); 0 = off' }),
    created_by: z.string(),
    created_at: epochMs,
    last_seq: z.number().int().nonnegative(),
  })
  .meta({ description: 'A room.' });

const RoomMember = z.object({
  user_id: id,
  role,
  joined_at: epochMs,
  last_read_seq: z.number().int().nonnegative(),
  last_delivered_seq: z
    .number()
    .int()
    .nonnegative()
    .meta({ description: "how far the member's devices have received the room (never below last_read_seq)" }),
  muted_until: epochMs.nullable().meta({ description: 'muted (reads; cannot post, edit or react) until then; null: not muted' }),
});

const RoomBanSchema = z.object({ user_id: id, banned_by: id, banned_at: epochMs }).meta({ description: 'A ban.' });

const RoomInvitation = z.object({
  user_id: id,
  role,
  invited_by: id,
  invited_at: epochMs,
});

const RoomDetailSchema = Room.extend({ members: z.array(RoomMember), invitations: z.array(RoomInvitation) }).meta({
  description: 'A room with its members and its pending invitations.',
});

const Invitation = z
  .object({ chat_room_id: id, room_name: z.string(), role, invited_by: id, invited_at: epochMs })
  .meta({ description: 'An invitation to a group room, waiting for my answer.' });

const notificationLevel = z
  .enum(['all', 'mentions', 'none'])
  .meta({ description: 'all: every message; mentions: only messages that mention me; none: nothing' });

const RoomNotificationsSchema = z
  .object({
    level: notificationLevel,
    muted_until: epochMs.nullable().meta({ description: 'silent until then, whatever the level; null: not muted (or it ended)' }),
  })
  .meta({ description: 'How a room notifies me (my own setting; all, not muted, until I change it).' });

const RoomSummarySchema = z
  .object({
    id,
    type: roomType,
    name: z.string(),
    topic: z.string(),
    closed: z.boolean(),
    last_seq: z.number().int().nonnegative(),
    last_read_seq: z.number().int().nonnegative(),
    unread_count: z.number().int().nonnegative(),
    unread_mention_count: z.number().int().nonnegative().meta({ description: 'messages mentioning me past my read mark' }),
    notifications: RoomNotificationsSchema,
    last_message: Message.nullable(),
  })
  .meta({ description: 'One of my rooms, for the room list.' });

const FriendRequest = z
  .object({
    id,
    from_user_id: id,
    to_user_id: id,
    status: z.enum(['pending', 'accepted', 'rejected', 'cancelled']),
    created_at: epochMs,
    updated_at: epochMs,
  })
  .meta({ description: 'A friend request.' });

const Friendship = z
  .object({ user_ids: z.array(id).length(2), since: epochMs })
  .meta({ description: 'A friendship between two users.' });

const ReadMark = z.object({ chat_room_id: id, last_read_seq: z.number().int().nonnegative() }).meta({
  description: "The caller's read mark in a room after a receipt (it never moves back).",
});

const ThreadSummarySchema = z
  .object({
    reply_count: z.number().int().positive(),
    last_reply_at: epochMs,
    participant_ids: z.array(id).meta({ description: 'who replied' }),
  })
  .meta({
    description: 'The replies to a message: how many, the last one’s time, who wrote them (deleted replies do not count).',
  });

const MessageInHistorySchema = Message.extend({ thread: ThreadSummarySchema.nullable() }).meta({
  description: 'A message as history shows it, with the summary of its thread (null: no replies).',
});

/** How I stand with a thread. */
const threadState = {
  following: z.boolean().meta({ description: 'listed in my followed threads (GET /threads)' }),
  last_read_seq: z.number().int().nonnegative().meta({ description: 'how far I have read its replies (my own replies read it)' }),
  unread_count: z.number().int().nonnegative().meta({ description: 'replies after that from others, not deleted' }),
};

const FollowedThreadSchema = z
  .object({
    room_id: id,
    message: MessageInHistorySchema,
    last_read_seq: threadState.last_read_seq,
    unread_count: threadState.unread_count,
    last_activity_at: epochMs.meta({ description: 'the last reply’s time (the message’s, before any reply)' }),
  })
  .meta({ description: 'A thread I follow: its first message with the summary, my read mark and unread count.' });

const MessageReceiptsSchema = z
  .object({
    message_id: id,
    seq: z.number().int().positive(),
    recipients: z.number().int().nonnegative().meta({ description: "the room's members other than the sender" }),
    delivered_to: z.array(id).meta({ description: 'members whose devices received it (readers included)' }),
    read_by: z.array(id).meta({ description: 'members who read it' }),
  })
  .meta({ description: 'Who of the other members a message reached, and who read it.' });

const DeliveryMark = z.object({ chat_room_id: id, last_delivered_seq: z.number().int().nonnegative() }).meta({
  description: "The caller's delivery mark in a room after a delivery receipt (it never moves back).",
});

const ValidationDetail = z.object({
  path: z.string().meta({ description: "dotted path into the input (`attachments.0.url`); '' for the whole input" }),
  message: z.string(),
});

const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'stable, machine-readable' }),
      message: z.string().meta({ description: 'for humans; may change' }),
      details: z
        .unknown()
        .optional()
        .meta({ description: `for \`validation_failed\`: up to ${MAX_VALIDATION_DETAILS} \`ValidationDetail\`s` }),
    }),
  })
  .meta({ description: 'Every error response has this body.' });

const Jwks = z
  .object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string().optional(), alg: z.string().optional() })) })
  .meta({ description: 'JSON Web Key Set (RFC 7517) of the access-token signing keys.' });

const Health = z.object({ status: z.literal('ok') });
const DeadLetterSummary = z.object({
  id: z.number().int(),
  projection: z.string(),
  topic: z.string(),
  partition: z.number().int(),
  offset: z.number().int(),
  event_type: z.string().nullable(),
  error_code: z.string().describe("UNDECODABLE, or the database's refusal (ER_DUP_ENTRY, SQLITE_CONSTRAINT …)"),
  status: z.enum(['parked', 'retrying']),
  attempts: z.number().int(),
  last_failed_at: z.number().int().describe('Epoch ms.'),
});

const Readiness = z.object({
  status: z
    .enum(['ready', 'degraded', 'not_ready'])
    .describe('degraded (still 200): serving, but a projection partition is halted at a poison event'),
  checks: z.record(z.string(), z.boolean()),
  dead_letters: z
    .object({
      open: z.array(DeadLetterSummary).describe('Poison events waiting for `parley dlq skip|retry` (the first 20).'),
      more: z.boolean().describe('More are open than listed (`parley dlq list` has them all).'),
      parked_by_this_process: z.number().int().describe('Poison events this process parked since it started.'),
    })
    .optional(),
});

const UploadPurposeSchema = z.enum(uploadPurposes);
const SignedUploadSchema = z.object({
  provider: z.enum(['local', 'cloudinary']),
  upload_url: z.string().meta({ description: 'where the file goes (step 2)' }),
  fields: z.record(z.string(), z.string()).meta({
    description: 'sent with the file, unchanged: query parameters (local) or form fields (cloudinary)',
  }),
  upload_id: id.meta({ description: 'GET /api/v1/uploads/{upload_id} tells when it is ready' }),
  expires_at: epochMs.meta({ description: 'the storage refuses the file after this (epoch ms)' }),
});
const UploadSchema = z.object({
  upload_id: id,
  purpose: UploadPurposeSchema,
  room_id: id.nullable(),
  mime_type: z.string(),
  bytes: z.number().int().nonnegative(),
  status: z.enum(['pending', 'ready', 'rejected']),
  url: z.string().nullable().meta({ description: 'set once ready: the value for avatar_url or an attachment’s url' }),
  set_avatar: z.boolean().meta({ description: 'an avatar that became (or becomes, once ready) my avatar_url by itself' }),
  created_at: epochMs,
  expires_at: epochMs,
});
const UploadReceived = z.object({
  upload_id: id,
  status: z.literal('ready'),
  url: z.string().meta({ description: 'the value for avatar_url or an attachment’s url' }),
  mime_type: z.string(),
  bytes: z.number().int().positive(),
});
const UploadNotifyResult = z.object({ status: z.enum(['processed', 'duplicate', 'rejected', 'ignored']) });

const wrap = <K extends string, S extends z.ZodType>(key: K, schema: S) => z.object({ [key]: schema } as Record<K, S>);

/** Response schemas by component name (exported for the specs). */
const ReportSchema = z
  .object({
    id,
    reporter_id: id,
    target_user_id: id.meta({ description: 'the reported user, or the reported message’s sender' }),
    room_id: id.nullable().meta({ description: 'null: a report of a user' }),
    message_id: id.nullable(),
    message_content: z.string().nullable().meta({ description: 'what the message says now; null once deleted or erased' }),
    reason: z.string().meta({ description: 'the reporter’s words (empty once their account is erased)' }),
    status: z.enum(['open', 'resolved']),
    resolution: z.enum(['actioned', 'dismissed']).nullable(),
    resolved_by: id.nullable(),
    filed_at: epochMs,
    resolved_at: epochMs.nullable(),
  })
  .meta({ description: 'A report to the moderators.' });

const WebhookSchema = z
  .object({
    webhook_id: id,
    url: z.string(),
    events: z.array(z.string()).meta({ description: 'event types of the log, as it names them' }),
    room_id: id.nullable().meta({ description: 'only this room’s events; null: every room’s' }),
    status: z.enum(['active', 'paused']),
    paused_reason: z
      .enum(['admin', 'failing'])
      .nullable()
      .meta({ description: 'failing: its receiver failed for PARLEY_WEBHOOK_PAUSE_AFTER_MS' }),
    paused_at: epochMs.nullable(),
    last_error: z.string().nullable().meta({ description: 'why the system paused it' }),
    replay_from: epochMs.nullable().meta({ description: 'the latest replay’s start' }),
    created_by: id,
    created_at: epochMs,
  })
  .meta({ description: 'An outgoing webhook.' });

const BotTokenSchema = z
  .object({
    id,
    bot_id: id,
    name: z.string(),
    room_ids: z.array(id).nullable().meta({ description: 'the only rooms it may act in; null: every room of the bot' }),
    created_by: id,
    created_at: epochMs,
    revoked_at: epochMs.nullable(),
    last_used_at: epochMs
      .nullable()
      .meta({ description: 'when it last authenticated a request or socket, to PARLEY_BOT_TOKEN_USE_RESOLUTION_S; null: never' }),
  })
  .meta({ description: 'A bot’s API token (never the token itself, after the answer that made it).' });

const PushSubscriptionSchema = z
  .object({
    subscription_id: z.string().meta({ description: 'the same device (endpoint) always has the same id' }),
    endpoint: z.string().meta({ description: 'the push service’s URL for the device' }),
    added_at: epochMs,
  })
  .meta({ description: 'A device of mine that gets pushes while I have no socket open.' });

export const responseSchemas = {
  User,
  Me,
  UserWithStatus,
  PresenceStatus: PresenceStatusSchema,
  Friend,
  BlockedUser,
  Session,
  Attachment,
  Message,
  Room,
  RoomMember,
  RoomDetail: RoomDetailSchema,
  RoomInvitation,
  Invitation,
  InvitationList: wrap('invitations', z.array(Invitation)),
  RoomSummary: RoomSummarySchema,
  FriendRequest,
  Friendship,
  ReadMark,
  DeliveryMark,
  Error: ErrorSchema,
  ValidationDetail,
  Jwks,
  Health,
  Readiness,
  UserList: wrap('users', z.array(User)),
  FriendList: wrap('friends', z.array(Friend)),
  BlockList: wrap('blocks', z.array(BlockedUser)),
  FriendRequestList: wrap('requests', z.array(FriendRequest)),
  FriendRequestResult: wrap('request', FriendRequest),
  FriendRequestAccepted: z.object({ request: FriendRequest, friendship: Friendship }),
  RoomList: wrap('rooms', z.array(RoomSummarySchema)),
  MessageList: wrap('messages', z.array(Message)),
  MessageHistory: z
    .object({
      message: Message,
      versions: z.array(
        z.object({
          content: z.string(),
          written_at: epochMs.meta({ description: 'when this version was written (sent, or edited to it)' }),
        }),
      ),
    })
    .meta({ description: 'The message as it is, and what it said before each edit, oldest first.' }),
  MessageReceipts: MessageReceiptsSchema,
  HistoryPage: wrap('messages', z.array(MessageInHistorySchema)),
  Thread: z
    .object({
      message: MessageInHistorySchema,
      replies: z.array(Message),
      next_after_seq: z
        .number()
        .int()
        .positive()
        .nullable()
        .meta({ description: 'pass as after_seq for the next page; null: no more' }),
      ...threadState,
    })
    .meta({ description: 'A message and a page of the replies to it, and how I stand with the thread.' }),
  FollowedThreadList: z.object({
    threads: z.array(FollowedThreadSchema),
    next_before: z.string().nullable().meta({ description: 'pass as `before` for the next (older) page; null: no more' }),
  }),
  ThreadReadMark: z
    .object({ chat_room_id: id, message_id: id, last_read_seq: threadState.last_read_seq })
    .meta({ description: 'My read mark of a thread after marking it read (it never moves back).' }),
  RoomBanList: wrap('bans', z.array(RoomBanSchema)),
  MuteRequest: z.object({
    duration_s: z
      .number()
      .int()
      .positive()
      .nullable()
      .meta({ description: 'how long (up to the server limit); null lifts the mute' }),
  }),
  NotificationsRequest: z.object({
    level: notificationLevel,
    muted_until: epochMs
      .nullable()
      .optional()
      .meta({ description: 'silence until then (in the future, up to the server limit ahead); null or absent: not muted' }),
  }),
  RoomNotifications: RoomNotificationsSchema.extend({ chat_room_id: id }),
  SlowModeRequest: z.object({
    interval_s: z
      .number()
      .int()
      .nonnegative()
      .meta({ description: 'seconds between two messages of a plain member (up to the server limit); 0 = off' }),
  }),
  SyncPage: z.object({
    next_since: z.string().meta({ description: 'the token to sync from next (opaque)' }),
    events: z.array(
      z.object({
        type: z.string().meta({ description: 'a server frame type (NEW_MESSAGE, READ_RECEIPT …)' }),
        data: z.unknown().meta({ description: 'the data a WebSocket frame of that type carries' }),
      }),
    ),
    has_more: z.boolean().meta({ description: 'the page is full: call again at once with next_since' }),
  }),
  MentionList: z.object({
    mentions: z.array(
      z.object({
        message: Message,
        room_id: id,
        mentioned_at: epochMs.meta({ description: 'when the message, or the edit that named me, was written' }),
        read: z.boolean().meta({ description: 'my read mark in the room has reached it' }),
      }),
    ),
    next_before: z.string().nullable().meta({ description: 'pass as `before` for the next (older) page; null: no more' }),
  }),
  Suspension: z
    .object({
      user_id: id,
      suspended_at: epochMs,
      until: epochMs.nullable().meta({ description: 'null: until an admin lifts it' }),
      reason: z.string(),
    })
    .meta({ description: 'A suspension in force: the account may not sign in until it ends.' }),
  AuditList: z.object({
    actions: z.array(
      z
        .object({
          action_id: id,
          action: z.enum([
            'suspend',
            'lift_suspension',
            'grant_admin',
            'revoke_admin',
            'create_webhook',
            'pause_webhook',
            'resume_webhook',
            'replay_webhook',
            'delete_webhook',
          ]),
          admin_id: id,
          target_user_id: id.nullable().meta({ description: 'the account acted on; null for a webhook’s acts' }),
          target_webhook_id: id.nullable().meta({ description: 'the webhook acted on; null for an account’s acts' }),
          until: epochMs.nullable().meta({ description: 'a suspension’s end (null: until lifted, or not a suspension)' }),
          at: epochMs,
        })
        .meta({ description: 'One act of a global admin.' }),
    ),
    next_before: z.string().nullable().meta({ description: 'pass as `before` for the next (older) page; null: no more' }),
  }),
  PinList: wrap(
    'pins',
    z.array(
      z
        .object({ message: Message, pinned_by: id, pinned_at: epochMs })
        .meta({ description: 'A pinned message, and who pinned it when.' }),
    ),
  ),
  RoomAsOf: z
    .object({
      room_id: id,
      as_of: epochMs,
      room: z
        .object({
          type: z.enum(['group', 'direct']),
          name: z.string(),
          topic: z.string(),
          closed: z.boolean(),
          created_by: id,
          created_at: epochMs,
        })
        .nullable()
        .meta({ description: 'null: the room did not exist yet' }),
      members: z.array(z.object({ user_id: id, role: z.enum(['owner', 'admin', 'member']), joined_at: epochMs })),
      messages: z.array(
        z.object({
          message_id: id,
          seq: z.number().int().positive(),
          sender_id: id,
          content: z.string().nullable().meta({ description: 'the text then; null when deleted then, or erased since' }),
          reply_to: id.nullable(),
          attachments: z.number().int().nonnegative().meta({ description: 'how many it had' }),
          created_at: epochMs,
          edited_at: epochMs.nullable(),
          deleted: z.boolean(),
          erased: z.boolean().meta({ description: 'its text was erased since: shown as null even in the past' }),
          seal_broken: z.boolean().meta({
            description: 'its text then is in the log but does not open with its key (altered there): shown as null',
          }),
        }),
      ),
      next_before_seq: z.number().int().nullable().meta({ description: 'pass as `before_seq` for older messages; null: none' }),
    })
    .meta({ description: 'A room as it stood at a moment, folded from the log.' }),
  Webhook: WebhookSchema,
  CreatedWebhook: WebhookSchema.extend({
    secret: z.string().meta({ description: 'signs every delivery; answered here only' }),
  }).meta({ description: 'The new webhook, with its signing secret (shown this once).' }),
  WebhookList: wrap('webhooks', z.array(WebhookSchema)),
  BotList: wrap('bots', z.array(User)),
  BotTokenList: wrap('tokens', z.array(BotTokenSchema)),
  IssuedBotToken: BotTokenSchema.extend({
    token: z.string().meta({ description: '`pbt_` and 43 base64url characters; answered here only' }),
  }).meta({ description: 'The new token, shown this once.' }),
  WebhookDeliveryList: wrap(
    'deliveries',
    z.array(
      z
        .object({
          delivery_id: z
            .string()
            .meta({ description: '`<partition>-<offset>` of the event; the same for every attempt and replay' }),
          event_type: z.string(),
          attempt: z.number().int().positive(),
          status: z.number().int().nullable().meta({ description: 'the receiver’s HTTP status; null: no answer' }),
          error: z.string().nullable().meta({ description: 'why the attempt failed; null when it succeeded' }),
          ok: z.boolean(),
          duration_ms: z.number().int().nonnegative(),
          at: epochMs,
        })
        .meta({ description: 'One delivery attempt.' }),
    ),
  ),
  FiledReport: z.object({ id, filed_at: epochMs }).meta({ description: 'The report, filed: the moderators see it.' }),
  Report: ReportSchema,
  ReportList: z.object({
    reports: z.array(ReportSchema),
    next_before: z.string().nullable().meta({ description: 'pass as `before` for the next (older) page; null: no more' }),
  }),
  PushSubscription: PushSubscriptionSchema,
  PushSubscriptionList: wrap('subscriptions', z.array(PushSubscriptionSchema)),
  VapidPublicKey: z
    .object({
      public_key: z.string().meta({
        description: 'base64url of the uncompressed P-256 point: PushManager.subscribe’s applicationServerKey',
      }),
    })
    .meta({ description: 'The key this server signs its pushes with (VAPID, RFC 8292).' }),
  SignedUpload: SignedUploadSchema,
  Upload: UploadSchema,
  UploadReceived,
  UploadNotifyResult,
} as const;

// Compile-time drift checks: the documented objects have exactly the wire types' keys,
// and (where the types are precise) the wire values fit the documented types.
// A drift makes a `Holds<…>` below fail `tsc`.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false;
type Fits<Value, Documented> = [Value] extends [Documented] ? true : false;
type Holds<Check extends true> = Check;
type Out<S extends z.ZodType> = z.output<S>;
export type _DocumentedAsSent = [
  Holds<SameKeys<Out<typeof User>, UserView>>,
  Holds<SameKeys<Out<typeof Me>, MeView>>,
  Holds<SameKeys<Out<typeof Message>, MessageView>>,
  Holds<SameKeys<Out<typeof Room>, RoomView>>,
  Holds<SameKeys<Out<typeof RoomDetailSchema>, RoomDetail>>,
  Holds<SameKeys<Out<typeof RoomMember>, RoomDetail['members'][number]>>,
  Holds<SameKeys<Out<typeof MessageReceiptsSchema>, MessageReceipts>>,
  Holds<SameKeys<Out<typeof RoomBanSchema>, RoomBan>>,
  Holds<SameKeys<Out<typeof ThreadSummarySchema>, ThreadSummary>>,
  Holds<SameKeys<Out<typeof MessageInHistorySchema>, MessageInHistory>>,
  Holds<SameKeys<Out<typeof FollowedThreadSchema>, FollowedThread>>,
  Holds<SameKeys<Out<typeof RoomInvitation>, RoomDetail['invitations'][number]>>,
  Holds<SameKeys<Out<typeof Invitation>, InvitationView>>,
  Holds<SameKeys<Out<typeof RoomSummarySchema>, RoomSummary>>,
  Holds<SameKeys<Out<typeof FriendRequest>, FriendRequestView>>,
  Holds<SameKeys<Out<typeof PresenceStatusSchema>, PresenceStatus>>,
  Holds<Fits<UserView, Out<typeof User>>>,
  Holds<Fits<FriendRequestView, Out<typeof FriendRequest>>>,
  Holds<Fits<PresenceStatus, Out<typeof PresenceStatusSchema>>>,
  Holds<Fits<RoomView, Out<typeof Room>>>,
  Holds<SameKeys<Out<typeof SignedUploadSchema>, SignedUpload>>,
  Holds<SameKeys<Out<typeof UploadSchema>, UploadView>>,
  Holds<Fits<UploadView, Out<typeof UploadSchema>>>,
  Holds<Fits<NotificationOutcome, Out<typeof UploadNotifyResult>['status']>>,
];

// ---------------------------------------------------------------------------
// WebSocket server frames (the gateway builds them with `serverFrame`).

const serverFrame = <T extends string>(type: T, data: z.ZodType) =>
  z.object({
    type: z.literal(type),
    ref: z.string().optional().meta({ description: "the client frame's `ref`, on direct replies" }),
    timestamp: epochMs,
    data,
  });

const roomUser = z.object({ chat_room_id: id, user_id: id });

const serverFrames: [type: string, description: string, data: z.ZodType][] = [
  ['AUTH_SUCCESS', 'The socket is authenticated (after `?token=` or an AUTH frame).', z.object({ user_id: id })],
  [
    'ACK',
    'Reply to SEND_MESSAGE (the stored message; a repeated `client_msg_id` gets the same message), to READ_RECEIPT (the read mark) or to DELIVERED (the delivery mark).',
    z.union([
      z.object({ ref: z.string().nullable(), message: Message }),
      z.object({ ref: z.string().nullable(), chat_room_id: id, last_read_seq: z.number().int().nonnegative() }),
      z.object({ ref: z.string().nullable(), chat_room_id: id, last_delivered_seq: z.number().int().nonnegative() }),
    ]),
  ],
  [
    'ERROR',
    'A frame was refused (bad JSON, unknown type, invalid fields, rate limit, a rule said no). The socket stays open.',
    z.object({ ref: z.string().nullable(), code: z.string(), message: z.string() }),
  ],
  ['PONG', 'Reply to PING.', z.object({})],
  [
    'SYNC',
    'The sync feed, for a socket that sent SYNC: the first answers it (with its ref, events or not), the next ones come as changes happen. Events are `{type, data}` as the frames of those types; keep `next_since` to resume after a reconnect.',
    z.object({
      next_since: z.string(),
      events: z.array(z.object({ type: z.string(), data: z.unknown() })),
      has_more: z.boolean(),
    }),
  ],
  [
    'JOIN_SUCCESS',
    'Reply to JOIN_ROOM; messages after `since_seq` follow as NEW_MESSAGE.',
    z.object({ chat_room_id: id, last_seq: z.number().int().nonnegative() }),
  ],
  ['LEAVE_SUCCESS', 'Reply to LEAVE_ROOM.', z.object({ chat_room_id: id })],
  ['USERS', 'Who is actively in the room (joined), after JOIN_ROOM.', z.object({ chat_room_id: id, users: z.array(id) })],
  ['USER_JOINED', 'Someone joined the room actively.', roomUser],
  ['USER_LEFT', 'Someone stopped following the room actively.', roomUser],
  ['TYPING', 'Someone started or stopped typing.', roomUser.extend({ is_typing: z.boolean() })],
  [
    'MEMBER_MUTED',
    'A member was muted until `muted_until` (they read; they cannot post, edit or react), or unmuted (`muted_until: null`), by `by`.',
    roomUser.extend({ muted_until: epochMs.nullable(), by: id }),
  ],
  ['READ_RECEIPT', "A member's read mark moved.", roomUser.extend({ seq: z.number().int().nonnegative() })],
  [
    'DELIVERY_RECEIPT',
    "A member's devices received the room up to `seq` (sent once per mark that moves; a read mark implies it without one).",
    roomUser.extend({ seq: z.number().int().nonnegative() }),
  ],
  [
    'NOTIFICATIONS_UPDATED',
    'I changed how a room notifies me, on some device (only my own devices hear it).',
    RoomNotificationsSchema.extend({ chat_room_id: id }),
  ],
  [
    'THREAD_READ',
    'I read a thread up to `seq` (on this device or another; only my own devices hear it).',
    z.object({ chat_room_id: id, message_id: id, seq: z.number().int().nonnegative() }),
  ],
  [
    'WEBHOOK_PAUSED',
    'A webhook I created was paused: by another admin (`admin`), or because its receiver kept failing (`failing`, with its last error). Deliveries wait; a resume goes on from the event that stopped them.',
    z.object({ webhook_id: id, reason: z.enum(['admin', 'failing']), error: z.string().nullable() }),
  ],
  [
    'THREAD_FOLLOWED',
    'I followed a thread (`following: true`) or stopped following it, on some device (only my own devices hear it). Replying in a thread or being mentioned in it follows it without this frame.',
    z.object({ chat_room_id: id, message_id: id, following: z.boolean() }),
  ],
  [
    'PRESENCE',
    'A friend or room peer came online or went offline.',
    z.object({ user_id: id, online: z.boolean(), last_seen_at: epochMs.nullable() }),
  ],
  ['NEW_MESSAGE', "A message, to every member's sockets (joined or not), in `seq` order per room.", Message],
  ['MESSAGE_UPDATED', 'A message was edited.', Message],
  ['MESSAGE_DELETED', 'A message was deleted (`deleted: true`, `erased: true`, `content: null`).', Message],
  ['REACTION_UPDATED', "A message's reactions changed.", Message],
  [
    'PIN_UPDATED',
    'A message was pinned (`pinned: true`) or unpinned, by `by` at `at`. A deleted or expired message loses its pin without this frame (MESSAGE_DELETED says it).',
    z.object({ chat_room_id: id, message_id: id, seq: z.number().int().positive(), pinned: z.boolean(), by: id, at: epochMs }),
  ],
  ['ROOM_UPDATED', 'A room was renamed, given a topic, closed or reopened.', Room],
  ['MEMBER_ADDED', 'Someone became a member.', roomUser.extend({ role, added_by: z.string() })],
  ['MEMBER_UPDATED', "A member's role changed.", roomUser.extend({ role, changed_by: z.string() })],
  [
    'MEMBER_REMOVED',
    'Someone left or was removed (`removed_by` = `user_id` when they left); the removed user hears it too.',
    roomUser.extend({ removed_by: z.string() }),
  ],
  ['FRIEND_REQUEST', 'A friend request was sent (to both parties).', FriendRequest],
  ['FRIEND_REQUEST_UPDATED', 'A friend request was accepted, rejected or cancelled.', FriendRequest],
  ['FRIEND_REMOVED', 'A friendship ended (`user_id` is the other party).', z.object({ user_id: id, by_user_id: z.string() })],
  [
    'BLOCK_UPDATED',
    "The caller's own block list changed (only the blocker's devices hear it).",
    z.object({ user_id: id, blocked: z.boolean() }),
  ],
  ['ROOM_INVITE', 'I was invited to a group room (to the invitee): accept or decline over REST.', Invitation],
  [
    'ROOM_INVITE_ENDED',
    'An invitation of mine ended without a join: I declined it (on another device) or it was withdrawn.',
    z.object({ chat_room_id: id, reason: z.enum(['declined', 'withdrawn']) }),
  ],
];

const clientFrameDescriptions: Record<string, string> = {
  AUTH: 'First frame when no `?token=` was given; must arrive within the auth timeout.',
  SEND_MESSAGE: 'Send a message; answered with ACK (the stored message). Same body as POST /rooms/{id}/messages.',
  JOIN_ROOM: 'Follow a room actively; replays messages after `since_seq` (at most the replay limit; page the rest over REST).',
  LEAVE_ROOM: 'Stop following a room actively.',
  TYPING: 'Typing indicator; it stops by itself after the typing TTL without a refresh.',
  READ_RECEIPT: 'Read receipt; answered with ACK (the read mark).',
  DELIVERED:
    'Delivery receipt: this device received the room up to `seq` (send the highest seq received, at most every second or so); answered with ACK (the delivery mark).',
  SYNC: 'Catch up from a sync token (`since`, as GET /api/v1/sync gives; absent: from now), then stay on the sync feed: every change arrives in SYNC frames, and the live frames of the same changes (NEW_MESSAGE of every room, MESSAGE_UPDATED, READ_RECEIPT …) no longer come. Send it first after connecting. A token too old is an ERROR `sync_token_expired`.',
  PING: 'Keep-alive; answered with PONG.',
};

/** Koa path → OpenAPI path: `/rooms/:id` → `/rooms/{id}`. */
export const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

// ---------------------------------------------------------------------------
// The document.

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: JsonSchema) => ({ 'application/json': { schema } });

/** The pattern of `queryIntSchema` (validate.ts): such fields are documented as integers. */
const QUERY_INT_PATTERN = '^(0|[1-9][0-9]{0,15})$';

const codesWith = (status: number) =>
  Object.entries(rejectionStatus)
    .filter(([, s]) => s === status)
    .map(([code]) => code);

export function buildOpenApiDocument(config: Config, options: { version?: string } = {}): OpenApiDocument {
  const inputs = commandInputs(config);
  const specs = operationSpecs(config);

  // One registry: request bodies, WS client frames (io "input": what a client may
  // send) and response objects (no transforms, so input = output).
  const registry = z.registry<{ id: string }>();
  const requestBodies: Record<string, z.ZodType> = {
    RegisterRequest: registerBody,
    LoginRequest: loginBody,
    RefreshRequest: refreshBody,
    PasswordConfirmation: passwordConfirmation,
    PasswordChangeRequest: passwordChange,
    PasswordResetRequest: passwordResetBody,
    PasswordResetConfirmRequest: passwordResetConfirmBody,
    VerifyEmailRequest: verifyEmailBody,
    EmailChangeRequest: emailChange,
    UpdateProfileRequest: inputs.updateProfile,
    UserRef: inputs.userRef,
    CreateRoomRequest: inputs.createRoom,
    UpdateRoomRequest: inputs.updateRoom,
    AddMemberRequest: inputs.addMember,
    ChangeRoleRequest: inputs.changeRole,
    SendMessageRequest: inputs.sendMessage,
    EditMessageRequest: inputs.editMessage,
    ReadReceiptRequest: inputs.readReceipt,
    UploadSignRequest: uploadSignBody(config),
    SuspensionRequest: adminInputs(config).suspensionBody,
    PushSubscriptionRequest: pushInputs(config).subscriptionBody,
    PushUnsubscribeRequest: pushInputs(config).unsubscribeBody,
    ReportRequest: reportInputs(config).reportBody,
    ResolveReportRequest: reportInputs(config).resolveBody,
    CreateWebhookRequest: webhookInputs(config).createBody,
    ReplayWebhookRequest: webhookInputs(config).replayBody,
    CreateBotRequest: botInputs(config).createBody,
    BotTokenRequest: botInputs(config).tokenBody,
  };
  for (const [name, schema] of Object.entries({ ...requestBodies, ...responseSchemas })) registry.add(schema, { id: name });

  const clientFrames = clientFrameSchemas(inputs);
  const clientFrameDocs: FrameDoc[] = [];
  for (const option of clientFrames.options) {
    const type = option.shape.type.value;
    const name = `WsClientFrame_${type}`;
    registry.add(option, { id: name });
    clientFrameDocs.push({ type, description: clientFrameDescriptions[type] ?? '', schema: ref(name) });
  }
  const serverFrameDocs: FrameDoc[] = [];
  for (const [type, description, data] of serverFrames) {
    const name = `WsServerFrame_${type}`;
    registry.add(serverFrame(type, data), { id: name });
    serverFrameDocs.push({ type, description, schema: ref(name) });
  }

  const annotations = refinementAnnotations(config, inputs);
  const override = (ctx: { zodSchema: unknown; jsonSchema: JsonSchema }) => {
    const extra = annotations.get(ctx.zodSchema);
    if (extra !== undefined) Object.assign(ctx.jsonSchema, extra);
  };
  const generated = z.toJSONSchema(registry, {
    io: 'input',
    target: 'draft-2020-12',
    uri: (name) => `#/components/schemas/${name}`,
    override,
  }) as { schemas: Record<string, JsonSchema> };
  const schemas: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(generated.schemas)) {
    const { $schema: _dialect, $id: _id, ...rest } = schema;
    schemas[name] = rest;
  }

  const paths: OpenApiDocument['paths'] = {};
  for (const spec of specs) {
    const path = toOpenApiPath(spec.path);
    const pathItem = (paths[path] ??= {});
    if (pathItem[spec.method] !== undefined) throw new Error(`duplicate operation ${spec.method} ${path}`);
    pathItem[spec.method] = operation(spec, inputs, override);
  }

  const xRequestId = {
    description: 'The request id: the client’s `X-Request-Id` if sane, else a fresh UUID.',
    schema: { type: 'string' },
  };
  const retryAfter = {
    description: 'Seconds to wait before retrying.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  };
  const errorResponse = (
    description: string,
    extra: Partial<ResponseObject> = {},
    examples?: Record<string, { value: unknown }>,
  ): ResponseObject => ({
    description,
    ...extra,
    content: { 'application/json': { schema: ref('Error'), ...(examples === undefined ? {} : { examples }) } },
  });
  const example = (code: string, message: string, details?: unknown) => ({
    value: { error: { code, message, ...(details === undefined ? {} : { details }) } },
  });

  return {
    openapi: '3.1.1',
    info: {
      title: 'Parley',
      version: options.version ?? packageJson.version,
      description: [
        'Event-sourced CQRS chat backend: REST commands and queries under `/api/v1`, events over the `/ws` WebSocket',
        '(see `x-websocket`, and the **websocket** tag). All JSON is snake_case; times are epoch milliseconds.',
        '',
        `Request bodies are JSON (\`application/json\`, UTF-8, no BOM), at most ${config.PARLEY_MAX_BODY_BYTES} bytes,`,
        `nested at most ${DEFAULT_MAX_DEPTH} deep, without duplicate keys, lone surrogates or \`__proto__\` /`,
        '`constructor` / `prototype` keys (else 400 `invalid_json`). Objects are strict: an unknown field is 400',
        '`validation_failed`, and so is a repeated query parameter. Response objects may gain fields.',
        '',
        'A known path with another method gets 405 `method_not_allowed` with `Allow`; an unknown path 404. Every',
        'response carries `X-Request-Id`. After a command’s response, the same client’s next query sees its effect.',
      ].join('\n'),
    },
    tags: [
      { name: 'auth', description: 'Registration, sessions, rotating refresh tokens, JWKS.' },
      { name: 'users', description: 'Profiles and user search.' },
      { name: 'friends', description: 'Friend requests, friends and blocks.' },
      { name: 'rooms', description: 'Group and direct rooms, members and roles.' },
      { name: 'messages', description: 'History, sending, edits, deletes, reactions, receipts, search.' },
      {
        name: 'uploads',
        description:
          'Avatars and attachments: sign, send the file straight to the storage, then use the ready upload’s url ' +
          '(POST /api/v1/uploads/sign tells the whole protocol).',
      },
      {
        name: 'sync',
        description: 'One cursor over every change a user may see, for devices coming back online (API.md "Sync").',
      },
      {
        name: 'push',
        description: 'Web Push to devices while their user has no socket open (API.md "Push notifications").',
      },
      {
        name: 'reports',
        description: 'Reports of messages and users to the moderators: room owners and admins, and global admins.',
      },
      {
        name: 'webhooks',
        description: 'Outgoing webhooks: events of the log POSTed to receivers, signed, replayable (API.md "Webhooks").',
      },
      {
        name: 'bots',
        description: 'Bot accounts with API tokens, revocable and limited to rooms if wished (API.md "Bots").',
      },
      { name: 'admin', description: 'Global admins (PARLEY_ADMINS): suspensions and the audit of what admins did.' },
      { name: 'meta', description: 'Probes and this documentation (also as Swagger UI at /swagger/index.html).' },
      { name: 'websocket', description: 'The `/ws` event stream: see `x-websocket` for frames, limits and close codes.' },
    ],
    paths,
    components: {
      schemas,
      responses: {
        BadRequest: errorResponse(
          '`validation_failed` (details: `ValidationDetail[]`, one per problem; an unknown field is its own entry) ' +
            'or, for a body that is not acceptable JSON, `invalid_json`.',
          {},
          {
            validation_failed: example('validation_failed', 'invalid request body', [
              { path: 'content', message: 'must not be empty' },
              { path: 'role', message: 'unknown field' },
            ]),
            invalid_json: example('invalid_json', 'request body is not valid JSON'),
          },
        ),
        Unauthorized: errorResponse(
          'No, a malformed, an invalid or an expired access token (`unauthorized`, `invalid_token`, `token_expired`); ' +
            'on the auth routes, `invalid_credentials` or `invalid_refresh_token`.',
          {
            headers: {
              'WWW-Authenticate': {
                description: '`Bearer`, with `error="invalid_token"` when the token is the problem.',
                schema: { type: 'string' },
              },
            },
          },
          { token_expired: example('token_expired', 'the access token has expired') },
        ),
        Forbidden: errorResponse(
          `The rules forbid it for the caller: ${codesWith(403)
            .map((c) => `\`${c}\``)
            .join(', ')}.`,
        ),
        NotFound: errorResponse(
          `Not found (or hidden from a non-member): ${codesWith(404)
            .map((c) => `\`${c}\``)
            .join(', ')}.`,
        ),
        Conflict: errorResponse(
          `Well-formed, but the current state forbids it: ${codesWith(409)
            .map((c) => `\`${c}\``)
            .join(', ')}.`,
        ),
        PayloadTooLarge: errorResponse(
          `\`payload_too_large\`: the body is over ${config.PARLEY_MAX_BODY_BYTES} bytes. The connection is closed.`,
        ),
        UnsupportedMediaType: errorResponse(
          '`unsupported_media_type`: a body must be `application/json` (charset utf-8 if given).',
        ),
        Gone: errorResponse(
          '`sync_token_expired`: the sync token is older than the feed keeps. Resync: take a token without `since`, ' +
            'load state over REST, then sync from that token.',
        ),
        TooManyRequests: errorResponse(
          '`rate_limited`: too many attempts, or the user spent a command budget (one per user and kind of command, ' +
            'shared by REST and every socket; `details.retry_after_s` then repeats the wait). Retry after `Retry-After` seconds.',
          { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } },
        ),
        ServiceUnavailable: errorResponse(
          '`unavailable`: the command was not confirmed in time. It may still be applied; retrying the same request is safe.',
          { headers: { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } } },
        ),
        InternalError: errorResponse('`internal`: a bug; the message says nothing more.'),
      },
      parameters: {},
      headers: { RetryAfter: retryAfter, XRequestId: xRequestId },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            `RS256 access token from /auth/register, /auth/login or /auth/refresh, valid ${config.PARLEY_ACCESS_TTL_S} s ` +
            `(at most ${MAX_TOKEN_CHARS} characters). Public keys at /.well-known/jwks.json.`,
        },
      },
    },
    security: [{ bearerAuth: [] }],
    'x-websocket': {
      path: '/ws',
      description:
        'Frames are JSON text: `{"type": "...", "ref": "client id, echoed in replies", "timestamp": 1686123456789, "data": {...}}`. ' +
        'Bad frames (not JSON, binary, unknown type, wrong fields) get an ERROR and the socket stays open; a frame over ' +
        `${config.PARLEY_MAX_FRAME_BYTES} bytes closes it with 1009. A client over the rate gets ERROR \`rate_limited\`, ` +
        `and after ${config.PARLEY_WS_RATE_STRIKES} such frames is closed with 1008. A command (SEND_MESSAGE, READ_RECEIPT) ` +
        "over the user's command budget — the one REST charges too — gets ERROR `rate_limited` with its `ref` and " +
        '`details.retry_after_s`; the socket stays open.',
      authentication:
        'Either `GET /ws?token=<access token>`, or a first frame `{"type":"AUTH","data":{"token":"…"}}` within ' +
        `${config.PARLEY_WS_AUTH_TIMEOUT_MS} ms. The server answers AUTH_SUCCESS. The socket is closed (1008) when the token expires. ` +
        `While ${config.PARLEY_WS_MAX_CONNECTING} sockets are being set up, another is refused: 503 \`server_busy\` with ` +
        'Retry-After at the handshake, or ERROR `server_busy` (`details.retry_after`) and close 1013 after AUTH. ' +
        'Reconnect after a jittered exponential back-off, then JOIN_ROOM with since_seq.',
      limits: {
        max_frame_bytes: config.PARLEY_MAX_FRAME_BYTES,
        frames_per_second: config.PARLEY_WS_RATE_PER_S,
        burst: config.PARLEY_WS_RATE_BURST,
        rate_strikes_before_close: config.PARLEY_WS_RATE_STRIKES,
        max_sockets_per_user: config.PARLEY_WS_MAX_SOCKETS_PER_USER,
        auth_timeout_ms: config.PARLEY_WS_AUTH_TIMEOUT_MS,
        replay_max: config.PARLEY_REPLAY_MAX,
        typing_ttl_ms: config.PARLEY_TYPING_TTL_MS,
        max_buffered_bytes: config.PARLEY_WS_MAX_BUFFERED_BYTES,
        max_connecting: config.PARLEY_WS_MAX_CONNECTING,
        busy_retry_after_s: config.PARLEY_WS_BUSY_RETRY_AFTER_S,
      },
      close_codes: {
        '1001': 'server shutting down',
        '1008': 'policy: not authenticated in time, bad AUTH, invalid or expired token, rate limit, too many sockets',
        '1009': 'frame too large',
        '1011': 'session setup failed',
        '1013':
          'try again later: too slow (more than max_buffered_bytes waiting), or refused after AUTH while max_connecting sockets were being set up; reconnect after a jittered back-off and JOIN_ROOM with since_seq',
      },
      client_frames: clientFrameDocs,
      server_frames: serverFrameDocs,
    },
  };
}

/** The rules zod keeps in refinements or transforms, as JSON Schema keywords and descriptions. */
function refinementAnnotations(config: Config, inputs: ReturnType<typeof commandInputs>): Map<unknown, JsonSchema> {
  const notBlank = { pattern: '\\S' };
  const content = inputs.sendMessage.shape.content;
  const roomName = inputs.createRoom.shape.name;
  const register = registerBody.shape;
  return new Map<unknown, JsonSchema>([
    [
      content,
      {
        minLength: 1,
        maxLength: config.PARLEY_MAX_MESSAGE_CHARS,
        ...notBlank,
        description: `at most ${config.PARLEY_MAX_MESSAGE_CHARS} Unicode code points, not blank`,
      },
    ],
    [
      roomName,
      {
        maxLength: config.PARLEY_MAX_ROOM_NAME_CHARS,
        ...notBlank,
        description: `trimmed; 1–${config.PARLEY_MAX_ROOM_NAME_CHARS} code points`,
      },
    ],
    [webUrl, { pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', description: 'an http(s) URL' }],
    [inputs.updateRoom, { minProperties: 1, description: 'at least one of `name`, `topic`' }],
    [inputs.updateProfile, { minProperties: 1, description: 'at least one field' }],
    [inputs.updateProfile.shape.display_name.unwrap(), { ...notBlank, description: 'trimmed' }],
    [register.display_name.unwrap(), { ...notBlank, description: 'trimmed; defaults to the username' }],
    [
      register.username,
      {
        description:
          'NFKC-normalised and lower-cased, then 3–32 characters of `a–z 0–9 _ .`, not a reserved name (admin, support, …); unique, case-insensitively',
        examples: ['alice_1'],
      },
    ],
    [register.email, { format: 'email', description: 'trimmed and lower-cased; unique' }],
    [
      register.password,
      {
        minLength: PASSWORD_MIN_CHARS,
        maxLength: PASSWORD_MAX_BYTES,
        description: `at least ${PASSWORD_MIN_CHARS} characters and at most ${PASSWORD_MAX_BYTES} bytes of UTF-8; not a common password`,
      },
    ],
    [
      inputs.emoji,
      {
        description:
          'one emoji (a single grapheme of pictographs, URL-encoded in a path) or a `:shortcode:` (`:[a-z0-9_+-]{1,32}:`)',
      },
    ],
    [inputs.sendMessage.shape.reply_to, { description: 'id of a message of the same room' }],
    [
      inputs.sendMessage.shape.client_msg_id,
      {
        description:
          'the client’s id for the message; a retry with the same id answers the same message. Optional: without it the server assigns one, and a retry makes a second message',
      },
    ],
  ]);
}

type Override = (ctx: { zodSchema: unknown; jsonSchema: JsonSchema }) => void;

function jsonSchemaOf(schema: z.ZodType, override: Override): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', override }) as JsonSchema;
  return rest;
}

const pathParamDescriptions: Record<string, string> = {
  id: 'id',
  user_id: 'user id',
  message_id: 'message id',
  emoji: 'the reaction',
};

function pathParamDescription(path: string, name: string): string {
  if (name !== 'id') return pathParamDescriptions[name] ?? name;
  if (path.startsWith('/api/v1/rooms/')) return 'room id';
  if (path.startsWith('/api/v1/users/')) return 'user id';
  if (path.startsWith('/api/v1/friends/requests/')) return 'friend request id';
  return 'id';
}

function operation(spec: OperationSpec, inputs: ReturnType<typeof commandInputs>, override: Override): OperationObject {
  const auth = spec.auth ?? true;
  const parameters: ParameterObject[] = [];
  for (const match of spec.path.matchAll(/:([A-Za-z0-9_]+)/g)) {
    const name = match[1]!;
    const special = spec.pathParams?.[name];
    if (special !== undefined) {
      parameters.push({ name, in: 'path', required: true, description: special.description, schema: special.schema });
      continue;
    }
    const schema = name === 'emoji' ? jsonSchemaOf(inputs.emoji, override) : jsonSchemaOf(inputs.uuid, override);
    parameters.push({ name, in: 'path', required: true, description: pathParamDescription(spec.path, name), schema });
  }
  for (const param of spec.queryParams ?? []) parameters.push({ ...param, in: 'query', required: true });
  if (spec.query !== undefined) {
    for (const [name, field] of Object.entries(spec.query.shape)) {
      let schema = jsonSchemaOf(field, override);
      const required = !field.safeParse(undefined).success;
      if (schema.pattern === QUERY_INT_PATTERN) {
        const bounds = spec.queryIntegers?.[name];
        if (bounds === undefined)
          throw new Error(`${spec.method} ${spec.path}: integer query parameter ${name} has no documented bounds`);
        schema = { type: 'integer', ...bounds };
      }
      parameters.push({ name, in: 'query', required, schema });
    }
  }

  const statuses = new Set<ErrorStatus>(spec.errors ?? []);
  if (auth) statuses.add(401);
  if (parameters.length > 0 || spec.body !== undefined) statuses.add(400);
  if (spec.body !== undefined || spec.rawBody !== undefined) {
    statuses.add(413);
    statuses.add(415);
  }
  const sharedResponse: Record<ErrorStatus, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    413: 'PayloadTooLarge',
    415: 'UnsupportedMediaType',
    410: 'Gone',
    429: 'TooManyRequests',
    503: 'ServiceUnavailable',
  };

  const responses: OperationObject['responses'] = {};
  const ok: ResponseObject = { description: spec.ok.description };
  if (spec.ok.status >= 300 && spec.ok.status < 400) {
    ok.headers = { Location: { description: 'where to go', schema: { type: 'string' } } };
  } else if (spec.ok.contentType?.startsWith('text/') === true) {
    ok.content = { [spec.ok.contentType]: { schema: { type: 'string' } } };
  } else if (spec.ok.contentType !== undefined) {
    ok.content = { [spec.ok.contentType]: { schema: { type: 'string', format: 'binary' } } };
  } else if (spec.ok.schema !== undefined) {
    ok.content = jsonContent(ref(spec.ok.schema));
  } else if (spec.ok.status !== 204) {
    ok.content = jsonContent({ type: 'object' });
  }
  responses[String(spec.ok.status)] = ok;
  if (spec.path === '/readyz') {
    responses['503'] = { description: 'Not ready: some check failed.', content: jsonContent(ref('Readiness')) };
  }
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const codes = spec.codes?.[status];
    responses[String(status)] =
      codes === undefined
        ? { $ref: `#/components/responses/${sharedResponse[status]}` }
        : {
            description: codes.map((code) => `\`${code}\``).join(', '),
            ...(status === 401 ? { headers: { 'WWW-Authenticate': { schema: { type: 'string' } } } } : {}),
            content: jsonContent(ref('Error')),
          };
  }
  responses['500'] = { $ref: '#/components/responses/InternalError' };

  const operationId = `${spec.method}${spec.path
    .split('/')
    .filter((part) => part !== '' && part !== 'api' && part !== 'v1')
    .map((part) => (part.startsWith(':') ? `By_${part.slice(1)}` : part))
    .map((part) => part.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()))
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')}`;

  return {
    operationId,
    summary: spec.summary,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    tags: [spec.tag],
    ...(auth ? {} : { security: [] }),
    ...(parameters.length === 0 ? {} : { parameters }),
    ...(spec.body === undefined ? {} : { requestBody: { required: true, content: jsonContent(ref(spec.body)) } }),
    ...(spec.rawBody === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: Object.fromEntries(spec.rawBody.contentTypes.map((type) => [type, { schema: spec.rawBody!.schema }])),
          },
        }),
    responses,
  };
}
