// Environment → typed configuration, in one place. Every limit, size, rate and
// timeout the service enforces is named here with its default and the reason
// for it; modules receive the values they need from compose.ts.

import path from 'node:path';
import { z } from 'zod';
import { withGoServiceAliases } from './config-aliases.ts';
import { mediaTypeNames } from './media-types.ts';
import { parseTrustedProxies } from './trusted-proxies.ts';

/** Defaults the modules that take these settings fall back on when called without them (tests). */
export const DEFAULT_VERIFIED_TOKENS = 10_000;
export const DEFAULT_STALLED_TRANSACTION_S = 10;

/** A comma-separated setting as its trimmed, lower-cased, non-empty entries. */
const lowerCaseList = (value: string): string[] =>
  value
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
const int = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A comma-separated list of media types, each one the storage adapters know how to handle. */
const mediaTypeList = (fallback: readonly string[]) =>
  z
    .string()
    .default(fallback.join(','))
    .transform((value) =>
      value
        .split(',')
        .map((type) => type.trim().toLowerCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(mediaTypeNames)).min(1));

const imageTypes = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

const roles = ['api', 'gateway', 'processor', 'projector', 'pusher', 'webhooks'] as const;
export type Role = (typeof roles)[number];
/** Every role; PARLEY_ROLES's default. */
export const allRoles: readonly Role[] = roles;

const schema = z.object({
  /**
   * Behind reverse proxies: which X-Forwarded-For entries name the client (the
   * key of every per-IP limit) — `false`, a hop count (`true` = 1), or the
   * proxies' addresses and networks (http/client-ip.ts).
   */
  PARLEY_TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, ctx) => {
      try {
        return parseTrustedProxies(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  PARLEY_DATA_DIR: z.string().default('./data'),
  KAFKA_BROKERS: z.string().optional(),
  /**
   * How long a silent consumer keeps its partitions before the group gives them
   * to another instance: the time a crashed processor blocks its rooms.
   */
  PARLEY_KAFKA_SESSION_TIMEOUT_MS: int(30_000),
  /**
   * How long a request to a broker may go unanswered before its connection is
   * dropped and the request retried on a new one (a half-open connection
   * answers nothing, ever); also how long a broker waits for the in-sync
   * replicas of a write. Past PARLEY_COMMAND_TIMEOUT_MS the client has its 503.
   */
  PARLEY_KAFKA_REQUEST_TIMEOUT_MS: int(10_000),
  /** Replicas per topic at creation; -1 takes the broker's default (use 3 in production). */
  PARLEY_KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(-1).default(-1),
  /** min.insync.replicas at creation (2 with 3 replicas): acks=all then means two copies. */
  PARLEY_KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().positive().optional(),
  /**
   * At start Parley refuses topics with fewer replicas than asked, a partition
   * out of sync, or a min.insync.replicas below the one asked or above the
   * replicas (src/log/kafka/replication.ts). true: warn and start anyway — for
   * development, or to start knowingly while a broker is down.
   */
  PARLEY_KAFKA_ALLOW_UNDER_REPLICATED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((value) => value === 'true'),
  /** Prefix of Parley's topics and consumer groups, so deployments can share a cluster. */
  PARLEY_LOG_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/)
    .default(''),
  DATABASE_URL: z.string().optional(),
  /**
   * A MySQL connection whose statement gets no byte back for this long is
   * dropped (half-open: the server or a middlebox lost it silently) and the
   * statement fails; the next one gets a new connection. Keep it above the
   * slowest statement a server runs. 0: never (operator commands never do).
   */
  PARLEY_DB_SILENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * MySQL: an instance silent this long inside a read-model transaction (frozen,
   * paused, cut off) is dropped by the server, which releases its row locks so
   * the projector that took its partitions over can go on.
   */
  PARLEY_MYSQL_STALLED_TRANSACTION_S: int(DEFAULT_STALLED_TRANSACTION_S),
  REDIS_URL: z.string().optional(),
  /** Prefix of every Redis key and channel, so deployments (or test runs) can share one Redis. */
  /**
   * A Redis connection with a command outstanding and no byte back for this
   * long is dead (half-open: Redis or a middlebox lost it silently): it is
   * dropped, its commands fail, and it reconnects. Redis answers in
   * microseconds; without this a half-open connection waits forever.
   */
  PARLEY_REDIS_SOCKET_TIMEOUT_MS: int(3_000),
  PARLEY_REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._:-]*$/)
    .default('parley:'),
  /**
   * With Redis: how long a room's membership and details stay cached
   * (infra/read-cache.ts). A projector's batch voids what it changes at once;
   * this bounds only the memory an idle room's answers hold. 0 = no read
   * cache: reads from the database, and projectors independent of Redis.
   * The same on every instance (a projector without the cache voids nothing).
   */
  PARLEY_READ_CACHE_TTL_S: z.coerce.number().int().min(0).default(300),
  /**
   * How long a projector's batch may stay between its fence and its release
   * before its pending mark expires (a projector that died mid-batch must
   * not stop caching for good). Above the slowest batch transaction.
   */
  PARLEY_READ_CACHE_FENCE_TTL_MS: int(60_000),
  SCHEMA_REGISTRY_URL: z.string().optional(),
  CLOUDINARY_URL: z.string().optional(),
  PARLEY_ROLES: z
    .string()
    .default(roles.join(','))
    .transform((value) =>
      value
        .split(',')
        .map((role) => role.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(roles)).min(1)),
  /** Issuer and audience of access tokens; must match between instances. */
  PARLEY_JWT_ISSUER: z.string().default('parley'),
  PARLEY_JWT_AUDIENCE: z.string().default('parley-api'),
  /**
   * RS256 private key (PEM, PKCS#8 or PKCS#1, or a JWK as JSON) that signs access
   * tokens. Set the same key on every instance that issues or verifies tokens;
   * when absent, the key in <PARLEY_DATA_DIR>/jwt-signing-key.json is used,
   * generated on first start (fine for one instance). Never logged.
   */
  PARLEY_JWT_PRIVATE_KEY: z.string().optional(),
  /** Short-lived access tokens (ASVS: ≤ 15 min) limit the damage of a leaked one. */
  PARLEY_ACCESS_TTL_S: int(900),
  /**
   * Access tokens remembered as verified, so a token presented again costs a
   * hash instead of an RS256 check (~130 µs); never past the token's expiry.
   * 0 turns it off.
   */
  PARLEY_VERIFIED_TOKENS: z.coerce.number().int().min(0).default(DEFAULT_VERIFIED_TOKENS),
  /** Refresh token idle lifetime: unused for this long, the session ends. */
  PARLEY_REFRESH_IDLE_TTL_S: int(7 * 24 * 3600),
  /** Refresh token absolute lifetime: the whole family ends after this, used or not. */
  PARLEY_REFRESH_ABSOLUTE_TTL_S: int(30 * 24 * 3600),
  /** bcrypt work factor; 12 keeps a hash around 200 ms here. Tests lower it. */
  PARLEY_BCRYPT_COST: z.coerce.number().int().min(4).max(15).default(12),
  /** Partitions of every topic, fixed at creation (co-partitioning needs one count). */
  PARLEY_PARTITIONS: int(12),
  /** How long the commands topic keeps records (they are consumed within seconds). */
  PARLEY_COMMANDS_RETENTION_MS: int(24 * 3600 * 1000),
  /** Signals (typing, presence) are ephemeral. */
  PARLEY_SIGNALS_RETENTION_MS: int(3600 * 1000),
  /**
   * Messages a gateway keeps so a SEND_MESSAGE's ACK can be answered from the
   * event stream (each is needed for a few ms, until its ACK has gone).
   */
  PARLEY_GATEWAY_ACK_MESSAGES: int(2_000),
  /**
   * How late the direct-rooms process manager may see a friendship accepted
   * or a block: it reads what gathered once per this interval instead of once
   * per event (ConsumeOptions.maxDelayMs). 0: each event as soon as it is
   * appended. Default: see gatheredReadDelayMs.
   */
  PARLEY_PROCESS_MANAGER_READ_DELAY_MS: z.coerce.number().int().min(0).optional(),
  /**
   * How late the webhook dispatcher may learn that events were appended (its
   * consumer only wakes the webhooks' cursors): it reads what gathered once
   * per this interval instead of once per event. Deliveries start up to this
   * much later; a delete or pause still stops them at once (each attempt
   * checks). 0: at once. Default: see gatheredReadDelayMs.
   */
  PARLEY_WEBHOOK_READ_DELAY_MS: z.coerce.number().int().min(0).optional(),
  /**
   * How late the pusher may read new messages: it reads what gathered once
   * per this interval instead of once per event. Pushes go out up to this
   * much later; who gets one is judged as the message was sent either way
   * (push/notify-rules.ts). 0: at once. Default: see gatheredReadDelayMs.
   */
  PARLEY_PUSH_READ_DELAY_MS: z.coerce.number().int().min(0).optional(),
  /** A command's outcome must arrive within this or the client gets 503 (it may retry). */
  PARLEY_COMMAND_TIMEOUT_MS: int(10_000),
  /** On SIGTERM, requests in flight get this long to finish before connections are cut. */
  PARLEY_SHUTDOWN_GRACE_MS: int(5_000),
  /** Bounded wait of a response for the read model to reach its command's events. */
  PARLEY_READ_YOUR_WRITES_TIMEOUT_MS: int(5_000),
  /** REST request bodies above this are refused with 413 before parsing. */
  PARLEY_MAX_BODY_BYTES: int(64 * 1024),
  /** WebSocket frames above this close the socket with 1009 (ws `maxPayload`). */
  PARLEY_MAX_FRAME_BYTES: int(64 * 1024),
  /** Message content limit, counted in Unicode code points. */
  PARLEY_MAX_MESSAGE_CHARS: int(4000),
  PARLEY_MAX_ROOM_NAME_CHARS: int(100),
  PARLEY_MAX_ROOM_MEMBERS_ON_CREATE: int(500),
  PARLEY_MAX_ATTACHMENTS: int(10),
  /** Pinned messages a room may hold (more → 409 too_many_pins: unpin one first). */
  PARLEY_MAX_PINS: int(50),
  /** Default and maximum page length of list endpoints. */
  PARLEY_PAGE_DEFAULT: int(50),
  PARLEY_PAGE_MAX: int(100),
  /** Default and maximum changes one GET /api/v1/sync answer carries. */
  PARLEY_SYNC_PAGE_DEFAULT: int(100),
  PARLEY_SYNC_PAGE_MAX: int(500),
  /** The longest GET /api/v1/sync may wait for news (its timeout_ms). */
  PARLEY_SYNC_TIMEOUT_MAX_MS: int(30_000),
  /** How long the sync feed keeps changes: an older token answers 410 sync_token_expired (7 days). */
  PARLEY_SYNC_RETENTION_S: int(7 * 24 * 3600),
  /** How often the projector prunes the sync feed. */
  PARLEY_SYNC_PRUNE_INTERVAL_MS: int(60_000),
  /** Messages replayed after JOIN_ROOM's since_seq before the client must page over REST. */
  PARLEY_REPLAY_MAX: int(500),
  /** WS frames per second a socket may send (token bucket), and its burst. */
  PARLEY_WS_RATE_PER_S: int(20),
  PARLEY_WS_RATE_BURST: int(60),
  /** Frames refused for rate before the socket is closed with 1008. */
  PARLEY_WS_RATE_STRIKES: int(20),
  /** Sockets one user may hold open at once. */
  PARLEY_WS_MAX_SOCKETS_PER_USER: int(10),
  /**
   * The server pings every socket this often; one that answers no ping for
   * PARLEY_WS_MAX_MISSED_PONGS intervals is dropped (a silent client — a phone
   * that lost its network — would otherwise stay "online" until its token expired).
   */
  PARLEY_WS_PING_INTERVAL_MS: int(30_000),
  PARLEY_WS_MAX_MISSED_PONGS: int(2),
  /**
   * Sockets one client IP may hold open before they authenticate: an
   * unauthenticated socket costs memory and a timer, and cannot be charged to a user.
   */
  PARLEY_WS_MAX_UNAUTHENTICATED_PER_IP: int(20),
  /**
   * Sockets this gateway sets up at once (token checked, rooms and presence
   * loaded); one more is refused with 503 and Retry-After until some finish.
   * A reconnect storm — another gateway died and its clients all come here —
   * then waits in the clients' back-off, not in this process's memory, and
   * the sockets already connected keep their stream.
   */
  PARLEY_WS_MAX_CONNECTING: int(256),
  /** Seconds a socket refused as busy is told to wait (Retry-After; clients add jitter). */
  PARLEY_WS_BUSY_RETRY_AFTER_S: int(1),
  /**
   * Browser origins allowed to call the API and open sockets from another
   * origin (`https://app.example.com,https://admin.example.com`). Unset: same
   * origin only — no CORS headers, and a socket whose Origin is another site's
   * is refused (native clients send no Origin and are always allowed). For a
   * socket, the same origin is PARLEY_PUBLIC_URL's when set, else the origin
   * whose host is the request's Host (gateway/upgrade.ts says why).
   */
  PARLEY_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ }).transform((origin) => new URL(origin).origin))),
  /**
   * Global admins: comma-separated usernames. They suspend accounts and read
   * the audit (GET /api/v1/admin/audit). Names are compared as registered
   * (NFKC, lower case); an admin whose account is deleted is none any more.
   */
  PARLEY_ADMINS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim().normalize('NFKC').toLowerCase())
        .filter(Boolean),
    ),
  /** The longest text of a suspension's reason. */
  PARLEY_SUSPENSION_REASON_MAX: int(1000),
  /**
   * The pre-send hook (commands/presend-hook.ts): an HTTP endpoint asked before
   * every message is sent or edited, which may let it through, refuse it or
   * rewrite its text. Unset: no hook. The secret, when set, signs each call
   * (X-Parley-Signature); on a timeout or a broken answer the message goes
   * through (`open`) or is refused with 503 (`closed`).
   */
  PARLEY_PRESEND_HOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  PARLEY_PRESEND_HOOK_SECRET: z.string().optional(),
  PARLEY_PRESEND_HOOK_TIMEOUT_MS: int(1_000),
  PARLEY_PRESEND_HOOK_ON_FAILURE: z.enum(['open', 'closed']).default('open'),
  /** The longest reason a report may give (characters). */
  PARLEY_REPORT_REASON_MAX: int(1000),
  /** How long a client may take to send a request's headers (slowloris). */
  PARLEY_HTTP_HEADERS_TIMEOUT_MS: int(10_000),
  /** How long a client may take to send a whole request, body included (a trickled body). */
  PARLEY_HTTP_REQUEST_TIMEOUT_MS: int(30_000),
  /** An idle keep-alive connection is closed after this. */
  PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS: int(5_000),
  /**
   * Connections the kernel queues for the server to accept (listen backlog;
   * Linux caps it at net.core.somaxconn). Node's default, 511, overflows when
   * the clients of a dead gateway reconnect at once: the kernel then drops
   * their handshakes and each client waits out TCP's retransmissions (1, 2, 4 …
   * s; a 5,000-socket storm here took ~112 s instead of ~41). A longer queue
   * holds them until the event loop accepts, and sheds them (503) if need be.
   */
  PARLEY_HTTP_LISTEN_BACKLOG: int(4_096),
  /**
   * Open TCP connections (HTTP and WebSocket) one client IP may hold; more are
   * cut at once. Not applied behind a proxy (PARLEY_TRUST_PROXY), where every
   * connection comes from the proxy and the proxy limits its clients.
   */
  PARLEY_MAX_CONNECTIONS_PER_IP: int(256),
  /** Milliseconds a socket has to send AUTH when no token was on the URL. */
  PARLEY_WS_AUTH_TIMEOUT_MS: int(5_000),
  /** Bytes buffered for a slow socket before it is dropped (it resumes with since_seq). */
  PARLEY_WS_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024),
  /**
   * A connecting socket hears live the room messages appended after it
   * connected; older ones come from JOIN_ROOM. The gateway asks the events log
   * where it ends; past this wait it starts the socket where its own stream is
   * (a client that lagged behind elsewhere may then hear a message twice).
   */
  PARLEY_WS_LOG_END_TIMEOUT_MS: int(2_000),
  /**
   * Password guessing is slowed per (account, client IP): that many failures are
   * free, then each further one starts a delay (first, doubling, at most max)
   * during which that pair gets 429. Keyed by the pair, never by the account
   * alone, so that nobody can lock an owner out from another IP (issue 11).
   */
  PARLEY_LOGIN_FREE_FAILURES: int(5),
  PARLEY_LOGIN_FIRST_DELAY_S: int(1),
  PARLEY_LOGIN_MAX_DELAY_S: int(900),
  /** A pair's failures are forgotten this long after its last one (or at its next success). */
  PARLEY_LOGIN_FAILURE_MEMORY_S: int(24 * 3600),
  /**
   * Failed logins per client IP in a window, across all accounts (credential
   * stuffing), before 429; successful ones do not count.
   */
  PARLEY_LOGIN_MAX_FAILURES_PER_IP: int(50),
  PARLEY_LOGIN_WINDOW_S: int(300),
  /** Registrations per IP per window. */
  PARLEY_REGISTER_MAX_PER_IP: int(20),
  PARLEY_REGISTER_WINDOW_S: int(3600),
  /**
   * Commands one user may give per window, by class (src/commands/command-rate-limits.ts
   * maps each command to its class). One budget per user and class, counted
   * wherever the command arrives — REST or any socket, on any instance (in
   * Redis when REDIS_URL is set) — so more sockets or instances buy no more;
   * beyond it, 429 / ERROR `rate_limited` with the seconds to wait. Sized for a
   * quick person on a few devices at once, far below what a script sends.
   *
   * Messages: 60 per 10 s is six a second sustained, several times a fast
   * typist, and leaves room for a burst of pasted lines or a bridge/bot.
   */
  PARLEY_RATE_MESSAGES_MAX: int(60),
  PARLEY_RATE_MESSAGES_WINDOW_S: int(10),
  /** Edits and deletes of messages: fixing typos and clearing up a thread, never dozens a second. */
  PARLEY_RATE_EDITS_MAX: int(30),
  PARLEY_RATE_EDITS_WINDOW_S: int(10),
  /** Reactions (add or remove): tapping through a conversation is quick, so twice the message budget. */
  PARLEY_RATE_REACTIONS_MAX: int(120),
  PARLEY_RATE_REACTIONS_WINDOW_S: int(10),
  /**
   * Rooms: creating one (group or direct), renaming it, adding, removing or
   * re-ranking members. Setting a room up by hand — create, name, a dozen
   * people one by one — fits in a minute; a script creating rooms to pull
   * strangers into them does not get far. (Members listed at creation are one command.)
   */
  PARLEY_RATE_ROOMS_MAX: int(20),
  PARLEY_RATE_ROOMS_WINDOW_S: int(60),
  /** Friend requests sent: a person adds the few people they just met; a spammer wants thousands. */
  PARLEY_RATE_FRIEND_REQUESTS_MAX: int(20),
  PARLEY_RATE_FRIEND_REQUESTS_WINDOW_S: int(60),
  /**
   * Every other command a client gives (read receipts, answers to friend
   * requests, unfriend, block, profile changes). Read receipts are the bulk:
   * a client that marks each message it shows is within 6 a second; a refused
   * receipt loses nothing, the next one moves the marker past it.
   */
  PARLEY_RATE_OTHER_MAX: int(60),
  PARLEY_RATE_OTHER_WINDOW_S: int(10),
  /**
   * Most hits of a user's command budget an instance reserves from the shared
   * counter at once (Redis, when distributed), so that not every command waits
   * for a round trip to it before it is decided: a user's first command of a
   * window reserves one, each further reservation twice the last, up to this
   * (and at most an eighth of the budget). Hits reserved and not spent on one
   * instance are not available to the same user's commands on another until
   * the window ends. 1: every command is counted at the counter.
   */
  PARLEY_RATE_LEASE_HITS: int(8),
  /** Command ids remembered per aggregate for dedup of retries. */
  PARLEY_RECENT_COMMANDS: int(1000),
  /**
   * The processor snapshots a partition once this many events were applied
   * since its last snapshot (commands/snapshots.ts): a processor taking the
   * partition over reads at most about this many events besides the
   * snapshot. Lower: faster takeovers, more writes.
   */
  PARLEY_SNAPSHOT_EVERY_EVENTS: int(10_000),
  /**
   * A room's messages the processor keeps in memory after a snapshot (the
   * newest it has seen, and every pinned one); an older one is read from the
   * snapshot when a command needs it (an edit, a reaction, a reply).
   */
  PARLEY_SNAPSHOT_HOT_MESSAGES: int(1_000),
  /**
   * true: a command whose partition this process's processor owns is decided
   * in-process, without crossing the commands and outcomes topics
   * (commands/local-decisions.ts) — every command when embedded. false: every
   * command crosses the commands topic (the design as first described).
   */
  PARLEY_DECIDE_LOCALLY: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  /** A socket's presence lease; its gateway renews it every third of this. */
  PARLEY_PRESENCE_LEASE_MS: int(30_000),
  /** A TYPING indicator stops by itself after this without a refresh. */
  PARLEY_TYPING_TTL_MS: int(6_000),
  /** Results of a search. */
  PARLEY_SEARCH_MAX: int(50),
  /** Largest batch a projector applies in one transaction. */
  PARLEY_PROJECTION_BATCH: int(500),
  /**
   * How late the projectors may read appended events (ConsumeOptions.maxDelayMs):
   * they read what gathered once per this interval, so each read-model
   * transaction holds more events, and a REST command, which answers once its
   * event is projected (read-your-writes), answers up to this much later.
   * Distributed core at 200 msg/s, 20 ms: 15 % less CPU per message, a REST
   * message's response p50 15 → 30 ms on a quiet instance (bench/README).
   * 0: each event as soon as it is appended.
   */
  PARLEY_PROJECTION_READ_DELAY_MS: z.coerce.number().int().min(0).default(0),
  /**
   * Tries of one record whose rows the read-model database refuses (a data or
   * constraint error, projections/poison.ts) before it is parked as a poison
   * event and its partition halts. A few, so that a refusal caused by a
   * passing state is not parked; an outage (no answer at all) never parks.
   */
  PARLEY_POISON_MAX_ATTEMPTS: int(3),
  /** Wait between those tries. */
  PARLEY_POISON_RETRY_BACKOFF_MS: int(200),
  /**
   * The origin clients reach this server at (`https://chat.example.com`). Links
   * in mail (password reset, email confirmation), local storage's upload and
   * file URLs, and Cloudinary's notification URL are built from it. Unset, they
   * point at the address this process listens on (`publicOrigin` below): fine
   * for one machine, set it anywhere else (required with Cloudinary). Never from
   * a request's Host header, which the client chooses: a forged one would put
   * an attacker's host into stored URLs and mailed links.
   */
  PARLEY_PUBLIC_URL: z
    .url({ protocol: /^https?$/ })
    .transform((value) => value.replace(/\/+$/, ''))
    .optional(),
  /** Media types a user may upload as an avatar: images only, never SVG (script). */
  PARLEY_UPLOAD_AVATAR_TYPES: mediaTypeList(imageTypes),
  /** Media types a user may attach to a message. */
  PARLEY_UPLOAD_ATTACHMENT_TYPES: mediaTypeList([...imageTypes, 'application/pdf', 'text/plain', 'audio/mpeg', 'video/mp4']),
  /** Largest avatar, in bytes. */
  PARLEY_UPLOAD_AVATAR_MAX_BYTES: int(2 * 1024 * 1024),
  /**
   * Avatars are shown as a square of this many pixels: the local store resizes
   * the file when it comes (sharp), Cloudinary delivers a transformation URL.
   */
  PARLEY_AVATAR_SIZE_PX: int(256),
  /** Largest attachment, in bytes. The local adapter holds one upload in memory while it checks it. */
  PARLEY_UPLOAD_ATTACHMENT_MAX_BYTES: int(25 * 1024 * 1024),
  /** How long a signed local upload URL stays usable. Cloudinary fixes its own at 1 h from the signed timestamp. */
  PARLEY_UPLOAD_TTL_S: int(15 * 60),
  /** Upload signatures one user may request per window, before 429 (reliability plan J8: ≤ 30/min). */
  PARLEY_UPLOAD_SIGN_MAX: int(30),
  PARLEY_UPLOAD_SIGN_WINDOW_S: int(60),
  /**
   * A storage notification whose signed timestamp is further than this from now
   * (either way) is refused as stale, so a captured one cannot be replayed later
   * (J3: ≤ 10 min; Cloudinary's SDK default of 2 h is looser than we want).
   */
  PARLEY_UPLOAD_NOTIFY_MAX_AGE_S: z.coerce.number().int().positive().max(600).default(600),
  /**
   * How long a process keeps a data key it fetched (src/privacy/vault.ts): one
   * key-store read serves a message's send, projection and delivery. A key
   * destroyed elsewhere may still open values in memory here this long; it is
   * gone from storage at once.
   */
  PARLEY_KEY_CACHE_TTL_MS: int(60_000),
  /** Data keys a process keeps at most (about 100 bytes each). */
  PARLEY_KEY_CACHE_SIZE: int(20_000),
  /**
   * Message keys a process reads along with one it lacks: those of the
   * messages sent after it (privacy/key-store.ts fetchKeysAhead), so an
   * instance that did not seal them reads keys once per this many messages,
   * not once per message. At most PARLEY_KEY_CACHE_SIZE; 0: none.
   */
  PARLEY_KEY_READ_AHEAD: z.coerce.number().int().min(0).default(256),
  /**
   * Message keys each serving process stores ahead of time (privacy/message-keys.ts):
   * a send writes nothing to the key store, and while the store is unreachable
   * this many messages can still be sent.
   */
  PARLEY_MESSAGE_KEYS_AHEAD: int(2_000),
  /**
   * Values this process sealed last that stay known in the clear, so its own
   * projector and gateway need not decrypt the messages it just sealed
   * (privacy/vault.ts; the key store still decides erasure). 0: none. Memory:
   * a few hundred KB for chat-sized messages, ~30 MB if all are the longest.
   */
  PARLEY_VAULT_RECENT_SEALS: int(1_024),
  /**
   * Embedded mode: how often the projector checks whether keys were destroyed
   * and, if so, scrubs SQLite's files (privacy/scrubber.ts): the longest an
   * erased message's bytes may stay in the -wal file or the search index.
   */
  PARLEY_ERASURE_SCRUB_INTERVAL_MS: int(5_000),
  /**
   * Embedded mode: how often a worker thread checkpoints each SQLite file's
   * WAL into the database file (store/wal-checkpointer.ts), so commits on the
   * event loop never stall for one.
   */
  PARLEY_SQLITE_CHECKPOINT_INTERVAL_MS: int(250),
  /**
   * The least time between two durable writes of the log (as a Kafka
   * producer's linger.ms, 5 ms by default since Kafka 4.0): on the embedded
   * log between two fsync'd commits, on Kafka between two produce requests.
   * An append that comes sooner waits out the rest and shares the next write,
   * so under load every consumer downstream reads several messages per wake-up
   * or fetch instead of one. Costs up to this much latency, and only when
   * writes are that close together (bench/README, fixes 23 and 24).
   * 0: every append is written at once.
   */
  PARLEY_LOG_LINGER_MS: z.coerce.number().int().min(0).default(5),
  /**
   * Messages older than this many days are erased everywhere (docs/PRIVACY.md,
   * "Retention"); unset: kept forever, unless a room's owner sets a shorter
   * limit. Fractions are allowed (0.5 = 12 hours).
   */
  PARLEY_MESSAGE_RETENTION_DAYS: z.coerce.number().positive().optional(),
  /** The longest retention an owner may give a room (100 years). */
  PARLEY_MAX_RETENTION_DAYS: int(36_500),
  /** The longest mute an owner or admin may give (30 days; longer is a ban). */
  PARLEY_MAX_MUTE_S: int(2_592_000),
  /** How far ahead a member may silence a room's notifications (`muted_until`; a year — longer is level 'none'). */
  PARLEY_MAX_NOTIFICATION_MUTE_S: int(31_536_000),
  /**
   * Web Push (push/): the VAPID private key (RFC 8292, P-256) that signs every
   * push, base64url as `web-push generate-vapid-keys` prints it; its public
   * key follows from it. Set the same key on every instance (clients subscribe
   * with its public key); when absent, <PARLEY_DATA_DIR>/vapid-private-key is
   * used, generated on first start. Never logged.
   */
  PARLEY_VAPID_PRIVATE_KEY: z.string().optional(),
  /** Who runs this server, for the push services (RFC 8292 `sub`): a mailto: or https: URL. */
  PARLEY_VAPID_SUBJECT: z
    .string()
    .regex(/^(mailto:|https:\/\/)/)
    .default('mailto:push@parley.invalid'),
  /**
   * Push endpoints allowed beside the known push services' https hosts: hosts
   * (`push.internal`, `127.0.0.1`) or origins (`http://127.0.0.1:8080`), comma
   * separated — for tests and private deployments. Listed endpoints may be
   * http and private addresses; nothing else may (push/endpoint-policy.ts).
   */
  PARLEY_PUSH_ENDPOINT_ALLOW: z.string().default('').transform(lowerCaseList),
  /** Devices one account may subscribe; a new one beyond it replaces the oldest. */
  PARLEY_PUSH_MAX_SUBSCRIPTIONS: int(10),
  /** Characters of a message shown in its push (the rest is cut, with an ellipsis). */
  PARLEY_PUSH_PREVIEW_CHARS: int(140),
  /** How long a push service keeps an undelivered push (TTL header); older events are not pushed at all. */
  PARLEY_PUSH_TTL_S: int(86_400),
  /** One push request's deadline. */
  PARLEY_PUSH_TIMEOUT_MS: int(10_000),
  /** Tries per push (429, 5xx, network errors), the wait doubling from PARLEY_PUSH_RETRY_BACKOFF_MS. */
  PARLEY_PUSH_MAX_ATTEMPTS: int(5),
  PARLEY_PUSH_RETRY_BACKOFF_MS: int(1_000),
  /** Push requests one pusher has in flight at most. */
  PARLEY_PUSH_CONCURRENCY: int(16),
  /**
   * Outgoing webhooks (webhooks/): private addresses a webhook may reach,
   * as hosts (`hooks.internal`, `127.0.0.1`) or origins
   * (`http://10.0.0.5:8080`), comma separated. Nothing else may resolve to a
   * loopback, private, link-local or reserved address (checked after DNS).
   */
  PARLEY_WEBHOOK_ALLOW_PRIVATE: z.string().default('').transform(lowerCaseList),
  /** Webhooks a deployment may have (409 `invalid_state` beyond). */
  PARLEY_WEBHOOK_MAX: int(100),
  /** One delivery's deadline: a receiver slower than this has failed that attempt. */
  PARLEY_WEBHOOK_TIMEOUT_MS: int(10_000),
  /** A failed delivery is tried again after this, doubling each time up to PARLEY_WEBHOOK_RETRY_MAX_MS. */
  PARLEY_WEBHOOK_RETRY_BACKOFF_MS: int(1_000),
  PARLEY_WEBHOOK_RETRY_MAX_MS: int(300_000),
  /** A receiver failing without a success for this long gets its webhook paused (24 h); a resume goes on where it stopped. */
  PARLEY_WEBHOOK_PAUSE_AFTER_MS: int(86_400_000),
  /** Delivery attempts kept per webhook (GET /webhooks/:id/deliveries); older ones are dropped. */
  PARLEY_WEBHOOK_DELIVERY_LOG_MAX: int(1_000),
  /** Deliveries one page of GET /webhooks/:id/deliveries lists at most (and by default). */
  PARLEY_WEBHOOK_DELIVERIES_PAGE_MAX: int(100),
  /** How often the dispatcher rereads the webhooks (new, paused, resumed, replayed, deleted). */
  PARLEY_WEBHOOK_REFRESH_MS: int(1_000),
  /** The longest secret an admin may give a webhook (its shortest: 16 characters). */
  PARLEY_WEBHOOK_SECRET_MAX: int(256),
  /** The longest webhook URL. */
  PARLEY_WEBHOOK_URL_MAX: int(2_048),
  /** API tokens one bot may hold at once, not counting revoked ones (409 `invalid_state` beyond). */
  PARLEY_BOT_TOKENS_MAX: int(20),
  /** Rooms one bot token may be limited to. */
  PARLEY_BOT_TOKEN_ROOMS_MAX: int(100),
  /**
   * How precisely a bot token's last use is kept (seconds): its row is written
   * at most this often, not on every request.
   */
  PARLEY_BOT_TOKEN_USE_RESOLUTION_S: int(60),
  /** The longest name an admin may give a bot token (characters; at most 200). */
  PARLEY_BOT_TOKEN_NAME_MAX: z.coerce.number().int().positive().max(200).default(100),
  /** The most log records one GET /rooms/:id/as-of reads (the room's partition up to the moment); past it: 409. */
  PARLEY_AS_OF_MAX_RECORDS: int(2_000_000),
  /** The longest slow-mode interval a room may set (6 hours). */
  PARLEY_MAX_SLOW_MODE_S: int(21_600),
  /** How often the processor looks for messages past their retention and erases them. */
  PARLEY_RETENTION_SWEEP_INTERVAL_MS: int(60_000),
  /** How long a password-reset link works. */
  PARLEY_PASSWORD_RESET_TTL_S: int(3600),
  /** Reset requests per IP per window (429 beyond), and mails per address per window (silently none beyond). */
  PARLEY_PASSWORD_RESET_MAX_PER_IP: int(10),
  PARLEY_PASSWORD_RESET_MAX_PER_EMAIL: int(3),
  PARLEY_PASSWORD_RESET_WINDOW_S: int(3600),
  /** How long an email-confirmation link works (2 days). */
  PARLEY_EMAIL_CONFIRMATION_TTL_S: int(2 * 86_400),
  /** SMTP server for mail (`smtp://user:pass@host:587`, `smtps://…:465`); unset: mail goes to <data dir>/mail and the log. */
  PARLEY_SMTP_URL: z.string().optional(),
  /** The From of Parley's mail. */
  PARLEY_MAIL_FROM: z.string().default('Parley <no-reply@localhost>'),
  /**
   * A deleted account's username may be registered again after this (30 days):
   * long enough that nobody can pose as its owner to those who knew them.
   */
  PARLEY_USERNAME_COOLING_OFF_S: int(30 * 86_400),
  /**
   * GET /metrics (Prometheus). It tells how busy the service is and which
   * routes are used, no personal data; `off` removes the route where the
   * scraper cannot be kept to a private network.
   */
  PARLEY_METRICS: z.enum(['on', 'off']).default('on'),
  /** The demo web client at `/` (web/demo/); off leaves `/` to a deployment's own app. */
  PARLEY_DEMO: z.enum(['on', 'off']).default('on'),
  /**
   * When set, /metrics answers only `Authorization: Bearer <token>` (401
   * otherwise): for a port the internet reaches. Long enough not to be guessed.
   */
  PARLEY_METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /**
   * How long a reading of the lags (the log's end offsets, the projections'
   * offsets) is reused: several scrapers, or one scraping often, cost one
   * read of Kafka and the database.
   */
  PARLEY_METRICS_LAG_CACHE_MS: int(1_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = Omit<z.infer<typeof schema>, 'PARLEY_DATA_DIR'> & { PARLEY_DATA_DIR: string };

/** Parses the environment; an invalid value stops the process with a clear message. */
/**
 * Settings that no longer exist, and what took their place. One still set is an
 * operator's intent that would otherwise be ignored without a word — for a
 * security limit, a silent change of posture — so the process refuses to start.
 */
const retiredSettings: Record<string, string> = {
  PARLEY_LOGIN_MAX_ATTEMPTS:
    'login failures now back off per (account, IP): PARLEY_LOGIN_FREE_FAILURES, PARLEY_LOGIN_MAX_DELAY_S, and PARLEY_LOGIN_MAX_FAILURES_PER_IP per IP',
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const retired = Object.keys(retiredSettings).filter((name) => env[name] !== undefined);
  if (retired.length > 0) {
    throw new Error(
      `invalid configuration:\n  ${retired.map((name) => `${name} is retired: ${retiredSettings[name]}`).join('\n  ')}`,
    );
  }
  let named: NodeJS.ProcessEnv;
  try {
    named = withGoServiceAliases(env);
  } catch (error) {
    throw new Error(`invalid configuration:\n  ${(error as Error).message}`, { cause: error });
  }
  const parsed = schema.safeParse(named);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return { ...parsed.data, PARLEY_DATA_DIR: path.resolve(parsed.data.PARLEY_DATA_DIR) };
}

/**
 * Where links and stored URLs point: PARLEY_PUBLIC_URL, else the address this
 * process listens on (`port`, the actual one), with 127.0.0.1 for a HOST that
 * means every interface.
 */
export function publicOrigin(config: Pick<Config, 'PARLEY_PUBLIC_URL' | 'HOST'>, port: number): string {
  if (config.PARLEY_PUBLIC_URL !== undefined) return config.PARLEY_PUBLIC_URL;
  const host = ['', '0.0.0.0', '::'].includes(config.HOST) ? '127.0.0.1' : config.HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * How late a consumer that may see events late reads them
 * (ConsumeOptions.maxDelayMs): its setting (PARLEY_PROCESS_MANAGER_READ_DELAY_MS,
 * PARLEY_WEBHOOK_READ_DELAY_MS, PARLEY_PUSH_READ_DELAY_MS), else 200 ms on Kafka, where every fetch is a
 * round trip to the broker and a decode of the batch (the distributed core's
 * CPU per message at 200 msg/s fell 11–13 % for the process manager alone),
 * and 0 on the embedded log, where a read is an in-process SQLite read:
 * there, gathering saved ~2 % of the CPU and made deliveries burstier (p50 at
 * 1k msg/s doubled; bench/README, fix 19).
 */
export function gatheredReadDelayMs(configured: number | undefined, config: Pick<Config, 'KAFKA_BROKERS'>): number {
  return configured ?? (config.KAFKA_BROKERS ? 200 : 0);
}

export const hasRole = (config: Config, role: Role): boolean => config.PARLEY_ROLES.includes(role);
