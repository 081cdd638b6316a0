// The WebSocket gateway on `/ws`: authenticates sockets, hands their frames to
// the frame handler, and streams the events and signals logs to the sockets
// that should see them. Several gateways can run; each serves its own sockets
// and keeps nothing another instance needs.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ZodError } from 'zod';
import type { ChatService } from '../commands/chat-service.ts';
import { commandInputs } from '../commands/inputs.ts';
import { decodeEventRecord, type EventCodec } from '../log/codec.ts';
import type { Config } from '../config.ts';
import type { AnyEvent } from '../domain/aggregates.ts';
import { roomAggregateId } from '../domain/room.ts';
import { toApiError } from '../http/errors.ts';
import type { Presence } from '../infra/presence.ts';
import type { Consumer, Log } from '../log/port.ts';
import { decodeSignal, signalRecord, type AnySignal } from '../log/signals.ts';
import { headers, topics } from '../log/topics.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { roomIdsOf } from '../queries/rooms-queries.ts';
import type { Database } from '../store/schema.ts';
import { createAcceptedMessages } from './accepted-messages.ts';
import { createFanout, messageFromEvent } from './fanout.ts';
import { createFrameHandler } from './frame-handlers.ts';
import { clientFrameSchemas, clientFrameTypes, errorFrame, serverFrame, type ClientFrame } from './frames.ts';
import { createMembership } from './membership.ts';
import { createPresenceNotifier } from './presence-notifier.ts';
import { createRoomViews } from './room-views.ts';
import { SessionRegistry, takeToken, type Session } from './sessions.ts';
import { createFrameWriter, textFrame } from './socket-output.ts';
import { createTyping } from './typing.ts';

export interface GatewayOptions {
  config: Config;
  log: Log;
  db: Kysely<Database>;
  codec: EventCodec;
  chat: ChatService;
  presence: Presence;
  progress: ProjectionProgress;
  projection: string;
  logger: Logger;
  /** Verifies an access token; throws when it is not valid. */
  verifyToken: (token: string) => Promise<{ userId: string; expiresAt: number }>;
}

export interface Gateway {
  attach(server: Server): void;
  /** Sockets currently open (for tests and metrics). */
  connectionCount(): number;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, log, db, codec, logger, presence } = options;
  const frames = clientFrameSchemas(commandInputs(config));
  const sessions = new SessionRegistry();
  const consumed = new Map<number, number>();
  let connections = 0;

  // A fan-out hands the same frame to many sockets in a row: frame it once
  // and write those bytes to every socket (socket-output.ts).
  const writeFrame = createFrameWriter();
  let lastFrame = '';
  let lastBytes: Buffer = Buffer.alloc(0);
  const send = (session: Session, frame: string) => {
    const socket = session.socket;
    if (socket.readyState !== socket.OPEN) return;
    // A socket that cannot keep up is dropped rather than buffered without
    // bound; its client resumes with since_seq.
    if (socket.bufferedAmount > config.PARLEY_WS_MAX_BUFFERED_BYTES) {
      socket.close(1013, 'too slow');
      return;
    }
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastBytes = textFrame(frame);
    }
    writeFrame(session.stream, lastBytes);
  };
  const sendToUser = (frame: string, userId: string) => {
    for (const session of sessions.of(userId) ?? []) send(session, frame);
  };
  const publish = (signal: AnySignal) => {
    // Signals are best effort by design: a lost one only affects an indicator.
    log.append(topics.signals, [signalRecord(codec, signal)]).catch((error: unknown) => {
      logger.warn({ err: error, type: signal.type }, 'signal not published');
    });
  };
  const partitionOf = (roomId: string) => log.partitionForKey(topics.events, roomAggregateId(roomId));

  // What this gateway reads from the read model (members, since_seq history)
  // must not be older than what it already streamed live, or the socket would
  // miss the events in between: wait (bounded) until the projection has
  // applied everything this gateway consumed on the partition.
  const readModelCaughtUp = async (partition: number): Promise<boolean> => {
    const next = consumed.get(partition) ?? 0;
    if (next === 0) return true;
    const lastConsumed = { topic: topics.events, partition, offset: next - 1 };
    return options.progress.waitFor(options.projection, lastConsumed, config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS);
  };
  const membership = createMembership({ db, readModelCaughtUp, logger });
  const toRoomMembers = (roomId: string, frame: string, only?: (session: Session) => boolean) =>
    membership.withMembers(roomId, (members) => {
      for (const userId of members) {
        for (const session of sessions.of(userId) ?? []) if (only === undefined || only(session)) send(session, frame);
      }
    });

  const views = createRoomViews({
    publish,
    onChange: (roomId, userId, active) =>
      toRoomMembers(
        roomId,
        serverFrame(active ? 'USER_JOINED' : 'USER_LEFT', { chat_room_id: roomId, user_id: userId }),
        (session) => session.joined.has(roomId),
      ),
  });
  const typing = createTyping({
    publish,
    ttlMs: config.PARLEY_TYPING_TTL_MS,
    onChange: (roomId, userId, isTyping) =>
      toRoomMembers(
        roomId,
        serverFrame('TYPING', { chat_room_id: roomId, user_id: userId, is_typing: isTyping }),
        (session) => session.userId !== userId,
      ),
  });
  const notifyPresence = createPresenceNotifier({ db, sessions, send: sendToUser });

  const fanout = createFanout({
    sessions,
    membership,
    send,
    db,
    progress: options.progress,
    projection: options.projection,
    catchUpTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
  });
  // ACKs answer from the stream (accepted-messages.ts): keep the messages of
  // senders connected here until their ACK has gone.
  const accepted = createAcceptedMessages(config.PARLEY_GATEWAY_ACK_MESSAGES);
  const createdHere = (event: AnyEvent, commandId: string | undefined) =>
    event.type === 'message_sent' && commandId !== undefined && sessions.isConnected(event.data.sender_id)
      ? { commandId, message: messageFromEvent(event.data) }
      : undefined;
  const eventsConsumer: Consumer = await log.consume({
    topic: topics.events,
    group: null,
    from: 'latest',
    eachBatch: async ({ partition, records }) => {
      for (const record of records) {
        consumed.set(partition, record.offset + 1);
        const position = { topic: record.topic, partition, offset: record.offset };
        const event = decodeEventRecord<AnyEvent>(codec, record);
        if (event === null) {
          accepted.passed(position);
          continue;
        }
        accepted.passed(position, createdHere(event, record.headers[headers.commandId]));
        try {
          await fanout.deliver(event, position);
        } catch (error) {
          logger.error({ err: error, type: event.type }, 'delivery failed');
        }
      }
    },
  });
  const signalsConsumer: Consumer = await log.consume({
    topic: topics.signals,
    group: null,
    from: 'latest',
    eachBatch: async ({ records }) => {
      for (const record of records) {
        const signal = decodeSignal(codec, record);
        if (signal === null) continue;
        switch (signal.type) {
          case 'room_view_started':
          case 'room_view_ended':
            views.apply(signal);
            break;
          case 'typing_started':
          case 'typing_stopped':
            typing.apply(signal);
            break;
          case 'user_online':
          case 'user_offline':
            await notifyPresence(signal).catch((error: unknown) => logger.warn({ err: error }, 'presence not sent'));
            break;
        }
      }
    },
  });

  // Presence leases are renewed while sockets stay open; a crashed gateway's
  // sockets simply expire.
  const renewal = setInterval(() => {
    const open = new Map<string, Session>();
    for (const userSessions of sessions.all()) for (const session of userSessions) open.set(session.id, session);
    const leases = [...open.values()].map((session) => ({ userId: session.userId, socketId: session.id }));
    presence
      .renew(leases)
      .then(async (unknown) => {
        // The store lost these (Redis restarted empty) while they stayed open.
        for (const { userId, socketId } of unknown) {
          const session = open.get(socketId);
          if (session === undefined || session.socket.readyState !== session.socket.OPEN) continue;
          if (await presence.connect(userId, socketId)) {
            publish({ type: 'user_online', data: { user_id: userId, at: Date.now() } });
          }
        }
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'presence renewal failed'));
  }, Math.max(1000, Math.floor(config.PARLEY_PRESENCE_LEASE_MS / 3)));
  renewal.unref();

  const handle = createFrameHandler({
    config,
    db,
    chat: options.chat,
    membership,
    views,
    typing,
    partitionOf,
    readModelCaughtUp,
    accepted,
    send,
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.PARLEY_MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });

  async function open(socket: WebSocket, stream: Duplex, userId: string, expiresAt: number): Promise<Session> {
    const session: Session = {
      id: randomUUID(),
      socket,
      stream,
      userId,
      joined: new Set(),
      cursors: new Map(),
      bucket: { tokens: config.PARLEY_WS_RATE_BURST, updatedAt: Date.now() },
      strikes: 0,
    };
    sessions.add(session);
    // Registered before anything awaits, so a socket that closes during set-up
    // is still disconnected (after its connect), never left online.
    const connected = presence.connect(userId, session.id).then(
      (cameOnline) => {
        if (cameOnline) publish({ type: 'user_online', data: { user_id: userId, at: Date.now() } });
      },
      (error: unknown) => logger.warn({ err: error }, 'presence connect failed'),
    );
    // A socket lives no longer than the token that opened it.
    const expiry = setTimeout(() => socket.close(1008, 'token expired'), Math.max(0, expiresAt - Date.now()));
    socket.once('close', () => {
      clearTimeout(expiry);
      connections--;
      for (const roomId of session.joined) views.leave(roomId, userId, session.id);
      const lastHere = sessions.remove(session);
      if (lastHere) {
        typing.stopAll(userId);
        membership.prune(sessions.isConnected);
      }
      void connected
        .then(() => presence.disconnect(userId, session.id))
        .then(
          (wentOffline) => {
            if (wentOffline) publish({ type: 'user_offline', data: { user_id: userId, at: Date.now() } });
          },
          (error: unknown) => logger.warn({ err: error }, 'presence disconnect failed'),
        );
    });
    await Promise.all((await roomIdsOf(db, userId)).map((roomId) => membership.track(roomId, partitionOf(roomId))));
    await connected;
    return session;
  }

  function onFrame(session: Session, raw: RawData, isBinary: boolean) {
    if (!takeToken(session.bucket, config.PARLEY_WS_RATE_PER_S, config.PARLEY_WS_RATE_BURST, Date.now())) {
      session.strikes++;
      if (session.strikes >= config.PARLEY_WS_RATE_STRIKES) session.socket.close(1008, 'rate limit');
      else send(session, errorFrame('rate_limited', 'too many frames; slow down'));
      return;
    }
    const parsed = parseFrame(raw, isBinary);
    if ('error' in parsed) {
      send(session, errorFrame(parsed.error.code, parsed.error.message, parsed.ref));
      return;
    }
    handle(session, parsed.frame).catch((error: unknown) => {
      const clientError = toApiError(error);
      if (clientError.status >= 500) logger.error({ err: error, type: parsed.frame.type }, 'frame failed');
      send(session, errorFrame(clientError.code, clientError.message, parsed.frame.ref));
    });
  }

  function parseFrame(
    raw: RawData,
    isBinary: boolean,
  ): { frame: ClientFrame } | { error: { code: string; message: string }; ref?: string } {
    if (isBinary) return { error: { code: 'invalid_frame', message: 'frames must be JSON text' } };
    let value: unknown;
    try {
      value = JSON.parse(raw.toString());
    } catch {
      return { error: { code: 'invalid_json', message: 'frame is not valid JSON' } };
    }
    const candidate = typeof value === 'object' && value !== null ? (value as { ref?: unknown; type?: unknown }) : {};
    const ref = typeof candidate.ref === 'string' ? candidate.ref.slice(0, 64) : undefined;
    const withRef = ref === undefined ? {} : { ref };
    const result = frames.safeParse(value);
    if (result.success) return { frame: result.data };
    if (typeof candidate.type !== 'string' || !clientFrameTypes.has(candidate.type)) {
      return { error: { code: 'unknown_type', message: 'unknown frame type' }, ...withRef };
    }
    return { error: { code: 'validation_failed', message: describeZod(result.error) }, ...withRef };
  }

  function authenticated(socket: WebSocket, stream: Duplex, userId: string, expiresAt: number) {
    if (sessions.count(userId) >= config.PARLEY_WS_MAX_SOCKETS_PER_USER) {
      socket.close(1008, 'too many connections');
      return;
    }
    // Frames that arrive while the session is being set up wait for it.
    const early: [RawData, boolean][] = [];
    const buffer = (raw: RawData, isBinary: boolean) => early.push([raw, isBinary]);
    socket.on('message', buffer);
    open(socket, stream, userId, expiresAt).then(
      (session) => {
        socket.off('message', buffer);
        socket.on('message', (raw, isBinary) => onFrame(session, raw, isBinary));
        send(session, serverFrame('AUTH_SUCCESS', { user_id: userId }));
        for (const [raw, isBinary] of early) onFrame(session, raw, isBinary);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'socket setup failed');
        socket.close(1011, 'setup failed');
      },
    );
  }

  /** No token on the URL: the first frame must be AUTH, within a deadline. */
  function awaitAuthFrame(socket: WebSocket, stream: Duplex) {
    const timer = setTimeout(() => socket.close(1008, 'authentication timeout'), config.PARLEY_WS_AUTH_TIMEOUT_MS);
    socket.once('message', (raw, isBinary) => {
      clearTimeout(timer);
      const parsed = parseFrame(raw, isBinary);
      if ('error' in parsed || parsed.frame.type !== 'AUTH') {
        socket.send(errorFrame('unauthorized', 'the first frame must be AUTH'));
        socket.close(1008, 'unauthorized');
        return;
      }
      const ref = parsed.frame.ref;
      options.verifyToken(parsed.frame.data.token).then(
        ({ userId, expiresAt }) => authenticated(socket, stream, userId, expiresAt),
        () => {
          socket.send(errorFrame('invalid_token', 'invalid or expired token', ref));
          socket.close(1008, 'invalid token');
        },
      );
    });
  }

  // One listener shared by every socket: a closure made per upgrade would keep
  // that upgrade's request (headers, the URL with its token) alive as long as
  // the socket lives.
  const onSocketError = (error: Error) => logger.debug({ err: error }, 'socket error');

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const token = url.searchParams.get('token');
    const accept = (identity: { userId: string; expiresAt: number } | null) =>
      wss.handleUpgrade(request, socket, head, (ws) => {
        connections++;
        ws.on('error', onSocketError);
        if (identity === null) awaitAuthFrame(ws, socket);
        else authenticated(ws, socket, identity.userId, identity.expiresAt);
      });
    if (token === null) {
      accept(null);
      return;
    }
    // A bad token is refused before the upgrade: no socket is opened.
    options.verifyToken(token).then(accept, () => {
      const body = JSON.stringify({ error: { code: 'invalid_token', message: 'invalid or expired token' } });
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  return {
    attach(server) {
      server.on('upgrade', onUpgrade);
    },
    connectionCount: () => connections,
    async stop() {
      clearInterval(renewal);
      typing.stop();
      await eventsConsumer.stop();
      await signalsConsumer.stop();
      for (const userSessions of sessions.all()) {
        for (const session of userSessions) session.socket.close(1001, 'server shutting down');
      }
      wss.close();
    },
  };
}

function describeZod(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(frame)'}: ${issue.message}`)
    .join('; ');
}
