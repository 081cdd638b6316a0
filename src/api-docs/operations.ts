// What the OpenAPI document says of each REST operation, one function per
// area of the API. openapi.ts turns these into the document; its spec checks
// that every registered route is described here and every operation exists.

import type { z } from 'zod';
import type { Config } from '../config.ts';
import { queryInputs } from '../queries/http-routes.ts';
import { reportInputs } from '../commands/report-routes.ts';
import { syncQuerySchema } from '../queries/sync-routes.ts';
import { adminInputs } from '../auth/http-routes.ts';
import { webhookInputs } from '../webhooks/webhook-routes.ts';
import { asOfQuerySchema } from '../queries/as-of-routes.ts';
import { uploadPurposes } from '../uploads/storage.ts';
import { DEMO_ASSETS } from '../http/demo-routes.ts';
import { SWAGGER_UI_ASSETS, SWAGGER_UI_PATH } from './swagger-ui-routes.ts';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 503;

export interface OperationSpec {
  method: HttpMethod;
  /** Koa style (`/rooms/:id`); turned into `{id}`. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Default true: needs a bearer access token. */
  auth?: boolean;
  /** Component name of the JSON request body. */
  body?: string;
  /** A body that is not a JSON component (a file, a provider's signed notification): its media types and schema. */
  rawBody?: { contentTypes: readonly string[]; schema: Record<string, unknown> };
  /** Path parameters that are not ids (every other one is a UUID). */
  pathParams?: Record<string, { description: string; schema: Record<string, unknown> }>;
  /** Query parameters no zod schema describes (the signed fields of an upload URL). */
  queryParams?: { name: string; description: string; schema: Record<string, unknown> }[];
  /** The zod schema the route parses its query string with. */
  query?: z.ZodObject<Record<string, z.ZodType>>;
  /** Integer query fields (zod sees strings): bounds and default, checked against zod by the specs. */
  queryIntegers?: Record<string, { minimum: number; maximum: number; default?: number }>;
  /** A 3xx answers with `Location` and no body; a contentType other than JSON is a string (text/html) or bytes. */
  ok: { status: number; description: string; schema?: string; contentType?: string };
  /** Error statuses beyond the automatic ones (401 with auth; 400, 413, 415 with a body; 400 with params). */
  errors?: ErrorStatus[];
  /** Codes this operation answers with, by status, where narrower than the shared response. */
  codes?: Partial<Record<ErrorStatus, readonly string[]>>;
}

/** A command's route: the domain's refusals, the user's command budget (429, command-rate-limits.ts), no outcome in time. */
const COMMAND_ERRORS: ErrorStatus[] = [403, 404, 409, 429, 503];

/** What the areas share: the query schemas and the bounds of pages and seqs. */
function context(config: Config) {
  const q = queryInputs(config);
  const pageLimit = { minimum: 1, maximum: config.PARLEY_PAGE_MAX, default: config.PARLEY_PAGE_DEFAULT };
  const seq = { minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
  return { q, pageLimit, seq };
}

type Context = ReturnType<typeof context>;

/** Probes and the API documents. */
function metaOperations(): OperationSpec[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      tag: 'meta',
      auth: false,
      summary: 'Liveness probe',
      ok: { status: 200, description: 'The process is up.', schema: 'Health' },
    },
    {
      method: 'get',
      path: '/readyz',
      tag: 'meta',
      auth: false,
      summary: 'Readiness probe',
      description:
        'Log, store and cache reachable. 503 with the same body shape when any check fails. ' +
        'Poison events (records a projector parked; its partition halts at them) keep the answer 200 with ' +
        'status `degraded` and list them under `dead_letters`: one halted partition is no reason to take the instance ' +
        'out of a load balancer, but an operator must act (`parley dlq`).',
      ok: { status: 200, description: 'Ready, or degraded.', schema: 'Readiness' },
    },
    {
      method: 'get',
      path: '/metrics',
      tag: 'meta',
      auth: false,
      summary: 'Metrics for Prometheus',
      description:
        'Request and command latencies, sockets, deliveries, slow-socket drops, projection and consumer lag, ' +
        'the event-loop delay and process metrics, in the Prometheus text format. Absent (404) with ' +
        '`PARLEY_METRICS=off`; with `PARLEY_METRICS_TOKEN` set, only `Authorization: Bearer <that token>` gets them (401 otherwise).',
      ok: { status: 200, description: 'Prometheus text exposition format 0.0.4.', contentType: 'text/plain; version=0.0.4' },
      errors: [401],
      codes: { 401: ['unauthorized'] },
    },
    {
      method: 'get',
      path: '/.well-known/jwks.json',
      tag: 'auth',
      auth: false,
      summary: 'Public keys that verify access tokens',
      ok: { status: 200, description: 'The key set (cacheable for 5 minutes).', schema: 'Jwks' },
    },
    {
      method: 'get',
      path: '/openapi.json',
      tag: 'meta',
      auth: false,
      summary: 'This document',
      ok: { status: 200, description: 'OpenAPI 3.1 document.' },
    },
    {
      method: 'get',
      path: '/asyncapi.json',
      tag: 'meta',
      auth: false,
      summary: 'The WebSocket gateway as an AsyncAPI document',
      ok: { status: 200, description: 'AsyncAPI 3.1 document of `/ws`: the frames of `x-websocket`, with the same schemas.' },
    },
    {
      method: 'get',
      path: '/docs',
      tag: 'meta',
      auth: false,
      summary: 'This document as a readable HTML page',
      ok: { status: 200, description: 'HTML, rendered on the server; loads nothing else.', contentType: 'text/html' },
    },
    {
      method: 'get',
      path: '/',
      tag: 'meta',
      auth: false,
      summary: 'The demo web client (PARLEY_DEMO=on, the default)',
      description:
        'Plain HTML and JavaScript over this API and `/ws`: register, rooms, live chat, typing, presence, receipts, uploads.',
      ok: { status: 200, description: 'The page.', contentType: 'text/html' },
    },
    {
      method: 'get',
      path: '/demo/:asset',
      tag: 'meta',
      auth: false,
      summary: "The demo page's script and stylesheet",
      pathParams: {
        asset: { description: 'a file the demo page loads', schema: { type: 'string', enum: Object.keys(DEMO_ASSETS) } },
      },
      ok: { status: 200, description: 'A script, a stylesheet or the page.', contentType: 'text/html' },
      errors: [404],
    },
    {
      method: 'get',
      path: '/swagger',
      tag: 'meta',
      auth: false,
      summary: 'Swagger UI (redirects to its page)',
      ok: { status: 302, description: `To ${SWAGGER_UI_PATH}.` },
    },
    {
      method: 'get',
      path: '/swagger/:asset',
      tag: 'meta',
      auth: false,
      summary: 'Swagger UI over this document: index.html and the files it loads',
      description:
        'Served from this server (the swagger-ui-dist package), never a CDN; the page loads scripts and styles from this ' +
        'origin only (Content-Security-Policy). Authorize with an access token to try the bearer operations.',
      pathParams: {
        asset: { description: 'index.html, or a file the page loads', schema: { type: 'string', enum: SWAGGER_UI_ASSETS } },
      },
      ok: { status: 200, description: 'The page (text/html), a script, a stylesheet or an icon.', contentType: 'text/html' },
      errors: [404],
    },
  ];
}

/** Registration, login, tokens and their keys. */
function authOperations(config: Config): OperationSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/auth/register',
      tag: 'auth',
      auth: false,
      summary: 'Register',
      description: `Limited to ${config.PARLEY_REGISTER_MAX_PER_IP} registrations per IP per ${config.PARLEY_REGISTER_WINDOW_S} s.`,
      body: 'RegisterRequest',
      ok: { status: 201, description: 'Registered and signed in.', schema: 'Session' },
      errors: [409, 429, 503],
      codes: { 409: ['username_taken', 'email_taken'] },
    },
    {
      method: 'post',
      path: '/api/v1/auth/login',
      tag: 'auth',
      auth: false,
      summary: 'Sign in with username or email',
      description:
        'An unknown user and a wrong password get the same 401. ' +
        `Per (account, client IP): ${config.PARLEY_LOGIN_FREE_FAILURES} failures are free, then each further one starts a delay ` +
        `(${config.PARLEY_LOGIN_FIRST_DELAY_S} s, doubling, at most ${config.PARLEY_LOGIN_MAX_DELAY_S} s) during which that pair gets 429 with Retry-After; ` +
        `a success resets the pair. Per client IP, ${config.PARLEY_LOGIN_MAX_FAILURES_PER_IP} failures across all accounts per ${config.PARLEY_LOGIN_WINDOW_S} s, then 429. ` +
        'Failures from one IP never refuse the account at another. A suspended account gets 403 `account_suspended` ' +
        '(details: `until`, null while it lasts until lifted, and `reason`) after a right password.',
      body: 'LoginRequest',
      ok: { status: 200, description: 'Signed in.', schema: 'Session' },
      errors: [401, 403, 429],
      codes: { 401: ['invalid_credentials'], 403: ['account_suspended'] },
    },
    {
      method: 'post',
      path: '/api/v1/auth/refresh',
      tag: 'auth',
      auth: false,
      summary: 'Trade a refresh token for a new session',
      description:
        'The refresh token is spent; reusing a spent one revokes its whole session family. A suspension ends every ' +
        'session (so its refresh tokens are invalid); one of a suspended account is refused with 403 `account_suspended`.',
      body: 'RefreshRequest',
      ok: { status: 200, description: 'New access and refresh tokens.', schema: 'Session' },
      errors: [401, 403],
      codes: { 401: ['invalid_refresh_token'], 403: ['account_suspended'] },
    },
    {
      method: 'post',
      path: '/api/v1/auth/logout',
      tag: 'auth',
      auth: false,
      summary: 'Sign out (revoke the refresh token’s session family)',
      description: 'Idempotent: an unknown or spent token is no error.',
      body: 'RefreshRequest',
      ok: { status: 204, description: 'Signed out.' },
    },
    {
      method: 'post',
      path: '/api/v1/auth/password-reset',
      tag: 'auth',
      auth: false,
      summary: 'Ask for a password-reset link by email',
      description:
        'Always 202, whether or not an account has the address (and in the same time): the link goes out in the ' +
        'background, works once, for PARLEY_PASSWORD_RESET_TTL_S. At most PARLEY_PASSWORD_RESET_MAX_PER_EMAIL mails per ' +
        'address per window (silently), PARLEY_PASSWORD_RESET_MAX_PER_IP requests per IP (429).',
      body: 'PasswordResetRequest',
      ok: { status: 202, description: 'Accepted.' },
      errors: [400, 429],
    },
    {
      method: 'post',
      path: '/api/v1/auth/verify-email',
      tag: 'auth',
      auth: false,
      summary: 'Confirm an email with the token of the link mailed to it',
      description:
        'The registration’s address becomes confirmed, or a requested change takes effect. An unknown, used or expired ' +
        'token → 401 invalid_email_token; an address taken meanwhile → 409 email_taken.',
      body: 'VerifyEmailRequest',
      ok: { status: 204, description: 'Confirmed.' },
      errors: [400, 401, 409],
    },
    {
      method: 'post',
      path: '/api/v1/auth/password-reset/confirm',
      tag: 'auth',
      auth: false,
      summary: 'Set a new password with the link’s token',
      description: 'Every session of the account ends. A token that is unknown, used or expired → 401 invalid_reset_token.',
      body: 'PasswordResetConfirmRequest',
      ok: { status: 204, description: 'The new password is set.' },
      errors: [400, 401],
    },
  ];
}

/** Profiles, search and presence. */
function userOperations({ q, pageLimit }: Context): OperationSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/users/me',
      tag: 'users',
      summary: 'My profile',
      ok: { status: 200, description: 'My profile, with my email and whether it is confirmed.', schema: 'Me' },
      errors: [404],
    },
    {
      method: 'patch',
      path: '/api/v1/users/me',
      tag: 'users',
      summary: 'Update my profile',
      description:
        'avatar_url is null, or the url of one of my own ready avatar uploads (POST /api/v1/uploads/sign with purpose avatar); ' +
        'any other URL → 404 upload_not_found.',
      body: 'UpdateProfileRequest',
      ok: { status: 200, description: 'The updated profile.', schema: 'User' },
      errors: [404, 429, 503],
      codes: { 404: ['upload_not_found'] },
    },
    {
      method: 'post',
      path: '/api/v1/users/me/email',
      tag: 'users',
      summary: 'Change my email (password required; done once the new address is confirmed)',
      description:
        'Mails a confirmation link to the new address; the account’s email changes when it is followed ' +
        '(POST /api/v1/auth/verify-email). An address already registered → 409 email_taken.',
      body: 'EmailChangeRequest',
      ok: { status: 202, description: 'The link is on its way.' },
      errors: [400, 401, 409, 429],
    },
    {
      method: 'post',
      path: '/api/v1/users/me/password',
      tag: 'users',
      summary: 'Change my password (the current one required)',
      description:
        'Every other session of the account ends at once: its refresh tokens, its access tokens and its open sockets ' +
        '(closed with 1008). The session that made the change goes on. The log records that the password changed, never what it is.',
      body: 'PasswordChangeRequest',
      ok: { status: 204, description: 'Changed.' },
      errors: [400, 401, 429],
    },
    {
      method: 'get',
      path: '/api/v1/users/me/export',
      tag: 'users',
      summary: 'Export everything Parley holds about me',
      description:
        'One JSON document, streamed: {format, exported_at, profile (with the email), suspension (one in force, or ' +
        'null), rooms (with my marks and ' +
        'notification settings), followed_threads, room_bans and room_mutes (those I am under), friends, friend_requests, ' +
        'blocks, uploads, push_subscriptions (my devices: subscription_id, endpoint, added_at), messages (every message I sent, oldest first, with `earlier_versions`: what it said before each ' +
        'edit)}. Sent as an attachment (parley-export.json).',
      ok: { status: 200, description: 'The export.' },
      errors: [404],
    },
    {
      method: 'delete',
      path: '/api/v1/users/me',
      tag: 'users',
      summary: 'Delete my account (password required)',
      description:
        'Erases the profile and the content of every message I sent, in every copy of the log (their keys are destroyed; ' +
        'the messages stay as tombstones so history keeps its order). Sessions end; the email is free at once, the ' +
        'username after PARLEY_USERNAME_COOLING_OFF_S. Cannot be undone. See docs/PRIVACY.md.',
      body: 'PasswordConfirmation',
      ok: { status: 204, description: 'The account is deleted.' },
      errors: [401, 429, 503],
    },
    {
      method: 'get',
      path: '/api/v1/users',
      tag: 'users',
      summary: 'Search users by username or display-name prefix',
      description: 'Users on either side of a block with the caller are left out.',
      query: q.userSearchQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'Matching users, by username.', schema: 'UserList' },
    },
    {
      method: 'get',
      path: '/api/v1/users/:id',
      tag: 'users',
      summary: 'A public profile with presence',
      ok: { status: 200, description: 'The profile.', schema: 'UserWithStatus' },
      errors: [404],
      codes: { 404: ['user_not_found'] },
    },
  ];
}

/** Friend requests, friendships and blocks. */
function socialOperations({ q }: Context): OperationSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/friends/requests',
      tag: 'friends',
      summary: 'Send a friend request',
      description: 'To yourself, to a friend, twice → 409; across a block → 403.',
      body: 'UserRef',
      ok: { status: 201, description: 'The request.', schema: 'FriendRequestResult' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/friends/requests',
      tag: 'friends',
      summary: 'Pending friend requests',
      query: q.friendRequestsQuery,
      ok: { status: 200, description: 'Pending requests, newest first.', schema: 'FriendRequestList' },
    },
    {
      method: 'post',
      path: '/api/v1/friends/requests/:id/accept',
      tag: 'friends',
      summary: 'Accept a friend request (addressee only)',
      ok: { status: 200, description: 'The request and the friendship.', schema: 'FriendRequestAccepted' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/friends/requests/:id/reject',
      tag: 'friends',
      summary: 'Reject a friend request (addressee only)',
      ok: { status: 200, description: 'The request.', schema: 'FriendRequestResult' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/friends/requests/:id',
      tag: 'friends',
      summary: 'Cancel a friend request (sender only)',
      ok: { status: 200, description: 'The cancelled request.', schema: 'FriendRequestResult' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/friends',
      tag: 'friends',
      summary: 'My friends, with presence',
      ok: { status: 200, description: 'Friends, by username.', schema: 'FriendList' },
    },
    {
      method: 'delete',
      path: '/api/v1/friends/:user_id',
      tag: 'friends',
      summary: 'Unfriend',
      ok: { status: 204, description: 'No longer friends.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/blocks',
      tag: 'friends',
      summary: 'Block a user',
      description: 'Ends a friendship, and stops friend requests and direct messages both ways.',
      body: 'UserRef',
      ok: { status: 204, description: 'Blocked.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/blocks/:user_id',
      tag: 'friends',
      summary: 'Unblock a user',
      ok: { status: 204, description: 'Unblocked.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/blocks',
      tag: 'friends',
      summary: 'Users I block',
      ok: { status: 200, description: 'Blocked users, newest first.', schema: 'BlockList' },
    },
  ];
}

/** Rooms, members, messages, reactions, receipts and search. */
function roomOperations(config: Config, { q, pageLimit, seq }: Context): OperationSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/rooms',
      tag: 'rooms',
      summary: 'Create a group room (the creator is its owner)',
      description:
        'Friends among member_ids join at once; anyone else is invited (the room lists them under invitations) and ' +
        'joins only by accepting. Anyone who blocked you or whom you blocked → 403 blocked.',
      body: 'CreateRoomRequest',
      ok: { status: 201, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/invitations',
      tag: 'rooms',
      summary: 'Invitations to group rooms waiting for my answer',
      query: q.invitationsQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'Pending invitations, newest first.', schema: 'InvitationList' },
    },
    {
      method: 'post',
      path: '/api/v1/invitations/:room_id/accept',
      tag: 'rooms',
      summary: 'Accept an invitation: join the room',
      description:
        'Joins with the role invited as. No pending invitation → 404 invitation_not_found; accepting again is no error; ' +
        'a block between you and the inviter → 403 blocked.',
      ok: { status: 200, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/invitations/:room_id/decline',
      tag: 'rooms',
      summary: 'Decline an invitation',
      description: 'No pending invitation → 404 invitation_not_found.',
      ok: { status: 204, description: 'Declined.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/rooms/direct',
      tag: 'rooms',
      summary: 'Open the direct room with a friend',
      description: 'The one direct room of the pair: the same id every time. Needs a friendship and no block.',
      body: 'UserRef',
      ok: { status: 201, description: 'The direct room (new or existing).', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/rooms',
      tag: 'rooms',
      summary: 'My rooms',
      ok: { status: 200, description: 'My rooms, most recently active first.', schema: 'RoomList' },
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id',
      tag: 'rooms',
      summary: 'A room with its members',
      description: 'Non-members get 404, as if the room did not exist.',
      ok: { status: 200, description: 'The room.', schema: 'RoomDetail' },
      errors: [404],
      codes: { 404: ['room_not_found'] },
    },
    {
      method: 'patch',
      path: '/api/v1/rooms/:id',
      tag: 'rooms',
      summary: 'Rename a room or set its topic (owner/admin)',
      body: 'UpdateRoomRequest',
      ok: { status: 200, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/rooms/:id/members',
      tag: 'rooms',
      summary: 'Add a member, or invite them (owner/admin)',
      description:
        'A friend of yours joins at once; anyone else is invited (listed under invitations) and joins only by ' +
        'accepting. Across a block → 403 blocked.',
      body: 'AddMemberRequest',
      ok: { status: 201, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'patch',
      path: '/api/v1/rooms/:id/members/:user_id',
      tag: 'rooms',
      summary: "Change a member's role (owner/admin)",
      description: 'The last owner cannot step down (409 `last_owner`).',
      body: 'ChangeRoleRequest',
      ok: { status: 200, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/members/:user_id',
      tag: 'rooms',
      summary: 'Remove a member (owner/admin), or leave (yourself)',
      description: 'On a user with a pending invitation, an owner or admin withdraws it.',
      ok: { status: 204, description: 'Removed.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/bans/:user_id',
      tag: 'rooms',
      summary: 'Ban a user from a group room (owner/admin)',
      description:
        'Removes them if they are a member (members hear MEMBER_REMOVED) or withdraws their invitation, and keeps them out: ' +
        'adding or inviting them answers 403 `banned` until they are unbanned. A user who is not in the room can be banned ahead. ' +
        'Admins ban plain members and outsiders; owners anyone. Banning again changes nothing.',
      ok: { status: 204, description: 'Banned.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/bans/:user_id',
      tag: 'rooms',
      summary: 'Lift a ban (owner/admin)',
      description: 'They may be added or invited again; they do not come back by themselves.',
      ok: { status: 204, description: 'Not banned (any more).' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/bans',
      tag: 'rooms',
      summary: 'The room’s bans, newest first (owner/admin)',
      description: 'Plain members get 403 `forbidden`; non-members 404 `room_not_found`.',
      ok: { status: 200, description: 'The bans.', schema: 'RoomBanList' },
      errors: [403, 404],
      codes: { 403: ['forbidden'], 404: ['room_not_found'] },
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/mutes/:user_id',
      tag: 'rooms',
      summary: 'Mute a member for a while, or lift it (owner/admin)',
      description:
        'A muted member reads the room but cannot post, edit or react (403 `muted`, `details.muted_until`) until the mute ' +
        'ends by itself; leaving the room does not end it. Members hear MEMBER_MUTED. `duration_s: null` lifts it.',
      body: 'MuteRequest',
      ok: { status: 200, description: 'The room (the member’s `muted_until`).', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/notifications',
      tag: 'rooms',
      summary: 'How a room notifies me',
      description:
        '`level`: all, mentions (only messages that mention me, @room and @here included) or none; `muted_until` silences ' +
        'the room until then whatever the level. My own setting (others do not see it); the room list shows it as ' +
        '`notifications`, and my other devices hear NOTIFICATIONS_UPDATED. Push notifications will follow it.',
      body: 'NotificationsRequest',
      ok: { status: 200, description: 'The setting as it stands.', schema: 'RoomNotifications' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/slow-mode',
      tag: 'rooms',
      summary: 'Set slow mode (owner/admin)',
      description:
        'A plain member then waits `interval_s` between two messages (429 `slow_mode` with `Retry-After` and ' +
        '`details.retry_after_s` otherwise); owners and admins are exempt. 0 turns it off. Members hear ROOM_UPDATED.',
      body: 'SlowModeRequest',
      ok: { status: 200, description: 'The room.', schema: 'RoomDetail' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/messages',
      tag: 'messages',
      summary: 'Message history, ascending by seq',
      description:
        'Both bounds are exclusive. With `after_seq` it reads forward from there; otherwise the newest messages ' +
        '(below `before_seq` if given). With both, `after_seq` must be below `before_seq`. Each message carries `thread`: ' +
        'the summary of the replies to it (count, last reply, who replied; deleted replies do not count), or null. Non-members get 404.',
      query: q.historyQuery,
      queryIntegers: { before_seq: seq, after_seq: seq, limit: pageLimit },
      ok: { status: 200, description: 'A page of messages.', schema: 'HistoryPage' },
      errors: [404],
      codes: { 404: ['room_not_found'] },
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/messages/:message_id/thread',
      tag: 'messages',
      summary: 'A message’s thread: the message and its replies, ascending by seq',
      description:
        'The replies are the messages whose `reply_to` is this message (deleted ones stay as tombstones, as in history); ' +
        'page on with `after_seq=<next_after_seq>` (null: no more). It also says whether I follow the thread, how far I ' +
        'have read it and how many replies I have not. Non-members get 404 room_not_found.',
      query: q.threadQuery,
      queryIntegers: { after_seq: seq, limit: pageLimit },
      ok: { status: 200, description: 'The thread.', schema: 'Thread' },
      errors: [404],
      codes: { 404: ['room_not_found', 'message_not_found'] },
    },
    {
      method: 'post',
      path: '/api/v1/rooms/:id/messages',
      tag: 'messages',
      summary: 'Send a message',
      description:
        'Idempotent by `client_msg_id`: the same id again answers the same message, not a new one. With a pre-send hook ' +
        '(PARLEY_PRESEND_HOOK_URL) the text may be rewritten, or the message refused: 403 `message_rejected` ' +
        '(`details.reason`); a failing hook set to fail closed answers 503.',
      body: 'SendMessageRequest',
      ok: { status: 201, description: 'The stored message.', schema: 'Message' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'patch',
      path: '/api/v1/rooms/:id/messages/:message_id',
      tag: 'messages',
      summary: 'Edit a message (author only)',
      description: 'The pre-send hook, if any, reviews the new text as it does a new message’s.',
      body: 'EditMessageRequest',
      ok: { status: 200, description: 'The message.', schema: 'Message' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/messages/:message_id',
      tag: 'messages',
      summary: 'Delete a message (author, or owner/admin)',
      ok: { status: 200, description: 'The message, now `deleted: true`, `erased: true`, `content: null`.', schema: 'Message' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/messages/:message_id/reactions/:emoji',
      tag: 'messages',
      summary: 'React to a message',
      ok: { status: 200, description: 'The message.', schema: 'Message' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/messages/:message_id/reactions/:emoji',
      tag: 'messages',
      summary: 'Take a reaction back',
      ok: { status: 200, description: 'The message.', schema: 'Message' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/messages/:message_id/history',
      tag: 'messages',
      summary: 'A message’s edit history',
      description:
        'The message as it is, and `versions`: what it said before each edit, oldest first (the first is what was sent). ' +
        'Erasure wins: a deleted, expired or erased message has none. Non-members get 404 room_not_found.',
      ok: { status: 200, description: 'The message and its earlier versions.', schema: 'MessageHistory' },
      errors: [404],
      codes: { 404: ['room_not_found', 'message_not_found'] },
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/messages/:message_id/receipts',
      tag: 'messages',
      summary: 'Who a message reached and who read it',
      description:
        'Of the room’s members other than the sender: whose devices received the message (`DELIVERED` / `POST …/delivered`, ' +
        'or reading it) and who read it. Non-members get 404 room_not_found.',
      ok: { status: 200, description: 'The message’s receipts.', schema: 'MessageReceipts' },
      errors: [404],
      codes: { 404: ['room_not_found', 'message_not_found'] },
    },
    {
      method: 'get',
      path: '/api/v1/rooms/:id/pins',
      tag: 'messages',
      summary: 'The room’s pinned messages, the most recently pinned first',
      description: `At most ${config.PARLEY_MAX_PINS} (PARLEY_MAX_PINS). Non-members get 404.`,
      ok: { status: 200, description: 'The pins.', schema: 'PinList' },
      errors: [404],
      codes: { 404: ['room_not_found'] },
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/pins/:message_id',
      tag: 'messages',
      summary: 'Pin a message (any member)',
      description:
        `A room holds at most ${config.PARLEY_MAX_PINS} pins (409 too_many_pins: unpin one first); a deleted message ` +
        'cannot be pinned (409 invalid_state). Pinning a pinned message changes nothing. Members hear PIN_UPDATED.',
      ok: { status: 204, description: 'Pinned.' },
      errors: COMMAND_ERRORS,
      codes: { 409: ['too_many_pins', 'invalid_state'] },
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/pins/:message_id',
      tag: 'messages',
      summary: 'Unpin a message (any member)',
      description: 'Unpinning a message that is not pinned changes nothing. Members hear PIN_UPDATED.',
      ok: { status: 204, description: 'Not pinned (any more).' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/rooms/:id/read',
      tag: 'messages',
      summary: 'Read receipt',
      body: 'ReadReceiptRequest',
      ok: { status: 200, description: 'My read mark in the room.', schema: 'ReadMark' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'put',
      path: '/api/v1/rooms/:id/messages/:message_id/thread/follow',
      tag: 'messages',
      summary: 'Follow a thread',
      description:
        'Lists the thread (the replies to this message) in GET /threads. Replying in a thread, being mentioned in a reply, ' +
        'or a first reply to my own message follows it without asking. My other devices hear THREAD_FOLLOWED.',
      ok: { status: 204, description: 'Followed.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'delete',
      path: '/api/v1/rooms/:id/messages/:message_id/thread/follow',
      tag: 'messages',
      summary: 'Stop following a thread',
      description:
        'Until I reply in it or a reply mentions me again. My other devices hear THREAD_FOLLOWED (`following: false`).',
      ok: { status: 204, description: 'Not followed.' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/rooms/:id/messages/:message_id/thread/read',
      tag: 'messages',
      summary: 'Thread read receipt',
      description:
        'I have read the thread of this message up to `seq` (the mark never moves back; my own replies move it too). ' +
        'My other devices hear THREAD_READ. Reading a thread does not follow it.',
      body: 'ReadReceiptRequest',
      ok: { status: 200, description: 'My read mark of the thread.', schema: 'ThreadReadMark' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'post',
      path: '/api/v1/rooms/:id/delivered',
      tag: 'messages',
      summary: 'Delivery receipt',
      description:
        'A device of mine received the room up to `seq`. Members hear DELIVERY_RECEIPT when my mark moves (reading implies ' +
        'delivery: a seq at or below my read mark changes nothing). Room details show each member’s `last_delivered_seq`.',
      body: 'ReadReceiptRequest',
      ok: { status: 200, description: 'My delivery mark in the room.', schema: 'DeliveryMark' },
      errors: COMMAND_ERRORS,
    },
    {
      method: 'get',
      path: '/api/v1/mentions',
      tag: 'messages',
      summary: 'My mentions inbox, newest first',
      description:
        'Messages that name me (`@username`), in the rooms I am in, newest first, each with `read` (my read mark in ' +
        'its room has reached it). A mention an edit added counts from the edit; one an edit took out is gone, as are ' +
        'those of deleted, expired or erased messages. Page with `before` = the previous page’s `next_before`. ' +
        'Rooms carry `unread_mention_count` in the room list.',
      query: q.mentionsQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'A page of mentions.', schema: 'MentionList' },
    },
    {
      method: 'get',
      path: '/api/v1/threads',
      tag: 'messages',
      summary: 'The threads I follow, the latest active first',
      description:
        'Threads I follow in the rooms I am in, ordered by their last reply, each with its first message (and summary), ' +
        'my read mark and how many replies from others I have not read. I follow a thread by replying in it, by being ' +
        'mentioned in a reply, by a first reply to my own message, or by asking; I stop by asking. Page with `before` = ' +
        'the previous page’s `next_before`.',
      query: q.followedThreadsQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'A page of followed threads.', schema: 'FollowedThreadList' },
    },
    {
      method: 'get',
      path: '/api/v1/search/messages',
      tag: 'messages',
      summary: 'Full-text search in my rooms',
      description: 'Only rooms the caller is a member of are searched.',
      query: q.messageSearchQuery,
      queryIntegers: { limit: { minimum: 1, maximum: config.PARLEY_SEARCH_MAX, default: 20 } },
      ok: { status: 200, description: 'Matching messages.', schema: 'MessageList' },
    },
  ];
}

/** The signed direct-upload protocol (API.md "Uploads"): sign, send the file, use the URL. */
function uploadOperations(config: Config): OperationSpec[] {
  const fileTypes = [...new Set([...config.PARLEY_UPLOAD_AVATAR_TYPES, ...config.PARLEY_UPLOAD_ATTACHMENT_TYPES])];
  const signedField = (name: string, description: string) => ({ name, description, schema: { type: 'string' } });
  return [
    {
      method: 'post',
      path: '/api/v1/uploads/sign',
      tag: 'uploads',
      summary: 'Step 1 of an upload: sign it (the file then goes straight to the storage)',
      description:
        'Files never pass through the JSON API. (1) Sign: give the purpose, the file’s media type and size. ' +
        `An avatar is one of ${config.PARLEY_UPLOAD_AVATAR_TYPES.join(', ')}, at most ${config.PARLEY_UPLOAD_AVATAR_MAX_BYTES} bytes, ` +
        `without room_id; an attachment one of ${config.PARLEY_UPLOAD_ATTACHMENT_TYPES.join(', ')}, at most ` +
        `${config.PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES} bytes, with the room_id of a room I am in (else 404 room_not_found). ` +
        `At most ${config.PARLEY_UPLOAD_SIGN_MAX} signatures per ${config.PARLEY_UPLOAD_SIGN_WINDOW_S} s per user (429). ` +
        '(2) Send the file to `upload_url` before `expires_at`. provider `local` (the embedded storage): ' +
        '`POST upload_url?<fields as query parameters>` with the raw bytes and `Content-Type: <mime_type>`, no Authorization ' +
        '(POST /api/v1/uploads/local/{upload_id}); its 201 answer carries the ready `url`. provider `cloudinary`: a ' +
        'multipart/form-data POST of `fields` plus `file` to `upload_url` (Cloudinary’s upload API); Cloudinary then notifies ' +
        'POST /api/v1/uploads/notify and the upload becomes ready. (3) Poll GET /api/v1/uploads/{id} until `status` is ' +
        '`ready`, and use its `url` exactly as given: as `avatar_url` (PATCH /api/v1/users/me) or as an attachment’s ' +
        '`url` of a message in that room (POST /api/v1/rooms/{id}/messages, or SEND_MESSAGE), by the same user. Anything ' +
        'else is 404 upload_not_found / attachment_not_found. Type and size in a message come from the upload, not the client. ' +
        '`set_avatar: true` (avatars only) makes the upload my `avatar_url` as soon as it is ready, without the PATCH ' +
        '(should that fail — the log unavailable — it stays a ready upload, and the PATCH sets it). Avatars are delivered ' +
        `as a ${config.PARLEY_AVATAR_SIZE_PX}×${config.PARLEY_AVATAR_SIZE_PX} square (local storage: resized, metadata ` +
        'removed, when the file comes; Cloudinary: a transformation URL), so the ready `url` shows that rendition.',
      body: 'UploadSignRequest',
      ok: { status: 200, description: 'Where and how to send the file.', schema: 'SignedUpload' },
      errors: [404, 429],
      codes: { 404: ['room_not_found'] },
    },
    {
      method: 'post',
      path: '/api/v1/uploads/local/:upload_id',
      tag: 'uploads',
      auth: false,
      summary: 'Step 2 with the local storage: send the file',
      description:
        'The `upload_url` of a signature with provider `local`. The signed `fields` go in the query string as issued; the ' +
        'body is the file’s bytes, `Content-Type` the signed mime_type, at most the signed `bytes`. The signature is the ' +
        'permission (no Authorization). The content must really be of that type (checked by its first bytes). One file per ' +
        'signature: a second POST is 409 upload_already_done.',
      pathParams: { upload_id: { description: 'the `upload_id` of the signature', schema: { type: 'string', format: 'uuid' } } },
      queryParams: [
        signedField('user_id', 'signed field: who signed'),
        signedField('purpose', 'signed field: avatar or attachment'),
        signedField('mime_type', 'signed field: the media type, which Content-Type must match'),
        signedField('bytes', 'signed field: the largest size accepted'),
        signedField('expires_at', 'signed field: epoch ms after which the URL is refused (403 upload_expired)'),
        signedField('signature', 'HMAC over the other fields'),
      ],
      rawBody: { contentTypes: fileTypes, schema: { type: 'string', format: 'binary' } },
      ok: {
        status: 201,
        description: 'Stored and ready: `url` is what a message or profile refers to.',
        schema: 'UploadReceived',
      },
      errors: [403, 409],
      codes: {
        400: ['empty_upload', 'validation_failed'],
        403: ['invalid_upload_signature', 'upload_expired'],
        409: ['upload_already_done', 'upload_not_accepted'],
        413: ['payload_too_large'],
        415: ['unsupported_media_type'],
      },
    },
    {
      method: 'post',
      path: '/api/v1/uploads/notify',
      tag: 'uploads',
      auth: false,
      summary: 'The storage provider’s notification that a file arrived (Cloudinary calls it; not for clients)',
      description:
        'Verified against its signature headers (X-Cld-Signature, X-Cld-Timestamp) over the raw body before anything is ' +
        'parsed; a stale, missing or wrong signature is 401 invalid_signature. Makes the upload ready (repeats are harmless).',
      rawBody: { contentTypes: ['application/json'], schema: { type: 'object' } },
      ok: { status: 200, description: 'What became of the notification.', schema: 'UploadNotifyResult' },
      errors: [401],
      codes: { 401: ['invalid_signature'] },
    },
    {
      method: 'get',
      path: '/api/v1/uploads/:id',
      tag: 'uploads',
      summary: 'Step 3: one of my uploads, and whether it is ready',
      ok: { status: 200, description: 'The upload; `url` is set once `status` is `ready`.', schema: 'Upload' },
      errors: [404],
      codes: { 404: ['upload_not_found'] },
    },
    {
      method: 'get',
      path: '/uploads/:user_id/:purpose/:file',
      tag: 'uploads',
      auth: false,
      summary: 'A stored file (local storage): what a ready upload’s `url` points at',
      description:
        'Public, cacheable for good (a new file is a new upload). Served with nosniff and a sandboxing ' +
        'Content-Security-Policy; anything but an image comes as a download (Content-Disposition: attachment).',
      pathParams: {
        purpose: { description: 'avatar or attachment', schema: { type: 'string', enum: [...uploadPurposes] } },
        file: { description: '<upload id>.<extension>', schema: { type: 'string' } },
      },
      ok: { status: 200, description: 'The file’s bytes, with its media type.', contentType: 'application/octet-stream' },
      errors: [404],
    },
  ];
}

/** Reports to the moderators. */
function reportOperations(config: Config, { pageLimit }: Context): OperationSpec[] {
  return [
    {
      method: 'post',
      path: '/api/v1/reports',
      tag: 'reports',
      summary: 'Report a message or a user',
      description:
        '`{message_id, reason}` — a message of a room I am in (any other is 404 message_not_found) — or `{user_id, reason}`. ' +
        `The reason (at most ${config.PARLEY_REPORT_REASON_MAX} characters) is for the moderators: the room's owners and admins ` +
        'for a message, global admins for everything. Reporting myself is 409 self_request.',
      body: 'ReportRequest',
      ok: { status: 201, description: 'Filed.', schema: 'FiledReport' },
      errors: COMMAND_ERRORS,
      codes: { 404: ['message_not_found', 'user_not_found'], 409: ['self_request'] },
    },
    {
      method: 'get',
      path: '/api/v1/reports',
      tag: 'reports',
      summary: 'The reports I moderate, newest first',
      description:
        'A global admin (`PARLEY_ADMINS`) sees every report; anyone else the reports of messages in rooms where they are ' +
        'owner or admin (none: an empty list). `status`: open or resolved (absent: both). Page with `before` = the previous ' +
        'page’s `next_before`.',
      query: reportInputs(config).reportsQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'A page of reports.', schema: 'ReportList' },
    },
    {
      method: 'post',
      path: '/api/v1/reports/:report_id/resolve',
      tag: 'reports',
      summary: 'Resolve a report',
      description:
        '`{resolution: "actioned" | "dismissed"}`, once: the same again changes nothing, another is 409 invalid_state. ' +
        'A report I do not moderate is 404, as if there were none.',
      body: 'ResolveReportRequest',
      ok: { status: 200, description: 'The report, resolved.', schema: 'Report' },
      errors: COMMAND_ERRORS,
      codes: { 404: ['not_found'], 409: ['invalid_state'] },
    },
  ];
}

/** One cursor over every change I may see. */
function syncOperations(config: Config): OperationSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/sync',
      tag: 'sync',
      summary: 'Every change I may see since a token, long-polled',
      description:
        'The changes of my rooms (new messages; edits, deletions and reactions of older ones; receipts; members added, ' +
        'removed, muted, promoted; pins; room updates) and my own (friend requests, friendships ended, blocks, invitations, ' +
        'thread and notification settings), in log order — ordered within a room and within a user — as `{type, data}` ' +
        'exactly like the WebSocket frames of those types; an object (message, room, request) as it stands now. Without ' +
        '`since`: no events and a token for now (take it, load state over REST, then sync from it). With `timeout_ms`, ' +
        `an empty answer waits up to that long for news (at most ${config.PARLEY_SYNC_TIMEOUT_MAX_MS} ms). \`has_more\`: ` +
        'call again at once with `next_since`. Each device keeps its own token. A token older than the feed keeps ' +
        `(\`PARLEY_SYNC_RETENTION_S\`, ${config.PARLEY_SYNC_RETENTION_S} s) is 410 \`sync_token_expired\`: resync.`,
      query: syncQuerySchema(config),
      queryIntegers: {
        timeout_ms: { minimum: 0, maximum: config.PARLEY_SYNC_TIMEOUT_MAX_MS, default: 0 },
        limit: { minimum: 1, maximum: config.PARLEY_SYNC_PAGE_MAX, default: config.PARLEY_SYNC_PAGE_DEFAULT },
      },
      ok: { status: 200, description: 'The changes, and the token to continue from.', schema: 'SyncPage' },
      errors: [410],
      codes: { 410: ['sync_token_expired'] },
    },
  ];
}

/** Web Push: the server's key and my devices' subscriptions. */
function pushOperations(config: Config): OperationSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/push/vapid-public-key',
      tag: 'push',
      auth: false,
      summary: 'The key to subscribe a device with',
      description:
        'Pass it to PushManager.subscribe as `applicationServerKey`; every push this server sends is signed with its ' +
        'private key (VAPID). It stays the same for as long as the deployment keeps its key.',
      ok: { status: 200, description: 'The VAPID public key.', schema: 'VapidPublicKey' },
    },
    {
      method: 'get',
      path: '/api/v1/push/subscriptions',
      tag: 'push',
      summary: 'My subscribed devices',
      ok: { status: 200, description: 'Oldest first.', schema: 'PushSubscriptionList' },
    },
    {
      method: 'post',
      path: '/api/v1/push/subscriptions',
      tag: 'push',
      summary: 'Subscribe a device to push',
      description:
        'The body is what a browser’s PushSubscription.toJSON() gives. While I have no socket open, each new message ' +
        'a room should notify me of (its notification setting: all, mentions, none, muted) is pushed to the device, ' +
        'encrypted to its keys: {type: "NEW_MESSAGE", chat_room_id, room: {type, name}, message_id, seq, sender: ' +
        `{id, username, display_name}, preview (at most ${config.PARLEY_PUSH_PREVIEW_CHARS} characters), mention, created_at}. ` +
        'The endpoint must be https on a known push service (FCM, Mozilla, Windows, Apple) or in ' +
        'PARLEY_PUSH_ENDPOINT_ALLOW; anything else is 400 validation_failed. The same endpoint again replaces its keys; ' +
        `beyond ${config.PARLEY_PUSH_MAX_SUBSCRIPTIONS} devices the oldest is replaced. A device its push service says ` +
        'is gone (404/410) is removed.',
      body: 'PushSubscriptionRequest',
      ok: { status: 201, description: 'Subscribed.', schema: 'PushSubscription' },
      errors: [429, 503],
    },
    {
      method: 'delete',
      path: '/api/v1/push/subscriptions',
      tag: 'push',
      summary: 'Unsubscribe a device',
      description: 'By its endpoint; one that is not subscribed changes nothing.',
      body: 'PushUnsubscribeRequest',
      ok: { status: 204, description: 'Not subscribed (any more).' },
      errors: [429, 503],
    },
  ];
}

/** Global admins (PARLEY_ADMINS): suspensions and the audit. */
function adminOperations(config: Config, { pageLimit }: Context): OperationSpec[] {
  const onlyAdmins = 'Global admins only (`PARLEY_ADMINS`); anyone else gets 403 forbidden.';
  return [
    {
      method: 'put',
      path: '/api/v1/admin/users/:user_id/suspension',
      tag: 'admin',
      summary: 'Suspend an account',
      description:
        `${onlyAdmins} Until \`until\` (epoch ms, in the future) or, without it, until lifted; \`reason\` (at most ` +
        `${config.PARLEY_SUSPENSION_REASON_MAX} characters) is shown to the account when it tries to sign in. Every session of ` +
        'the account ends at once (its sockets close; its tokens are refused) and no new one starts (403 ' +
        '`account_suspended`). Suspending again replaces the end and the reason. An admin cannot suspend themselves.',
      body: 'SuspensionRequest',
      ok: { status: 200, description: 'The suspension in force.', schema: 'Suspension' },
      errors: [403, 404, 409],
      codes: { 403: ['forbidden'], 404: ['user_not_found'], 409: ['invalid_state'] },
    },
    {
      method: 'delete',
      path: '/api/v1/admin/users/:user_id/suspension',
      tag: 'admin',
      summary: 'Lift a suspension',
      description: `${onlyAdmins} The account may sign in again; lifting one that is not in force changes nothing.`,
      ok: { status: 204, description: 'Not suspended (any more).' },
      errors: [403, 404],
      codes: { 403: ['forbidden'], 404: ['user_not_found'] },
    },
    {
      method: 'get',
      path: '/api/v1/admin/audit',
      tag: 'admin',
      summary: 'What admins did, newest first',
      description: `${onlyAdmins} Each act with its id, the admin (the nil UUID: the operator, or the system pausing a failing webhook), the account or webhook acted on, when, and a suspension's end. Page with \`before\` = the previous page’s \`next_before\`.`,
      query: adminInputs(config).auditQuery,
      queryIntegers: { limit: pageLimit },
      ok: { status: 200, description: 'A page of the audit.', schema: 'AuditList' },
      errors: [403],
      codes: { 403: ['forbidden'] },
    },
  ];
}

/** A room as it stood at a moment, folded from the log. */
function asOfOperations(config: Config, { pageLimit }: Context): OperationSpec[] {
  return [
    {
      method: 'get',
      path: '/api/v1/rooms/:id/as-of',
      tag: 'rooms',
      summary: 'The room as it was at a moment',
      description:
        'For the room’s owners and admins (a plain member gets 403 forbidden, anyone else 404) and global admins: ' +
        'its name and topic, members and roles, and messages as they stood at `t` (epoch ms, or an ISO 8601 date-time) — ' +
        'read from the log, each message with the text it had then (its last edit before `t`). What was erased since ' +
        '(a message deleted or expired later, an erased account’s edits) shows `erased: true` and no text. Messages: the ' +
        `newest \`limit\` before \`before_seq\`; page back with \`next_before_seq\`. Reads the room's log partition up to \`t\`: ` +
        `more than PARLEY_AS_OF_MAX_RECORDS (${config.PARLEY_AS_OF_MAX_RECORDS}) records is 409 invalid_state.`,
      query: asOfQuerySchema(config),
      queryIntegers: { limit: pageLimit, before_seq: { minimum: 0, maximum: Number.MAX_SAFE_INTEGER } },
      ok: { status: 200, description: 'The room as it was.', schema: 'RoomAsOf' },
      errors: [403, 404, 409],
      codes: { 403: ['forbidden'], 404: ['room_not_found'], 409: ['invalid_state'] },
    },
  ];
}

/** Bot accounts and their API tokens, for global admins. */
function botOperations(config: Config): OperationSpec[] {
  const onlyAdmins = 'Global admins only (`PARLEY_ADMINS` or `parley admin grant`); anyone else gets 403 forbidden.';
  return [
    {
      method: 'post',
      path: '/api/v1/bots',
      tag: 'bots',
      summary: 'Make a bot account',
      description:
        `${onlyAdmins} An account with no email and no password (nobody logs in as it), \`bot: true\` in its profile. ` +
        'It acts with API tokens (`POST /bots/{user_id}/tokens`): add it to rooms as anyone, and it posts over REST and ' +
        'hears its rooms on a socket (or a webhook with its room delivers them to its server).',
      body: 'CreateBotRequest',
      ok: { status: 201, description: 'The bot’s profile.', schema: 'User' },
      errors: [403, 409],
      codes: { 403: ['forbidden'], 409: ['username_taken'] },
    },
    {
      method: 'get',
      path: '/api/v1/bots',
      tag: 'bots',
      summary: 'Every bot',
      description: `${onlyAdmins} Oldest first; deleted ones left out.`,
      ok: { status: 200, description: 'The bots.', schema: 'BotList' },
      errors: [403],
      codes: { 403: ['forbidden'] },
    },
    {
      method: 'delete',
      path: '/api/v1/bots/:user_id',
      tag: 'bots',
      summary: 'Delete a bot',
      description:
        `${onlyAdmins} Its tokens are revoked and their sockets close; the account is deleted as a person’s is (profile ` +
        'erased, messages left as tombstones) and its username is free again after `PARLEY_USERNAME_COOLING_OFF_S`.',
      ok: { status: 204, description: 'Deleted.' },
      errors: [403, 404],
      codes: { 403: ['forbidden'], 404: ['user_not_found'] },
    },
    {
      method: 'post',
      path: '/api/v1/bots/:user_id/tokens',
      tag: 'bots',
      summary: 'Give a bot an API token',
      description:
        `${onlyAdmins} \`token\` (\`pbt_\` and 43 characters) is answered here only: send it as \`Authorization: Bearer\` ` +
        'or as the socket’s token. It never expires; revoke it. With `room_ids` it acts only in those rooms: other REST ' +
        'routes answer 403 `forbidden` (its rooms’ routes, `GET /users/me` and uploads excepted), its socket hears only ' +
        `their frames and may send only about them. At most \`PARLEY_BOT_TOKENS_MAX\` (${config.PARLEY_BOT_TOKENS_MAX}) ` +
        'tokens not revoked per bot.',
      body: 'BotTokenRequest',
      ok: { status: 201, description: 'The token, shown this once.', schema: 'IssuedBotToken' },
      errors: [403, 404, 409],
      codes: { 403: ['forbidden'], 404: ['user_not_found'], 409: ['invalid_state'] },
    },
    {
      method: 'get',
      path: '/api/v1/bots/:user_id/tokens',
      tag: 'bots',
      summary: 'A bot’s tokens',
      description: `${onlyAdmins} Newest first, revoked ones too; never the token.`,
      ok: { status: 200, description: 'The tokens.', schema: 'BotTokenList' },
      errors: [403, 404],
      codes: { 403: ['forbidden'], 404: ['user_not_found'] },
    },
    {
      method: 'delete',
      path: '/api/v1/bots/:user_id/tokens/:token_id',
      tag: 'bots',
      summary: 'Revoke a bot’s token',
      description: `${onlyAdmins} Refused from the next request on, on every instance; the sockets it opened close.`,
      ok: { status: 204, description: 'Revoked.' },
      errors: [403, 404],
      codes: { 403: ['forbidden'], 404: ['not_found'] },
    },
  ];
}

/** Outgoing webhooks, for global admins. */
function webhookOperations(config: Config): OperationSpec[] {
  const onlyAdmins = 'Global admins only (`PARLEY_ADMINS` or `parley admin grant`); anyone else gets 403 forbidden.';
  const adminErrors: Pick<OperationSpec, 'errors' | 'codes'> = {
    errors: [403, 404],
    codes: { 403: ['forbidden'], 404: ['not_found'] },
  };
  return [
    {
      method: 'post',
      path: '/api/v1/webhooks',
      tag: 'webhooks',
      summary: 'Subscribe an HTTP endpoint to events of the log',
      description:
        `${onlyAdmins} \`events\`: event types as the log names them (\`message_sent\`, \`user_joined_room\`…); \`room_id\`: ` +
        'only that room’s. From now on each such event is POSTed to `url`, signed ' +
        '(`X-Parley-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under `secret`), at least once, in log ' +
        'order per room, retried with a doubling wait; a receiver failing for `PARLEY_WEBHOOK_PAUSE_AFTER_MS` pauses it. ' +
        '`secret` (16 characters or more) is generated when absent and answered here only. A URL reaching a private or ' +
        'loopback address is 400 unless `PARLEY_WEBHOOK_ALLOW_PRIVATE` lists it.',
      body: 'CreateWebhookRequest',
      ok: { status: 201, description: 'Created: deliveries start with the next event.', schema: 'CreatedWebhook' },
      errors: [403, 404, 409],
      codes: { 403: ['forbidden'], 404: ['room_not_found'], 409: ['invalid_state'] },
    },
    {
      method: 'get',
      path: '/api/v1/webhooks',
      tag: 'webhooks',
      summary: 'Every webhook',
      description: `${onlyAdmins} Oldest first; never the secret.`,
      ok: { status: 200, description: 'The webhooks.', schema: 'WebhookList' },
      errors: [403],
      codes: { 403: ['forbidden'] },
    },
    {
      method: 'get',
      path: '/api/v1/webhooks/:webhook_id',
      tag: 'webhooks',
      summary: 'One webhook',
      description: onlyAdmins,
      ok: { status: 200, description: 'The webhook.', schema: 'Webhook' },
      ...adminErrors,
    },
    {
      method: 'post',
      path: '/api/v1/webhooks/:webhook_id/pause',
      tag: 'webhooks',
      summary: 'Pause deliveries',
      description: `${onlyAdmins} Its place in the log is kept: a resume delivers everything that came meanwhile.`,
      ok: { status: 200, description: 'The webhook, paused.', schema: 'Webhook' },
      ...adminErrors,
    },
    {
      method: 'post',
      path: '/api/v1/webhooks/:webhook_id/resume',
      tag: 'webhooks',
      summary: 'Resume deliveries',
      description: `${onlyAdmins} From where they stopped — for a webhook paused as failing, with the event that failed.`,
      ok: { status: 200, description: 'The webhook, active.', schema: 'Webhook' },
      ...adminErrors,
    },
    {
      method: 'post',
      path: '/api/v1/webhooks/:webhook_id/replay',
      tag: 'webhooks',
      summary: 'Deliver history again from a time',
      description:
        `${onlyAdmins} \`{from_time}\` (epoch ms): the webhook's place moves back to the first event appended at or after ` +
        'it, and everything from there is delivered again, in order; events delivered before come again with the same ' +
        '`delivery_id` (receivers de-duplicate by it). History the log no longer holds cannot be replayed.',
      body: 'ReplayWebhookRequest',
      ok: { status: 202, description: 'Replaying.', schema: 'Webhook' },
      ...adminErrors,
    },
    {
      method: 'delete',
      path: '/api/v1/webhooks/:webhook_id',
      tag: 'webhooks',
      summary: 'Delete a webhook',
      description: `${onlyAdmins} Nothing more is delivered; its URL, sealed in the log, can no longer be read there.`,
      ok: { status: 204, description: 'Deleted.' },
      ...adminErrors,
    },
    {
      method: 'get',
      path: '/api/v1/webhooks/:webhook_id/deliveries',
      tag: 'webhooks',
      summary: 'What the receiver answered, newest first',
      description:
        `${onlyAdmins} One row per attempt: the event (\`delivery_id\` = \`<partition>-<offset>\`), the attempt's number, ` +
        `the HTTP status (null: no answer) or error, and its time; the newest ${config.PARLEY_WEBHOOK_DELIVERY_LOG_MAX} are kept.`,
      query: webhookInputs(config).deliveriesQuery,
      queryIntegers: {
        limit: {
          minimum: 1,
          maximum: config.PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX,
          default: config.PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX,
        },
      },
      ok: { status: 200, description: 'The latest attempts.', schema: 'WebhookDeliveryList' },
      ...adminErrors,
    },
  ];
}

export function operationSpecs(config: Config): OperationSpec[] {
  const shared = context(config);
  return [
    ...metaOperations(),
    ...authOperations(config),
    ...userOperations(shared),
    ...socialOperations(shared),
    ...roomOperations(config, shared),
    ...uploadOperations(config),
    ...syncOperations(config),
    ...pushOperations(config),
    ...reportOperations(config, shared),
    ...adminOperations(config, shared),
    ...webhookOperations(config),
    ...botOperations(config),
    ...asOfOperations(config, shared),
  ];
}
