// The WebSocket gateway on `/ws`: authenticates sockets, turns client frames
// into commands and queries, and streams the events log to the sockets that
// should see each event. Several gateways can run; each serves its own sockets.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { ZodError } from 'zod';
import type { ChatService } from '../commands/chat-service.ts';
import type { EventCodec } from '../commands/processor.ts';
import { commandInputs } from '../commands/inputs.ts';
import type { Config } from '../config.ts';
import type { AnyEvent } from '../domain/aggregates.ts';
import { roomAggregateId } from '../domain/room.ts';
import type { Consumer, Log, Position } from '../log/port.ts';
import { headers, topics } from '../log/topics.ts';
import type { ProjectionProgress } from '../projections/progress.ts';
import { readHistory } from '../queries/messages-queries.ts';
import { isMember, roomIdsOf } from '../queries/rooms-queries.ts';
import type { Database } from '../store/schema.ts';
import { toApiError } from '../http/errors.ts';
import { createFanout, deliverInOrder } from './fanout.ts';
import { clientFrameSchemas, errorFrame, serverFrame, type ClientFrame } from './frames.ts';
import { createMembership } from './membership.ts';
import { createRoomViews, type RoomViews } from './room-views.ts';
import { SessionRegistry, takeToken, type RoomCursor, type Session } from './sessions.ts';

export interface GatewayOptions {
  config: Config;
  log: Log;
  db: Kysely<Database>;
  codec: EventCodec;
  chat: ChatService;
  progress: ProjectionProgress;
  projection: string;
  logger: Logger;
  instanceId: string;
  /** Verifies an access token; throws when it is not valid. */
  verifyToken: (token: string) => Promise<{ userId: string; expiresAt: number }>;
  /** Called when a user's first socket opens and last socket closes (presence). */
  onPresence?: (userId: string, online: boolean) => void;
}

export interface Gateway {
  attach(server: Server): void;
  /** Sockets currently open (for tests and metrics). */
  connectionCount(): number;
  stop(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, log, db, codec, chat, logger } = options;
  const frames = clientFrameSchemas(commandInputs(config));
  const sessions = new SessionRegistry();
  const consumed = new Map<number, number>();
  let connections = 0;

  const membership = createMembership({
    db,
    progress: options.progress,
    projection: options.projection,
    consumedUpTo: (partition) => ({ topic: topics.events, partition, offset: consumed.get(partition) ?? 0 }),
    catchUpTimeoutMs: config.PARLEY_READ_YOUR_WRITES_TIMEOUT_MS,
    logger,
  });

  const send = (session: Session, frame: string) => {
    const socket = session.socket;
    if (socket.readyState !== socket.OPEN) return;
    // A socket that cannot keep up is dropped rather than buffered without
    // bound; its client resumes with since_seq.
    if (socket.bufferedAmount > config.PARLEY_WS_MAX_BUFFERED_BYTES) {
      socket.close(1013, 'too slow');
      return;
    }
    socket.send(frame);
  };

  const fanout = createFanout({ sessions, membership, send });
  const eventsConsumer: Consumer = await log.consume({
    topic: topics.events,
    group: null,
    from: 'latest',
    eachBatch: async ({ partition, records }) => {
      for (const record of records) {
        consumed.set(partition, record.offset + 1);
        const type = record.headers[headers.eventType];
        if (type === undefined) continue;
        fanout.deliver({ type, data: codec.decode(type, record.value) } as AnyEvent, partition);
      }
    },
  });

  const views: RoomViews = await createRoomViews({
    log,
    instanceId: options.instanceId,
    onChange: (roomId, userId, active) => {
      const frame = serverFrame(active ? 'USER_JOINED' : 'USER_LEFT', { chat_room_id: roomId, user_id: userId });
      membership.withMembers(roomId, (members) => {
        for (const memberId of members) {
          for (const session of sessions.of(memberId) ?? []) if (session.joined.has(roomId)) send(session, frame);
        }
      });
    },
  });

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.PARLEY_MAX_FRAME_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });

  function partitionOf(roomId: string): number {
    return log.partitionForKey(topics.events, roomAggregateId(roomId));
  }

  async function open(socket: WebSocket, userId: string, expiresAt: number): Promise<Session> {
    const session: Session = {
      id: randomUUID(),
      socket,
      userId,
      joined: new Map(),
      bucket: { tokens: config.PARLEY_WS_RATE_BURST, updatedAt: Date.now() },
      strikes: 0,
    };
    const first = sessions.count(userId) === 0;
    sessions.add(session);
    // A socket lives no longer than the token that opened it.
    const expiry = setTimeout(() => socket.close(1008, 'token expired'), Math.max(0, expiresAt - Date.now()));
    socket.once('close', () => {
      clearTimeout(expiry);
      connections--;
      for (const roomId of session.joined.keys()) views.leave(roomId, userId, session.id);
      if (sessions.remove(session)) {
        membership.prune(sessions.isConnected);
        options.onPresence?.(userId, false);
      }
    });
    await Promise.all((await roomIdsOf(db, userId)).map((roomId) => membership.track(roomId, partitionOf(roomId))));
    if (first) options.onPresence?.(userId, true);
    return session;
  }

  async function handle(session: Session, frame: ClientFrame): Promise<void> {
    const ref = frame.ref;
    switch (frame.type) {
      case 'PING':
        send(session, serverFrame('PONG', {}, ref));
        return;
      case 'AUTH':
        send(session, errorFrame('already_authenticated', 'this socket is already authenticated', ref));
        return;
      case 'SEND_MESSAGE': {
        const { chat_room_id, ...input } = frame.data;
        const message = await chat.sendMessage(session.userId, chat_room_id, input);
        send(session, serverFrame('ACK', { ref: ref ?? null, message }, ref));
        return;
      }
      case 'JOIN_ROOM': {
        const { chat_room_id: roomId, since_seq } = frame.data;
        if (!(await isMember(db, roomId, session.userId))) {
          send(session, errorFrame('room_not_found', 'room not found', ref));
          return;
        }
        await membership.track(roomId, partitionOf(roomId));
        const rejoin = session.joined.has(roomId);
        // With since_seq, live messages wait until the replay has been sent.
        const cursor: RoomCursor = { lastSeq: since_seq ?? 0, queue: since_seq === undefined ? null : [] };
        session.joined.set(roomId, cursor);
        const replay =
          since_seq === undefined
            ? []
            : await readHistory(db, roomId, { after_seq: since_seq, limit: config.PARLEY_REPLAY_MAX });
        send(session, serverFrame('JOIN_SUCCESS', { chat_room_id: roomId, last_seq: await lastSeqOf(roomId) }, ref));
        for (const message of replay) {
          cursor.lastSeq = message.seq;
          send(session, serverFrame('NEW_MESSAGE', message));
        }
        const queued = cursor.queue ?? [];
        cursor.queue = null;
        for (const live of queued) deliverInOrder(session, roomId, live.seq, live.frame, send);
        if (!rejoin) views.join(roomId, session.userId, session.id);
        const users = new Set([...views.activeIn(roomId), session.userId]);
        send(session, serverFrame('USERS', { chat_room_id: roomId, users: [...users] }));
        return;
      }
      case 'LEAVE_ROOM': {
        const roomId = frame.data.chat_room_id;
        if (session.joined.delete(roomId)) views.leave(roomId, session.userId, session.id);
        return;
      }
    }
  }

  async function lastSeqOf(roomId: string): Promise<number> {
    const row = await db.selectFrom('rooms').select('last_seq').where('id', '=', roomId).executeTakeFirst();
    return row === undefined ? 0 : Number(row.last_seq);
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
    const ref = typeof value === 'object' && value !== null && typeof (value as { ref?: unknown }).ref === 'string'
      ? ((value as { ref: string }).ref.slice(0, 64))
      : undefined;
    const result = frames.safeParse(value);
    if (result.success) return { frame: result.data };
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !['AUTH', 'SEND_MESSAGE', 'JOIN_ROOM', 'LEAVE_ROOM', 'PING'].includes(type)) {
      return { error: { code: 'unknown_type', message: 'unknown frame type' }, ...(ref ? { ref } : {}) };
    }
    return { error: { code: 'validation_failed', message: describeZod(result.error) }, ...(ref ? { ref } : {}) };
  }

  function authenticated(socket: WebSocket, userId: string, expiresAt: number) {
    if (sessions.count(userId) >= config.PARLEY_WS_MAX_SOCKETS_PER_USER) {
      socket.close(1008, 'too many connections');
      return;
    }
    // Frames that arrive while the session is being set up wait for it.
    const early: [RawData, boolean][] = [];
    const buffer = (raw: RawData, isBinary: boolean) => early.push([raw, isBinary]);
    socket.on('message', buffer);
    open(socket, userId, expiresAt).then(
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
  function awaitAuthFrame(socket: WebSocket) {
    const timer = setTimeout(() => socket.close(1008, 'authentication timeout'), config.PARLEY_WS_AUTH_TIMEOUT_MS);
    socket.once('message', (raw, isBinary) => {
      clearTimeout(timer);
      const parsed = parseFrame(raw, isBinary);
      if ('error' in parsed || parsed.frame.type !== 'AUTH') {
        socket.send(errorFrame('unauthorized', 'the first frame must be AUTH'));
        socket.close(1008, 'unauthorized');
        return;
      }
      const token = parsed.frame.data.token;
      options.verifyToken(token).then(
        ({ userId, expiresAt }) => authenticated(socket, userId, expiresAt),
        () => {
          socket.send(errorFrame('invalid_token', 'invalid or expired token', parsed.frame.ref));
          socket.close(1008, 'invalid token');
        },
      );
    });
  }

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
        ws.on('error', (error) => logger.debug({ err: error }, 'socket error'));
        if (identity === null) awaitAuthFrame(ws);
        else authenticated(ws, identity.userId, identity.expiresAt);
      });
    if (token === null) {
      accept(null);
      return;
    }
    // A bad token is refused before the upgrade: no socket is opened.
    options.verifyToken(token).then(accept, () => {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n' +
          JSON.stringify({ error: { code: 'invalid_token', message: 'invalid or expired token' } }),
      );
    });
  }

  return {
    attach(server) {
      server.on('upgrade', onUpgrade);
    },
    connectionCount: () => connections,
    async stop() {
      await eventsConsumer.stop();
      await views.stop();
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

export type { Position };
