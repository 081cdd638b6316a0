// The composition root: configuration in, a running Parley out. This is the
// only module that knows every concrete adapter: `createAppContext` picks them
// from the configuration (Kafka or the embedded log, MySQL or SQLite, Redis or
// memory, Cloudinary or local files) and builds what every role shares once;
// `start` runs the parts this process's roles ask for on top of it. The CLI
// (cli/) and the process entry (main.ts) call it; nothing else does.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import { Redis } from 'ioredis';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { authRoutes } from './auth/http-routes.ts';
import { loadOrCreateSigningKey, type SigningKey } from './auth/keys.ts';
import { createRefreshTokens } from './auth/refresh-tokens.ts';
import { createRegistration, type RegisterUser } from './auth/registration.ts';
import { AuthError, createTokenService, type TokenService } from './auth/tokens.ts';
import { createChatService, type ChatService } from './commands/chat-service.ts';
import { createCommandBus, type CommandBus } from './commands/command-bus.ts';
import { createCommandRateLimits, type CommandRateLimits } from './commands/command-rate-limits.ts';
import { runDirectRoomsManager } from './commands/direct-rooms.ts';
import { createCommandExecutor, type CommandExecutor } from './commands/execute.ts';
import { messageContentSchema } from './commands/inputs.ts';
import { createPreSendHook, type PreSendHook } from './commands/presend-hook.ts';
import { preferLocalDecisions } from './commands/local-decisions.ts';
import { commandRoutes } from './commands/http-routes.ts';
import { startProcessor } from './commands/processor.ts';
import { snapshotFormat, sqlSnapshotStore } from './commands/snapshots.ts';
import { initialStates } from './domain/aggregates.ts';
import { createSocialService, type SocialService } from './commands/social-service.ts';
import { gatheredReadDelayMs, hasRole, publicOrigin, type Config } from './config.ts';
import { startGateway, type Gateway } from './gateway/gateway.ts';
import { createHttpApp } from './http/app.ts';
import { limitConnectionsPerIp, serverOptions } from './http/server-limits.ts';
import { demoRoutes } from './http/demo-routes.ts';
import { docsRoutes } from './api-docs/docs-routes.ts';
import { requireUser } from './http/auth-middleware.ts';
import { isBotToken, verifyBotToken } from './auth/bot-tokens.ts';
import { botRoutes } from './bots/bot-routes.ts';
import { createMetrics, type Metrics, type ReadCacheMetrics } from './infra/metrics.ts';
import { createMemoryPresence, type Presence } from './infra/presence.ts';
import { pushRoutes } from './push/http-routes.ts';
import { reportRoutes } from './commands/report-routes.ts';
import { runPusher } from './push/pusher.ts';
import { runWebhookDispatcher } from './webhooks/dispatcher.ts';
import { webhookRoutes } from './webhooks/webhook-routes.ts';
import { loadOrCreateVapidKeys, vapidKeyWarning, type VapidKeys } from './push/vapid-keys.ts';
import { createMemoryRateLimiter, type RateLimiter } from './infra/rate-limiter.ts';
import { lockDataDir, type DataDirLock } from './infra/data-dir-lock.ts';
import { createRedisPresence } from './infra/redis-presence.ts';
import { createRedisRateLimiter } from './infra/redis-rate-limiter.ts';
import { noReadCache, type ReadCache } from './infra/read-cache.ts';
import { roomReads, type RoomReads } from './queries/room-reads.ts';
import { createRedisReadCache } from './infra/redis-read-cache.ts';
import { createRedisSessionRevocations } from './infra/redis-session-revocations.ts';
import { createOutboxMailer, type Mailer } from './infra/mailer.ts';
import { createSmtpMailer } from './infra/smtp-mailer.ts';
import { createMemorySessionRevocations, revokeWhileTokensLive, type SessionRevocations } from './infra/session-revocations.ts';
import { createLocalStorage } from './uploads/local-storage.ts';
import { localStorageRoutes } from './uploads/local-storage-routes.ts';
import { uploadRoutes, type UploadRoutesOptions } from './uploads/routes.ts';
import { createAvroCodec, type AvroCodec } from './log/avro-codec.ts';
import { trackConsumerLag } from './log/consumer-lag.ts';
import { createKafkaLog } from './log/kafka-log.ts';
import { namespacedLog } from './log/namespaced-log.ts';
import type { Log, LogWrite } from './log/port.ts';
import { createRegistryCodec } from './log/registry-codec.ts';
import { startRetention } from './privacy/retention.ts';
import { startScrubber } from './privacy/scrubber.ts';
import { createVault, type PersonalDataVault } from './privacy/vault.ts';
import type { Database } from './store/schema.ts';
import { openSqliteLog } from './log/sqlite-log.ts';
import { topics, topicSpecs } from './log/topics.ts';
import { chatProjection, chatProjectionName } from './projections/chat-projection.ts';
import { lastSeenProjection } from './projections/last-seen-projection.ts';
import { countOpenDeadLetters } from './projections/dead-letters.ts';
import { projectionLag } from './projections/lag.ts';
import { followProjectionVersions, type VersionedStore } from './projections/live-versions.ts';
import { deadLetterReadiness } from './projections/dead-letters.ts';
import { createProjectionProgress, type ProjectionProgress } from './projections/progress.ts';
import type { PoisonCounter } from './projections/runner.ts';
import { versionedModels } from './projections/versioned-models.ts';
import { versionedProjectionName } from './projections/versions.ts';
import { queryRoutes } from './queries/http-routes.ts';
import { syncRoutes } from './queries/sync-routes.ts';
import { asOfRoutes } from './queries/as-of-routes.ts';
import type { ModelProgress } from './queries/sync-feed.ts';
import { storedOffsets } from './projections/offsets.ts';
import { startSyncPruner } from './projections/sync-pruner.ts';
import { createPresenceReader } from './queries/presence-reader.ts';
import { migrateToLatest } from './store/migrate.ts';
import { openStore, type Store } from './store/store.ts';

export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));

// ------------------------------------------------------------- the adapters

/**
 * Kafka when KAFKA_BROKERS is set (topics under PARLEY_LOG_NAMESPACE), else the
 * embedded log in the data dir. `onWrite` is told every write the log makes to
 * its storage (metrics).
 */
export function openLog(config: Config, logger: Logger, onWrite?: (write: LogWrite) => void): Log {
  const onError = (error: unknown, context: unknown) => logger.error({ err: error, context }, 'log failure');
  if (config.KAFKA_BROKERS) {
    const kafka = createKafkaLog({
      brokers: config.KAFKA_BROKERS.split(',')
        .map((broker) => broker.trim())
        .filter(Boolean),
      clientId: 'parley',
      logger,
      sessionTimeoutMs: config.PARLEY_KAFKA_SESSION_TIMEOUT_MS,
      requestTimeoutMs: config.PARLEY_KAFKA_REQUEST_TIMEOUT_MS,
      appendAckTimeoutMs: config.PARLEY_KAFKA_REQUEST_TIMEOUT_MS,
      appendLingerMs: config.PARLEY_LOG_LINGER_MS,
      replicationFactor: config.PARLEY_KAFKA_REPLICATION_FACTOR,
      ...(config.PARLEY_KAFKA_MIN_INSYNC_REPLICAS === undefined
        ? {}
        : { minInsyncReplicas: config.PARLEY_KAFKA_MIN_INSYNC_REPLICAS }),
      allowUnderReplicated: config.PARLEY_KAFKA_ALLOW_UNDER_REPLICATED,
      onError,
      ...(onWrite === undefined ? {} : { onWrite }),
    });
    return namespacedLog(kafka, config.PARLEY_LOG_NAMESPACE);
  }
  fs.mkdirSync(config.PARLEY_DATA_DIR, { recursive: true });
  return openSqliteLog({
    path: path.join(config.PARLEY_DATA_DIR, 'log.sqlite'),
    checkpointIntervalMs: config.PARLEY_SQLITE_CHECKPOINT_INTERVAL_MS,
    lingerMs: config.PARLEY_LOG_LINGER_MS,
    onError,
    ...(onWrite === undefined ? {} : { onWrite }),
  });
}

/** The log with Parley's topics in place (created on first start, checked after). */
export async function openLogWithTopics(config: Config, logger: Logger, onWrite?: (write: LogWrite) => void): Promise<Log> {
  const log = openLog(config, logger, onWrite);
  await log.ensureTopics(
    topicSpecs({
      partitions: config.PARLEY_PARTITIONS,
      commandsRetentionMs: config.PARLEY_COMMANDS_RETENTION_MS,
      signalsRetentionMs: config.PARLEY_SIGNALS_RETENTION_MS,
    }),
  );
  return log;
}

/**
 * Confluent wire format through the schema registry when SCHEMA_REGISTRY_URL
 * is set (every version registered at start, subject = record name,
 * FULL_TRANSITIVE; a refused schema stops start-up); otherwise single-object
 * encoding with the schema files' fingerprints. Both read both.
 */
export async function openEventCodec(config: Config): Promise<AvroCodec> {
  if (config.SCHEMA_REGISTRY_URL) {
    return createRegistryCodec({ url: config.SCHEMA_REGISTRY_URL, schemasDir, compatibility: 'FULL_TRANSITIVE' });
  }
  return createAvroCodec({ schemasDir });
}

/** The read-model database (MySQL when DATABASE_URL is set, else SQLite), migrated to the latest schema. */
export async function openMigratedStore(config: Config, logger: Logger): Promise<Store> {
  const store = openStore({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.PARLEY_DATA_DIR,
    stalledTransactionS: config.PARLEY_MYSQL_STALLED_TRANSACTION_S,
    backgroundCheckpoints: {
      intervalMs: config.PARLEY_SQLITE_CHECKPOINT_INTERVAL_MS,
      onError: (error) => logger.warn({ err: error }, 'read models: background WAL checkpoint failed'),
    },
  });
  await migrateToLatest(store.db);
  return store;
}

interface EphemeralState {
  presence: Presence;
  limiter: RateLimiter;
  revocations: SessionRevocations;
  close(): Promise<void>;
}

/**
 * A Redis connection of Parley's: it fails a request after a couple of
 * reconnect attempts instead of queueing it for long, and drops a connection
 * that stops answering (half-open); connected at its first command or by
 * `connect()`.
 */
function redisClient(url: string, config: Config, logger: Logger, use: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    socketTimeout: config.PARLEY_REDIS_SOCKET_TIMEOUT_MS,
  });
  redis.on('error', (error: Error) => logger.warn({ err: error, use }, 'redis connection error'));
  return redis;
}

/**
 * The read cache: on Redis when REDIS_URL is set and PARLEY_READ_CACHE_TTL_S
 * is not 0 (a connection of its own, made at its first use: a process that
 * neither projects nor serves never connects), none otherwise.
 */
export function openReadCache(
  config: Config,
  logger: Logger,
  metrics?: ReadCacheMetrics,
): { cache: ReadCache; close(): Promise<void> } {
  if (!config.REDIS_URL || config.PARLEY_READ_CACHE_TTL_S === 0) return { cache: noReadCache, close: () => Promise.resolve() };
  const redis = redisClient(config.REDIS_URL, config, logger, 'read cache');
  const cache = createRedisReadCache({
    redis,
    keyPrefix: config.PARLEY_REDIS_KEY_PREFIX,
    ttlMs: config.PARLEY_READ_CACHE_TTL_S * 1000,
    fenceTtlMs: config.PARLEY_READ_CACHE_FENCE_TTL_MS,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
  });
  return {
    cache,
    async close() {
      // quit() on a client that never connected would connect first.
      if (redis.status === 'wait') redis.disconnect();
      else await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Presence and rate limits: in memory for one process, on Redis (shared by every instance) when REDIS_URL is set. */
async function openEphemeralState(config: Config, logger: Logger): Promise<EphemeralState> {
  if (!config.REDIS_URL) {
    const presence = createMemoryPresence({ leaseMs: config.PARLEY_PRESENCE_LEASE_MS });
    const revocations = createMemorySessionRevocations();
    return {
      presence,
      limiter: createMemoryRateLimiter(),
      revocations,
      async close() {
        await revocations.close();
        await presence.close();
      },
    };
  }
  const redis = redisClient(config.REDIS_URL, config, logger, 'presence and rate limits');
  await redis.connect(); // an unreachable Redis stops start-up with a clear error
  const keyPrefix = config.PARLEY_REDIS_KEY_PREFIX;
  const presence = createRedisPresence({ redis, keyPrefix, leaseMs: config.PARLEY_PRESENCE_LEASE_MS });
  const revocations = await createRedisSessionRevocations({ redis, keyPrefix, logger });
  return {
    presence,
    limiter: createRedisRateLimiter({ redis, keyPrefix }),
    revocations,
    async close() {
      await revocations.close();
      await presence.close();
      await redis.quit();
    },
  };
}

/** The pre-send hook PARLEY_PRESEND_HOOK_URL names; its rewrites obey a client's rules for message text. */
function openPreSendHook(config: Config, url: string, logger: Logger): PreSendHook {
  const content = messageContentSchema(config);
  return createPreSendHook({
    url,
    secret: config.PARLEY_PRESEND_HOOK_SECRET,
    timeoutMs: config.PARLEY_PRESEND_HOOK_TIMEOUT_MS,
    onFailure: config.PARLEY_PRESEND_HOOK_ON_FAILURE,
    validContent: (text) => content.safeParse(text).success,
    logger,
  });
}

/** PARLEY_SMTP_URL set → SMTP; else each mail goes to <data dir>/mail and the log (one machine). */
function openMailer(config: Config, logger: Logger): Mailer {
  if (config.PARLEY_SMTP_URL) return createSmtpMailer({ url: config.PARLEY_SMTP_URL, from: config.PARLEY_MAIL_FROM });
  return createOutboxMailer({ dir: path.join(config.PARLEY_DATA_DIR, 'mail'), logger });
}

/**
 * CLOUDINARY_URL set → Cloudinary (its SDK is loaded only then), else files
 * under the data dir, with the endpoints the local store serves itself.
 */
async function openFileStorage(
  config: Config,
  origin: () => string,
): Promise<Pick<UploadRoutesOptions, 'storage' | 'storageRoutes'>> {
  if (config.CLOUDINARY_URL) {
    const { createCloudinaryStorage } = await import('./uploads/cloudinary-storage.ts');
    const storage = createCloudinaryStorage({
      url: config.CLOUDINARY_URL,
      publicUrl: config.PARLEY_PUBLIC_URL,
      notifyMaxAgeS: config.PARLEY_UPLOAD_NOTIFY_MAX_AGE_S,
      avatarSizePx: config.PARLEY_AVATAR_SIZE_PX,
    });
    return { storage };
  }
  const storage = await createLocalStorage({
    dataDir: config.PARLEY_DATA_DIR,
    origin,
    ttlS: config.PARLEY_UPLOAD_TTL_S,
    notifyMaxAgeS: config.PARLEY_UPLOAD_NOTIFY_MAX_AGE_S,
  });
  return {
    storage,
    storageRoutes: (receive) => localStorageRoutes(storage, receive, { avatarSizePx: config.PARLEY_AVATAR_SIZE_PX }),
  };
}

// ------------------------------------------------------------- the context

/** The vault over the key store in `db` (the read models' database). */
export function openVault(config: Config, db: Kysely<Database>, logger: Logger): PersonalDataVault {
  return createVault({
    db,
    cacheTtlMs: config.PARLEY_KEY_CACHE_TTL_MS,
    cacheSize: config.PARLEY_KEY_CACHE_SIZE,
    keyReadAhead: config.PARLEY_KEY_READ_AHEAD,
    messageKeysAhead: config.PARLEY_MESSAGE_KEYS_AHEAD,
    recentSeals: config.PARLEY_VAULT_RECENT_SEALS,
    onKeyStoreError: (error) => logger.warn({ err: error }, 'message keys not made ahead (key store unreachable); retrying'),
  });
}

/** What every role of a process shares, built once from the configuration. */
export interface AppContext {
  config: Config;
  logger: Logger;
  /** Names this process in the events it writes and the outcomes it waits for. */
  instanceId: string;
  log: Log;
  /** Queries read, and the projector writes, each read model's active version (following `parley rebuild`). */
  store: VersionedStore;
  /** Writes and reads the log's Avro; knows every schema version (the AsyncAPI document shows them). */
  codec: AvroCodec;
  /** Seals and opens personal data (crypto-shredding); its keys live beside the read models. */
  vault: PersonalDataVault;
  /** Read-your-writes: a local projector reports in-process, another instance's is polled from the offsets table. */
  progress: ProjectionProgress;
  /** This process's Prometheus registry (GET /metrics); the parts report through its narrow interfaces. */
  metrics: Metrics;
  /** Poison events this process's projectors parked (shown by /readyz). */
  poisonCounter: PoisonCounter;
  /** Shared answers of room reads (Redis) that the chat projector's batches void; none without Redis. */
  readCache: ReadCache;
  close(): Promise<void>;
}

export async function createAppContext(config: Config, logger: Logger): Promise<AppContext> {
  const metrics = createMetrics({
    lagCacheMs: config.PARLEY_METRICS_LAG_CACHE_MS,
    onLagError: (what, error) => logger.warn({ err: error }, `metrics: reading the ${what} failed`),
  });
  const tracked = trackConsumerLag(await openLogWithTopics(config, logger, metrics.log.wrote), {
    countBatches: metrics.log.consumer,
  });
  const log = tracked.log;
  const migrated = await openMigratedStore(config, logger);
  if (config.PARLEY_DB_SILENT_TIMEOUT_MS > 0) migrated.dropSilentConnections?.(config.PARLEY_DB_SILENT_TIMEOUT_MS);
  const store = await followProjectionVersions(migrated, { logger, models: versionedModels });
  const vault = openVault(config, store.db, logger);
  metrics.readConsumerLag(() => tracked.lag());
  metrics.readProjectionLag(() =>
    projectionLag(log, store.raw, [
      {
        label: chatProjection.name,
        offsetsName: versionedProjectionName(chatProjection.name, store.activeVersion(chatProjection.name)),
        topic: chatProjection.topic ?? topics.events,
      },
      { label: lastSeenProjection.name, offsetsName: lastSeenProjection.name, topic: lastSeenProjection.topic ?? topics.events },
    ]),
  );
  metrics.readOpenDeadLetters(() => countOpenDeadLetters(store.raw));
  const readCache = openReadCache(config, logger, metrics.readCache);
  return {
    config,
    logger,
    instanceId: randomUUID(),
    log,
    store,
    metrics,
    codec: await openEventCodec(config),
    vault,
    progress: store.followProgress(createProjectionProgress(store.raw)),
    poisonCounter: { parked: 0 },
    readCache: readCache.cache,
    async close() {
      await readCache.close();
      await log.close();
      await vault.stop();
      await store.close();
    },
  };
}

// ------------------------------------------------------------- the roles

export interface Running {
  url: string;
  port: number;
  stop(): Promise<void>;
}

type Stop = () => Promise<void>;

/** Starts every part this process's roles ask for; resolves once it serves. */
/**
 * The embedded log and read models take one writer: a server, or a seeder
 * (infra/data-dir-lock.ts). A distributed deployment's instances take no lock.
 */
function lockEmbeddedDataDir(config: Config): DataDirLock | undefined {
  if (config.KAFKA_BROKERS && config.DATABASE_URL) return undefined;
  fs.mkdirSync(config.PARLEY_DATA_DIR, { recursive: true });
  return lockDataDir(config.PARLEY_DATA_DIR);
}

/** The app context, with the data dir locked for its writer first when embedded. */
async function createLockedAppContext(
  config: Config,
  logger: Logger,
): Promise<{ ctx: AppContext; lock: DataDirLock | undefined }> {
  const lock = lockEmbeddedDataDir(config);
  try {
    return { ctx: await createAppContext(config, logger), lock };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

export async function start(config: Config, logger: Logger): Promise<Running> {
  const { ctx, lock } = await createLockedAppContext(config, logger);
  const stops: Stop[] = [];
  const servesClients = hasRole(config, 'api') || hasRole(config, 'gateway');
  const pushes = hasRole(config, 'pusher');
  const dispatchesWebhooks = hasRole(config, 'webhooks');
  // Every part that sends commands needs the bus (the processor role too: its
  // process manager sends the direct-room system commands; the pusher removes
  // subscriptions their push services dropped; the webhook dispatcher pauses
  // a webhook whose receiver keeps failing).
  let bus: CommandBus | undefined;
  if (servesClients || pushes || dispatchesWebhooks || hasRole(config, 'processor')) {
    const commandBus = await createCommandBus({
      log: ctx.log,
      instanceId: ctx.instanceId,
      timeoutMs: config.PARLEY_COMMAND_TIMEOUT_MS,
    });
    stops.push(() => commandBus.stop());
    bus = commandBus;
  }
  if (bus !== undefined && hasRole(config, 'processor')) {
    const processorRole = await startProcessorRole(ctx, bus);
    stops.push(...processorRole.stops);
    bus = processorRole.bus;
  }
  if (hasRole(config, 'projector')) stops.push(...(await startProjectorRole(ctx)));
  // Presence: the gateway writes it, the pusher reads it (in one process, the same memory).
  const ephemeral = servesClients || pushes ? await openEphemeralState(config, logger) : undefined;
  if (ephemeral !== undefined) stops.push(() => ephemeral.close());
  const vapid =
    hasRole(config, 'api') || pushes
      ? await loadOrCreateVapidKeys(config.PARLEY_DATA_DIR, config.PARLEY_VAPID_PRIVATE_KEY)
      : undefined;
  const vapidWarning = vapid === undefined ? undefined : vapidKeyWarning(config);
  if (vapidWarning !== undefined) logger.warn(vapidWarning);
  if (bus !== undefined && ephemeral !== undefined && vapid !== undefined && pushes) {
    stops.push(await startPusherRole(ctx, bus, ephemeral, vapid));
  }
  if (bus !== undefined && dispatchesWebhooks) stops.push(startWebhooksRole(ctx, bus));
  const server =
    bus !== undefined && ephemeral !== undefined && servesClients
      ? await startServer(ctx, bus, ephemeral, vapid, stops)
      : undefined;

  const port = server?.port ?? 0;
  logger.info(
    { port, roles: config.PARLEY_ROLES, dataDir: config.PARLEY_DATA_DIR, instanceId: ctx.instanceId },
    'parley started',
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      await server?.stop();
      for (const stop of stops.reverse()) await stop();
      await ctx.close();
      lock?.release();
      logger.info('parley stopped');
    },
  };
}

/** The services a command line gives commands through, in-process (`parley seed`). */
export interface CommandServices {
  ctx: AppContext;
  /** Commands of the operator (no user: metadata.user_id null), waited for until readable. */
  executor: CommandExecutor;
  chat: ChatService;
  social: SocialService;
  register: RegisterUser;
  stop(): Promise<void>;
}

/**
 * The command path without the HTTP edge: a bus, a processor and the
 * projectors of this process (roles processor and projector, as one more
 * instance would run them), and the services the REST routes call. Nothing
 * here passes a per-IP or per-user limit: those belong to the routes and the
 * sockets, where clients come in.
 */
export async function startCommandServices(config: Config, logger: Logger): Promise<CommandServices> {
  const { ctx, lock } = await createLockedAppContext(config, logger);
  const stops: Stop[] = [];
  const topicBus = await createCommandBus({
    log: ctx.log,
    instanceId: ctx.instanceId,
    timeoutMs: config.PARLEY_COMMAND_TIMEOUT_MS,
  });
  stops.push(() => topicBus.stop());
  const { bus, stops: processorStops } = await startProcessorRole(ctx, topicBus);
  stops.push(...processorStops);
  stops.push(...(await startProjectorRole(ctx)));
  const executor = createCommandExecutor({
    bus,
    progress: ctx.progress,
    projection: chatProjectionName,
    readYourWritesTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
  });
  const unmetered: CommandRateLimits = { charge: () => Promise.resolve() };
  return {
    ctx,
    executor,
    chat: createChatService({
      executor,
      db: ctx.store.db,
      vault: ctx.vault,
      rateLimits: unmetered,
      maxPins: ctx.config.PARLEY_MAX_PINS,
    }),
    social: createSocialService({ executor, db: ctx.store.db, rateLimits: unmetered }),
    register: createRegistration({ db: ctx.store.db, executor, vault: ctx.vault, logger }),
    async stop() {
      for (const stop of stops.reverse()) await stop();
      await ctx.close();
      lock?.release();
    },
  };
}

/**
 * The command processor and the direct-rooms process manager. Returns the bus
 * the rest of the process sends through: with PARLEY_DECIDE_LOCALLY, commands
 * of the partitions assigned here are decided here (local-decisions.ts).
 */
async function startProcessorRole(ctx: AppContext, topicBus: CommandBus): Promise<{ bus: CommandBus; stops: Stop[] }> {
  const { log, codec, logger, instanceId, config } = ctx;
  const processor = await startProcessor({
    log,
    codec,
    logger,
    instanceId,
    recentCommands: config.PARLEY_RECENT_COMMANDS,
    snapshots: {
      store: sqlSnapshotStore(ctx.store.raw, config.PARLEY_LOG_NAMESPACE, snapshotFormat(initialStates())),
      everyEvents: config.PARLEY_SNAPSHOT_EVERY_EVENTS,
      hotEntries: config.PARLEY_SNAPSHOT_HOT_MESSAGES,
    },
  });
  const bus = config.PARLEY_DECIDE_LOCALLY
    ? preferLocalDecisions(topicBus, processor, { timeoutMs: config.PARLEY_COMMAND_TIMEOUT_MS })
    : topicBus;
  const manager = await runDirectRoomsManager({
    log,
    bus,
    codec,
    logger,
    readDelayMs: gatheredReadDelayMs(config.PARLEY_PROCESS_MANAGER_READ_DELAY_MS, config),
  });
  const retention = startRetention({
    db: ctx.store.db,
    globalDays: config.PARLEY_MESSAGE_RETENTION_DAYS,
    send: (command) => bus.send(command),
    intervalMs: config.PARLEY_RETENTION_SWEEP_INTERVAL_MS,
    logger,
  });
  return { bus, stops: [() => retention.stop(), () => processor.stop(), () => manager.stop()] };
}

/** The projectors of the read models. */
async function startProjectorRole(ctx: AppContext): Promise<Stop[]> {
  const { store, config } = ctx;
  const stops: Stop[] = [];
  for (const projection of [chatProjection, lastSeenProjection]) {
    const consumer = await store.runProjection(projection, {
      log: ctx.log,
      db: store.db,
      codec: ctx.codec,
      vault: ctx.vault,
      logger: ctx.logger,
      progress: ctx.progress,
      maxBatchSize: config.PARLEY_PROJECTION_BATCH,
      readDelayMs: config.PARLEY_PROJECTION_READ_DELAY_MS,
      readCache: ctx.readCache,
      stalledTransactionS: config.PARLEY_MYSQL_STALLED_TRANSACTION_S,
      poison: { maxAttempts: config.PARLEY_POISON_MAX_ATTEMPTS, retryBackoffMs: config.PARLEY_POISON_RETRY_BACKOFF_MS },
      poisonCounter: ctx.poisonCounter,
    });
    stops.push(() => consumer.stop());
  }
  const scrubber = startScrubber({ db: store.raw, intervalMs: config.PARLEY_ERASURE_SCRUB_INTERVAL_MS, logger: ctx.logger });
  stops.push(() => scrubber.stop());
  const syncPruner = startSyncPruner({
    db: store.db,
    retentionS: config.PARLEY_SYNC_RETENTION_S,
    intervalMs: config.PARLEY_SYNC_PRUNE_INTERVAL_MS,
    logger: ctx.logger,
  });
  stops.push(() => syncPruner.stop());
  return stops;
}

/** The webhook dispatcher (role webhooks): each webhook's events to its receiver, signed, in order, retried. */
function startWebhooksRole(ctx: AppContext, bus: CommandBus): Stop {
  const { config, logger } = ctx;
  const dispatcher = runWebhookDispatcher({
    log: ctx.log,
    codec: ctx.codec,
    vault: ctx.vault,
    db: ctx.store.db,
    logger,
    settings: {
      allowPrivate: config.PARLEY_WEBHOOK_ALLOW_PRIVATE,
      urlMax: config.PARLEY_WEBHOOK_URL_MAX,
      timeoutMs: config.PARLEY_WEBHOOK_TIMEOUT_MS,
      retryBackoffMs: config.PARLEY_WEBHOOK_RETRY_BACKOFF_MS,
      retryMaxMs: config.PARLEY_WEBHOOK_RETRY_MAX_MS,
      pauseAfterMs: config.PARLEY_WEBHOOK_PAUSE_AFTER_MS,
      deliveryLogMax: config.PARLEY_WEBHOOK_DELIVERY_LOG_MAX,
      refreshMs: config.PARLEY_WEBHOOK_REFRESH_MS,
      readDelayMs: gatheredReadDelayMs(config.PARLEY_WEBHOOK_READ_DELAY_MS, config),
    },
    applied: (position) => ctx.progress.waitFor(chatProjectionName, position, config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS),
    pauseFailing: async ({ webhookId, error, commandId }) => {
      const outcome = await bus.send({
        type: 'pause_webhook',
        data: { webhook_id: webhookId, action_id: randomUUID(), reason: 'failing', error },
        metadata: { command_id: commandId, user_id: null, at: Date.now() },
      });
      if (outcome.status === 'rejected') logger.error({ outcome }, 'failing webhook not paused');
    },
  });
  return () => dispatcher.stop();
}

/** The pusher (role pusher): Web Push to the members a new message should reach who have no socket open. */
async function startPusherRole(ctx: AppContext, bus: CommandBus, ephemeral: EphemeralState, vapid: VapidKeys): Promise<Stop> {
  const { config, logger } = ctx;
  const pusher = await runPusher({
    log: ctx.log,
    codec: ctx.codec,
    vault: ctx.vault,
    db: ctx.store.db,
    logger,
    vapid: { ...vapid, subject: config.PARLEY_VAPID_SUBJECT },
    settings: {
      allow: config.PARLEY_PUSH_ENDPOINT_ALLOW,
      ttlS: config.PARLEY_PUSH_TTL_S,
      timeoutMs: config.PARLEY_PUSH_TIMEOUT_MS,
      maxAttempts: config.PARLEY_PUSH_MAX_ATTEMPTS,
      retryBackoffMs: config.PARLEY_PUSH_RETRY_BACKOFF_MS,
      concurrency: config.PARLEY_PUSH_CONCURRENCY,
      previewChars: config.PARLEY_PUSH_PREVIEW_CHARS,
      readDelayMs: gatheredReadDelayMs(config.PARLEY_PUSH_READ_DELAY_MS, config),
    },
    online: (userIds) => ephemeral.presence.online(userIds),
    applied: (position) => ctx.progress.waitFor(chatProjectionName, position, config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS),
    dropSubscription: async ({ userId, subscriptionId, commandId }) => {
      const outcome = await bus.send({
        type: 'remove_push_subscription',
        data: { user_id: userId, subscription_id: subscriptionId, reason: 'expired' },
        metadata: { command_id: commandId, user_id: null, at: Date.now() },
      });
      if (outcome.status === 'rejected') logger.error({ outcome }, 'expired push subscription not removed');
    },
  });
  return () => pusher.stop();
}

/** The services REST and the WebSocket share. */
interface ClientServices {
  /** Where links and stored URLs point (config.ts `publicOrigin`); known once the server listens. */
  origin: () => string;
  chat: ChatService;
  /** One budget per user and command class, whichever path (REST, any socket) the command takes. */
  rateLimits: CommandRateLimits;
  tokens: TokenService;
  signingKey: SigningKey;
  authenticate: ReturnType<typeof requireUser>;
  /** Where the live chat model stands: the sync feed's tokens and long polls, over REST and on sockets. */
  model: ModelProgress;
  /** Membership and room details, through the read cache. */
  rooms: RoomReads;
}

/** The HTTP server: REST (role api) and the WebSocket gateway (role gateway) on one port. */
async function startServer(
  ctx: AppContext,
  bus: CommandBus,
  ephemeral: EphemeralState,
  vapid: VapidKeys | undefined,
  stops: Stop[],
): Promise<{ port: number; stop: Stop }> {
  const { config, logger, store } = ctx;
  const executor = createCommandExecutor({
    bus,
    progress: ctx.progress,
    projection: chatProjectionName,
    readYourWritesTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
    metrics: ctx.metrics.commands,
  });
  const mailer = openMailer(config, logger);
  stops.push(() => mailer.close());
  const signingKey = await loadOrCreateSigningKey(config.PARLEY_DATA_DIR, config.PARLEY_JWT_PRIVATE_KEY);
  const tokens = createTokenService({
    key: signingKey,
    issuer: config.PARLEY_JWT_ISSUER,
    audience: config.PARLEY_JWT_AUDIENCE,
    accessTtlS: config.PARLEY_ACCESS_TTL_S,
    verifiedTokens: config.PARLEY_VERIFIED_TOKENS,
  });
  /**
   * A valid access token of a login that has not ended (logout, password
   * change, account deletion), or a bot's API token not revoked.
   */
  const verifySession = async (token: string) => {
    if (isBotToken(token)) return verifyBotToken(store.db, token, { resolutionS: config.PARLEY_BOT_TOKEN_USE_RESOLUTION_S });
    const verified = await tokens.verifyAccessToken(token);
    if (verified.sessionId !== null && (await ephemeral.revocations.isRevoked(verified.sessionId))) {
      throw new AuthError('invalid_token', 'session ended');
    }
    return { ...verified, rooms: null };
  };
  const rateLimits = createCommandRateLimits({ limiter: ephemeral.limiter, config, leaseHits: config.PARLEY_RATE_LEASE_HITS });
  let listeningPort: number | undefined = undefined; // set once the server listens
  const origin = () => {
    if (listeningPort === undefined) throw new Error('the public origin is asked for before the server listens');
    return publicOrigin(config, listeningPort);
  };
  const rooms = roomReads(store.db, ctx.readCache, () => store.activeVersion(chatProjectionName));
  const services: ClientServices = {
    origin,
    rooms,
    chat: createChatService({
      executor,
      db: store.db,
      rooms,
      vault: ctx.vault,
      rateLimits,
      maxPins: config.PARLEY_MAX_PINS,
      online: (userIds) => ephemeral.presence.online(userIds),
      ...(config.PARLEY_PRESEND_HOOK_URL === undefined
        ? {}
        : { preSendHook: openPreSendHook(config, config.PARLEY_PRESEND_HOOK_URL, logger) }),
    }),
    rateLimits,
    tokens,
    signingKey,
    authenticate: requireUser(verifySession),
    model: chatModelProgress(ctx),
  };

  const app = createHttpApp({
    config,
    logger,
    routers: hasRole(config, 'api') && vapid !== undefined ? restRouters(ctx, executor, services, ephemeral, mailer, vapid) : [],
    rawBodyRouters: hasRole(config, 'api')
      ? uploadRoutes({
          config,
          db: store.db,
          rooms,
          ...(await openFileStorage(config, origin)),
          limiter: ephemeral.limiter,
          requireUser: services.authenticate,
          setAvatar: async (userId, url) => {
            await services.chat.updateProfile(userId, { avatar_url: url });
          },
        })
      : [],
    metrics: {
      http: ctx.metrics.http,
      endpoint:
        config.PARLEY_METRICS === 'on'
          ? { render: ctx.metrics.render, contentType: ctx.metrics.contentType, token: config.PARLEY_METRICS_TOKEN }
          : undefined,
    },
    readiness: async () => ({
      log: true,
      store: await store.db
        .selectFrom('projection_offsets')
        .select('partition')
        .limit(1)
        .execute()
        .then(
          () => true,
          () => false,
        ),
    }),
    readinessDetails: () => deadLetterReadiness(store.raw, ctx.poisonCounter),
  });
  const handle = app.callback();
  // Koa settles every request itself (its error middleware answers); the promise carries nothing.
  const server = http.createServer(serverOptions(config), (request, response) => void handle(request, response));
  limitConnectionsPerIp(server, config);
  let gateway: Gateway | undefined;
  if (hasRole(config, 'gateway')) {
    gateway = await startGateway({
      config,
      log: ctx.log,
      db: store.db,
      rooms,
      codec: ctx.codec,
      vault: ctx.vault,
      chat: services.chat,
      presence: ephemeral.presence,
      progress: ctx.progress,
      projection: chatProjectionName,
      model: services.model,
      logger,
      verifyToken: verifySession,
      revocations: ephemeral.revocations,
      metrics: ctx.metrics.gateway,
    });
    gateway.attach(server);
  }
  await new Promise<void>((resolve) =>
    server.listen({ port: config.PORT, host: config.HOST, backlog: config.PARLEY_HTTP_LISTEN_BACKLOG }, resolve),
  );
  const address = server.address();
  listeningPort = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port: listeningPort,
    async stop() {
      // Stop taking requests, let the ones in flight finish (bounded), then
      // cut what is left. Sockets are told to go (1001) and reconnect elsewhere.
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await gateway?.stop();
      const grace = setTimeout(() => server.closeAllConnections(), config.PARLEY_SHUTDOWN_GRACE_MS);
      await closing;
      clearTimeout(grace);
    },
  };
}

/** Where the live chat model stands, for the sync feed's tokens and its long polls. */
function chatModelProgress(ctx: AppContext): ModelProgress {
  const { store, progress } = ctx;
  const partitions = ctx.log.partitionCount(topics.events);
  return {
    partitions,
    async applied() {
      const name = versionedProjectionName(chatProjectionName, store.activeVersion(chatProjectionName));
      const stored = await storedOffsets(store.raw, name);
      return Array.from({ length: partitions }, (_, partition) => stored.get(partition) ?? 0);
    },
    async movedPast(position, timeoutMs) {
      // The first partition to move ends the wait; the others' waiters go with it.
      const done = new AbortController();
      try {
        await Promise.race(
          position.map((next, partition) =>
            progress.waitFor(chatProjectionName, { topic: topics.events, partition, offset: next }, timeoutMs, done.signal),
          ),
        );
      } finally {
        done.abort();
      }
    },
    async waitFor(position, timeoutMs) {
      await progress.waitFor(chatProjectionName, position, timeoutMs);
    },
  };
}

/** The REST API's routers (role api). */
function restRouters(
  ctx: AppContext,
  executor: ReturnType<typeof createCommandExecutor>,
  services: ClientServices,
  ephemeral: EphemeralState,
  mailer: Mailer,
  vapid: VapidKeys,
): Router[] {
  const { config, logger, store } = ctx;
  const refreshTokens = createRefreshTokens({
    db: store.db,
    idleTtlS: config.PARLEY_REFRESH_IDLE_TTL_S,
    absoluteTtlS: config.PARLEY_REFRESH_ABSOLUTE_TTL_S,
    stalledTransactionS: config.PARLEY_MYSQL_STALLED_TRANSACTION_S,
    onReuse: (userId, familyId) => logger.warn({ userId, familyId }, 'refresh token reused: session family revoked'),
  });
  return [
    authRoutes({
      config,
      db: store.db,
      executor,
      tokens: services.tokens,
      refreshTokens,
      signingKey: services.signingKey,
      limiter: ephemeral.limiter,
      vault: ctx.vault,
      requireUser: services.authenticate,
      revocations: ephemeral.revocations,
      mailer,
      publicOrigin: services.origin,
      logger,
    }),
    queryRoutes({
      config,
      db: store.db,
      requireUser: services.authenticate,
      presence: createPresenceReader({ presence: ephemeral.presence, db: store.db }),
      rooms: services.rooms,
    }),
    commandRoutes({
      config,
      chat: services.chat,
      social: createSocialService({ executor, db: store.db, rateLimits: services.rateLimits }),
      requireUser: services.authenticate,
    }),
    reportRoutes({
      config,
      reports: { db: store.db, executor, vault: ctx.vault, rateLimits: services.rateLimits, admins: config.PARLEY_ADMINS },
      requireUser: services.authenticate,
    }),
    syncRoutes({ config, db: store.db, requireUser: services.authenticate, model: services.model }),
    asOfRoutes({
      config,
      deps: {
        log: ctx.log,
        codec: ctx.codec,
        vault: ctx.vault,
        db: store.db,
        admins: config.PARLEY_ADMINS,
        maxRecords: config.PARLEY_AS_OF_MAX_RECORDS,
      },
      requireUser: services.authenticate,
    }),
    botRoutes({
      config,
      bots: {
        db: store.db,
        executor,
        vault: ctx.vault,
        admins: config.PARLEY_ADMINS,
        maxTokens: config.PARLEY_BOT_TOKENS_MAX,
        usernameCoolingOffS: config.PARLEY_USERNAME_COOLING_OFF_S,
        closeSockets: (tokenIds) => revokeWhileTokensLive(ephemeral.revocations, tokenIds, config.PARLEY_ACCESS_TTL_S),
        logger,
      },
      requireUser: services.authenticate,
    }),
    webhookRoutes({
      config,
      webhooks: {
        db: store.db,
        executor,
        vault: ctx.vault,
        admins: config.PARLEY_ADMINS,
        maxWebhooks: config.PARLEY_WEBHOOK_MAX,
      },
      requireUser: services.authenticate,
    }),
    pushRoutes({
      config,
      vapid,
      subscriptions: { db: store.db, executor, vault: ctx.vault, maxPerUser: config.PARLEY_PUSH_MAX_SUBSCRIPTIONS },
      rateLimits: services.rateLimits,
      requireUser: services.authenticate,
    }),
    docsRoutes({ config, schemas: ctx.codec.listSchemas() }),
    ...(config.PARLEY_DEMO === 'on' ? [demoRoutes()] : []),
  ];
}
