// The WebSocket gateway on `/ws`: sockets come in through upgrade.ts, live as
// connections (connections.ts), send frames to the frame handler and receive
// what the events and signals logs bring (streams.ts → fanout.ts). Several
// gateways can run; each serves its own sockets and keeps nothing another
// instance needs. This module only assembles the parts.

import type { Server } from 'node:http';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ChatService } from '../commands/chat-service.ts';
import { commandInputs } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import { roomAggregateId } from '../domain/room.ts';
import { noMetrics, type GatewayMetrics } from '../infra/metrics.ts';
import type { Presence } from '../infra/presence.ts';
import type { SessionRevocations } from '../infra/session-revocations.ts';
import type { EventCodec } from '../log/codec.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { roomReads, type RoomReads } from '../queries/room-reads.ts';
import type { Database } from '../store/schema.ts';
import { createAcceptedMessages } from './accepted-messages.ts';
import { createConnections, type Identity } from './connections.ts';
import { createDelivery } from './delivery.ts';
import { createFanout, type Fanout } from './fanout.ts';
import { createFrameHandler } from './frame-handlers.ts';
import { clientFrameSchemas, serverFrame } from './frames.ts';
import { createMembership } from './membership.ts';
import { createPresenceNotifier } from './presence-notifier.ts';
import { renewPresenceLeases } from './presence-lease.ts';
import { createLogEnds } from './log-ends.ts';
import { createRoomStream } from './room-stream.ts';
import { createRoomViews } from './room-views.ts';
import { SessionRegistry } from './sessions.ts';
import { createStreamedPositions, followEvents, followSignals, signalPublisher } from './streams.ts';
import { createTyping } from './typing.ts';
import { acceptUpgrades } from './upgrade.ts';
import { createSyncStream, liveFramesExcept } from './sync-stream.ts';
import type { ModelProgress } from '../queries/sync-feed.ts';

export interface GatewayOptions {
  config: Config;
  log: Log;
  db: Kysely<Database>;
  /** Rooms and their members, cached when the server has a read cache; without: from `db`. */
  rooms?: RoomReads;
  codec: EventCodec;
  /** Opens the personal values of the events it streams. */
  vault: PersonalDataVault;
  chat: ChatService;
  presence: Presence;
  progress: ProjectionProgress;
  /** The read model whose progress since_seq replays and notifications wait for. */
  projection: string;
  /** Where that model stands, for sockets on the sync feed (SYNC). */
  model: ModelProgress;
  logger: Logger;
  /** Verifies an access token (its session not revoked); throws when it is not valid. */
  verifyToken: (token: string) => Promise<Identity>;
  /** Ended logins (logout, password change, account deletion): their sockets close at once. */
  revocations: SessionRevocations;
  metrics?: GatewayMetrics;
}

export interface Gateway {
  attach(server: Server): void;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, log, db, codec, vault, logger, presence, progress, projection, metrics = noMetrics.gateway } = options;
  const sessions = new SessionRegistry();
  const publish = signalPublisher(log, codec, logger);
  const partitionOf = (roomId: string) => log.partitionForKey(topics.events, roomAggregateId(roomId));
  const positions = createStreamedPositions({ progress, projection, timeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS });
  const rooms = options.rooms ?? roomReads(db);
  const membership = createMembership({ rooms, readModelCaughtUp: positions.readModelCaughtUp, logger });
  const delivery = createDelivery({ sessions, membership, maxBufferedBytes: config.PARLEY_WS_MAX_BUFFERED_BYTES, metrics });
  const roomStream = createRoomStream({
    db,
    send: delivery.send,
    replayMax: config.PARLEY_REPLAY_MAX,
    hold: delivery.hold,
    partitionOf,
    readModelCaughtUp: positions.readModelCaughtUp,
  });

  const views = createRoomViews({
    publish,
    applyTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
    onChange: (roomId, userId, active) =>
      delivery.toRoomMembers(
        roomId,
        serverFrame(active ? 'USER_JOINED' : 'USER_LEFT', { chat_room_id: roomId, user_id: userId }),
        (session) => session.joined.has(roomId),
      ),
  });
  const typing = createTyping({
    publish,
    ttlMs: config.PARLEY_TYPING_TTL_MS,
    onChange: (roomId, userId, isTyping) =>
      delivery.toRoomMembers(
        roomId,
        serverFrame('TYPING', { chat_room_id: roomId, user_id: userId, is_typing: isTyping }),
        (session) => session.userId !== userId,
      ),
  });
  const accepted = createAcceptedMessages(config.PARLEY_GATEWAY_ACK_MESSAGES);
  const sync = createSyncStream({
    db,
    sessions,
    membership,
    send: delivery.send,
    model: options.model,
    pageSize: config.PARLEY_SYNC_PAGE_DEFAULT,
    catchUpTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
    logger,
  });
  const liveFanout = createFanout({
    sessions,
    membership,
    // Sockets on the sync feed hear these changes through it (sync-stream.ts).
    delivery: liveFramesExcept(delivery, (session) => sync.isSynced(session)),
    roomStream,
    db,
    progress,
    projection,
    catchUpTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
  });
  const fanout: Fanout = {
    deliver(event, position) {
      // First: a join updates the members the sync stream wakes (the fan-out does that synchronously).
      const delivered = liveFanout.deliver(event, position);
      sync.notify(event, position);
      return delivered;
    },
  };

  const eventsConsumer = await followEvents({ log, codec, vault, logger, positions, fanout, accepted, sessions });
  const signalsConsumer = await followSignals({
    log,
    codec,
    logger,
    views,
    typing,
    notifyPresence: createPresenceNotifier({ db, sessions, toUsers: delivery.toUsers }),
  });
  const leases = renewPresenceLeases({ sessions, presence, publish, leaseMs: config.PARLEY_PRESENCE_LEASE_MS, logger });

  const schemas = clientFrameSchemas(commandInputs(config));
  const upgrades = acceptUpgrades({
    config,
    schemas,
    sessions,
    verifyToken: options.verifyToken,
    connect: createConnections({
      rooms,
      sessions,
      presence,
      membership,
      views,
      typing,
      publish,
      partitionOf,
      logEnds: createLogEnds({
        read: () => log.endOffsets(topics.events),
        timeoutMs: config.PARLEY_WS_LOG_END_TIMEOUT_MS,
        logger,
      }),
      rateBurst: config.PARLEY_WS_RATE_BURST,
      logger,
    }),
    receive: createFrameHandler({
      config,
      schemas,
      db,
      rooms,
      chat: options.chat,
      membership,
      roomStream,
      views,
      typing,
      partitionOf,
      accepted,
      sync,
      send: delivery.send,
      logger,
    }),
    send: delivery.send,
    open: (session, firstFrame) => roomStream.open(session, firstFrame),
    onShed: () => metrics.shedConnection(),
    logger,
  });

  metrics.countSockets(() => ({ authenticated: sessions.size, unauthenticated: upgrades.unauthenticatedCount() }));

  const stopHearingRevocations = options.revocations.onRevoked((logins) => {
    for (const session of sessions.ofLogins(new Set(logins))) session.socket.close(1008, 'session ended');
  });

  return {
    attach(server) {
      server.on('upgrade', upgrades.onUpgrade);
    },
    async stop() {
      stopHearingRevocations();
      leases.stop();
      typing.stop();
      await eventsConsumer.stop();
      await signalsConsumer.stop();
      for (const userSessions of sessions.all()) {
        for (const session of userSessions) session.socket.close(1001, 'server shutting down');
      }
      upgrades.close();
    },
  };
}
