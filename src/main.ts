// The composition root and the `parley` CLI. This is the only module that
// knows every concrete adapter: it reads the config, builds the adapters the
// environment asks for, and hands them to the parts this process runs.

import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import pino, { type Logger } from 'pino';
import { authRoutes } from './auth/http-routes.ts';
import { loadOrCreateSigningKey } from './auth/keys.ts';
import { createRefreshTokens } from './auth/refresh-tokens.ts';
import { createTokenService } from './auth/tokens.ts';
import { createChatService } from './commands/chat-service.ts';
import { createCommandBus, type CommandBus } from './commands/command-bus.ts';
import { createCommandExecutor } from './commands/execute.ts';
import { commandRoutes } from './commands/http-routes.ts';
import { startProcessor, type Processor } from './commands/processor.ts';
import type { EventCodec } from './log/codec.ts';
import { hasRole, loadConfig, type Config } from './config.ts';
import { startGateway, type Gateway } from './gateway/gateway.ts';
import { createHttpApp } from './http/app.ts';
import { docsRoutes } from './http/docs-routes.ts';
import { requireUser } from './http/auth-middleware.ts';
import { Redis } from 'ioredis';
import { createMemoryPresence, type Presence } from './infra/presence.ts';
import { createMemoryRateLimiter, type RateLimiter } from './infra/rate-limiter.ts';
import { createLocalStorage } from './infra/local-storage.ts';
import type { FileStorage } from './infra/storage.ts';
import { uploadRoutes } from './infra/upload-routes.ts';
import { createRedisPresence } from './infra/redis-presence.ts';
import { createRedisRateLimiter } from './infra/redis-rate-limiter.ts';
import { createAvroCodec } from './log/avro-codec.ts';
import { createRegistryCodec } from './log/registry-codec.ts';
import type { Consumer, Log } from './log/port.ts';
import { createKafkaLog } from './log/kafka-log.ts';
import { namespacedLog } from './log/namespaced-log.ts';
import { openSqliteLog } from './log/sqlite-log.ts';
import { replay } from './log/replay.ts';
import { topicSpecs } from './log/topics.ts';
import { parseRebuildArgs, parseReplayArgs, progressBar, rebuildUsage } from './cli-args.ts';
import { chatProjection, chatProjectionName } from './projections/chat-projection.ts';
import { createProjectionProgress } from './projections/progress.ts';
import { followProjectionVersions } from './projections/live-versions.ts';
import { rebuildCommand } from './projections/rebuild-command.ts';
import { versionedModels } from './projections/versioned-models.ts';
import { lastSeenProjection } from './projections/last-seen-projection.ts';
import { queryRoutes } from './queries/http-routes.ts';
import { createPresenceReader } from './queries/presence-reader.ts';
import { runDirectRoomsManager } from './commands/direct-rooms.ts';
import { createSocialService } from './commands/social-service.ts';
import { migrateToLatest } from './store/migrate.ts';
import { openStore, type Store } from './store/store.ts';

export const schemasDir = fileURLToPath(new URL('../schemas/', import.meta.url));

export interface Running {
  url: string;
  port: number;
  stop(): Promise<void>;
}

function openLog(config: Config, logger: Logger): Log {
  if (config.KAFKA_BROKERS) {
    const kafka = createKafkaLog({
      brokers: config.KAFKA_BROKERS.split(',').map((broker) => broker.trim()).filter(Boolean),
      clientId: 'parley',
      logger,
      sessionTimeoutMs: config.PARLEY_KAFKA_SESSION_TIMEOUT_MS,
      replicationFactor: config.PARLEY_KAFKA_REPLICATION_FACTOR,
      ...(config.PARLEY_KAFKA_MIN_INSYNC_REPLICAS === undefined
        ? {}
        : { minInsyncReplicas: config.PARLEY_KAFKA_MIN_INSYNC_REPLICAS }),
      onError: (error, context) => logger.error({ err: error, context }, 'log failure'),
    });
    return namespacedLog(kafka, config.PARLEY_LOG_NAMESPACE);
  }
  fs.mkdirSync(config.PARLEY_DATA_DIR, { recursive: true });
  return openSqliteLog({
    path: path.join(config.PARLEY_DATA_DIR, 'log.sqlite'),
    onError: (error, context) => logger.error({ err: error, context }, 'log failure'),
  });
}

/** The log with Parley's topics in place (created on first start, checked after). */
async function openLogWithTopics(config: Config, logger: Logger): Promise<Log> {
  const log = openLog(config, logger);
  await log.ensureTopics(
    topicSpecs({
      partitions: config.PARLEY_PARTITIONS,
      commandsRetentionMs: config.PARLEY_COMMANDS_RETENTION_MS,
      signalsRetentionMs: config.PARLEY_SIGNALS_RETENTION_MS,
    }),
  );
  return log;
}

/** Presence and rate limits: in memory for one process, on Redis (shared by every instance) when REDIS_URL is set. */
async function openEphemeralState(
  config: Config,
  logger: Logger,
): Promise<{ presence: Presence; limiter: RateLimiter; close(): Promise<void> }> {
  if (!config.REDIS_URL) {
    const presence = createMemoryPresence({ leaseMs: config.PARLEY_PRESENCE_LEASE_MS });
    return { presence, limiter: createMemoryRateLimiter(), close: () => presence.close() };
  }
  // Fail a request after a couple of reconnect attempts instead of queueing it for long.
  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
  await redis.connect(); // an unreachable Redis stops start-up with a clear error
  const presence = createRedisPresence({ redis, leaseMs: config.PARLEY_PRESENCE_LEASE_MS });
  return {
    presence,
    limiter: createRedisRateLimiter({ redis }),
    async close() {
      await presence.close();
      await redis.quit();
    },
  };
}

/** CLOUDINARY_URL set → Cloudinary (its SDK is loaded only then), else files under the data dir. */
async function openFileStorage(config: Config): Promise<FileStorage> {
  if (config.CLOUDINARY_URL) {
    const { createCloudinaryStorage } = await import('./infra/cloudinary-storage.ts');
    return createCloudinaryStorage({
      url: config.CLOUDINARY_URL,
      publicUrl: config.PARLEY_PUBLIC_URL,
      notifyMaxAgeS: config.PARLEY_UPLOAD_NOTIFY_MAX_AGE_S,
    });
  }
  return createLocalStorage({
    dataDir: config.PARLEY_DATA_DIR,
    publicUrl: config.PARLEY_PUBLIC_URL,
    ttlS: config.PARLEY_UPLOAD_TTL_S,
    notifyMaxAgeS: config.PARLEY_UPLOAD_NOTIFY_MAX_AGE_S,
  });
}

/**
 * Confluent wire format through the schema registry when SCHEMA_REGISTRY_URL
 * is set (every version registered at start, subject = record name,
 * FULL_TRANSITIVE; a refused schema stops start-up); otherwise single-object
 * encoding with the schema files' fingerprints. Both read both.
 */
async function eventCodec(config: Config): Promise<EventCodec> {
  if (config.SCHEMA_REGISTRY_URL) {
    return createRegistryCodec({ url: config.SCHEMA_REGISTRY_URL, schemasDir, compatibility: 'FULL_TRANSITIVE' });
  }
  return createAvroCodec({ schemasDir });
}

async function openMigratedStore(config: Config): Promise<Store> {
  const store = openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.PARLEY_DATA_DIR });
  await migrateToLatest(store.db);
  return store;
}

/** Starts every part this process's roles ask for; resolves once it serves. */
export async function start(config: Config, logger: Logger): Promise<Running> {
  const instanceId = randomUUID();
  const log = await openLogWithTopics(config, logger);
  // Queries read, and the projector writes, the active version of each read
  // model, and follow `parley rebuild` when it swaps a new one in.
  const store = await followProjectionVersions(await openMigratedStore(config), { logger, models: versionedModels });
  const codec = await eventCodec(config);
  // Progress of a local projector arrives in-process; another instance's is
  // polled from the offsets table while someone waits for it.
  const progress = store.followProgress(createProjectionProgress(store.raw));

  const stoppers: (() => Promise<void>)[] = [];
  const runsApi = hasRole(config, 'api') || hasRole(config, 'gateway');
  // Every part that sends commands needs the bus (the processor role too: its
  // process manager sends the direct-room system commands).
  const bus: CommandBus | undefined =
    runsApi || hasRole(config, 'processor')
      ? await createCommandBus({ log, instanceId, timeoutMs: config.PARLEY_COMMAND_TIMEOUT_MS })
      : undefined;
  if (bus !== undefined) stoppers.push(() => bus.stop());

  if (hasRole(config, 'processor')) {
    const processor: Processor = await startProcessor({
      log,
      codec,
      logger,
      instanceId,
      recentCommands: config.PARLEY_RECENT_COMMANDS,
    });
    stoppers.push(() => processor.stop());
    const manager = await runDirectRoomsManager({ log, bus: bus!, codec, logger });
    stoppers.push(() => manager.stop());
  }
  if (hasRole(config, 'projector')) {
    for (const projection of [chatProjection, lastSeenProjection]) {
      const consumer: Consumer = await store.runProjection(projection, {
        log,
        db: store.db,
        codec,
        logger,
        progress,
        maxBatchSize: config.PARLEY_PROJECTION_BATCH,
        engine: store.engine,
        stalledTransactionS: config.PARLEY_MYSQL_STALLED_TRANSACTION_S,
      });
      stoppers.push(() => consumer.stop());
    }
  }

  let server: http.Server | undefined;
  let gateway: Gateway | undefined;
  if (runsApi) {
    const executor = createCommandExecutor({
      bus: bus!,
      progress,
      projection: chatProjectionName,
      readYourWritesTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
    });
    const chat = createChatService({ executor, db: store.db });
    const social = createSocialService({ executor, db: store.db });
    const signingKey = await loadOrCreateSigningKey(config.PARLEY_DATA_DIR, config.PARLEY_JWT_PRIVATE_KEY);
    const tokens = createTokenService({
      key: signingKey,
      issuer: config.PARLEY_JWT_ISSUER,
      audience: config.PARLEY_JWT_AUDIENCE,
      accessTtlS: config.PARLEY_ACCESS_TTL_S,
      verifiedTokens: config.PARLEY_VERIFIED_TOKENS,
    });
    const refreshTokens = createRefreshTokens({
      db: store.db,
      idleTtlS: config.PARLEY_REFRESH_IDLE_TTL_S,
      absoluteTtlS: config.PARLEY_REFRESH_ABSOLUTE_TTL_S,
      stalledTransactionS: config.PARLEY_MYSQL_STALLED_TRANSACTION_S,
      onReuse: (userId, familyId) => logger.warn({ userId, familyId }, 'refresh token reused: session family revoked'),
    });
    const { presence, limiter, close: closeEphemeral } = await openEphemeralState(config, logger);
    stoppers.push(closeEphemeral);
    const authenticate = requireUser((token) => tokens.verifyAccessToken(token));
    const routers = hasRole(config, 'api')
      ? [
          authRoutes({
            config,
            db: store.db,
            executor,
            tokens,
            refreshTokens,
            signingKey,
            limiter,
            logger,
          }),
          queryRoutes({
            config,
            db: store.db,
            requireUser: authenticate,
            presence: createPresenceReader({ presence, db: store.db }),
            engine: store.engine,
          }),
          commandRoutes({ config, chat, social, requireUser: authenticate }),
          docsRoutes({ config }),
        ]
      : [];
    const app = createHttpApp({
      config,
      logger,
      routers,
      rawBodyRouters: hasRole(config, 'api')
        ? uploadRoutes({ config, db: store.db, storage: await openFileStorage(config), limiter, requireUser: authenticate })
        : [],
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
    });
    server = http.createServer(app.callback());
    if (hasRole(config, 'gateway')) {
      gateway = await startGateway({
        config,
        log,
        db: store.db,
        codec,
        chat,
        presence,
        progress,
        projection: chatProjectionName,
        logger,
        verifyToken: async (token) => {
          const { userId } = await tokens.verifyAccessToken(token);
          return { userId, expiresAt: (decodeJwt(token).exp ?? 0) * 1000 };
        },
      });
      gateway.attach(server);
    }
    await new Promise<void>((resolve) => server!.listen(config.PORT, config.HOST, resolve));
  }

  const address = server?.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  logger.info({ port, roles: config.PARLEY_ROLES, dataDir: config.PARLEY_DATA_DIR, instanceId }, 'parley started');

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (server !== undefined) {
        // Stop taking requests, let the ones in flight finish (bounded), then
        // cut what is left. Sockets are told to go (1001) and reconnect elsewhere.
        const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeIdleConnections();
        await gateway?.stop();
        const grace = setTimeout(() => server!.closeAllConnections(), config.PARLEY_SHUTDOWN_GRACE_MS);
        await closing;
        clearTimeout(grace);
      }
      for (const stop of stoppers.reverse()) await stop();
      await log.close();
      await store.close();
      logger.info('parley stopped');
    },
  };
}

export async function cli(argv: string[]): Promise<void> {
  const [command = 'start'] = argv;
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL });
  switch (command) {
    case 'start': {
      const running = await start(config, logger);
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    case 'migrate': {
      const store = openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.PARLEY_DATA_DIR });
      const applied = await migrateToLatest(store.db);
      logger.info({ applied }, applied.length === 0 ? 'read models already up to date' : 'migrations applied');
      await store.close();
      return;
    }
    case 'replay': {
      const options = parseReplayArgs(argv.slice(1));
      const log = openLog(config, logger);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      const out = options.out === undefined ? process.stdout : fs.createWriteStream(options.out);
      const bar = progressBar('replay', options.progress ?? process.stderr.isTTY);
      const written = await replay(log, await eventCodec(config), options, out, bar, abort.signal);
      bar(Number.NaN, Number.NaN);
      process.stderr.write(`replay: ${written} records\n`);
      if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
      await log.close();
      return;
    }
    case 'rebuild': {
      if (argv.includes('--help')) {
        process.stderr.write(`${rebuildUsage}\n`);
        return;
      }
      const options = parseRebuildArgs(argv.slice(1));
      const log = await openLogWithTopics(config, logger);
      const store = await openMigratedStore(config);
      try {
        const codec = await eventCodec(config);
        process.exitCode = await rebuildCommand(options, { log, store, codec, logger, models: versionedModels });
      } finally {
        await log.close();
        await store.close();
      }
      return;
    }
    default:
      process.stderr.write(`unknown command: ${command}\nusage: parley [start|migrate|replay|rebuild]\n`);
      process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  cli(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
