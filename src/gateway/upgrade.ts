// The way into the gateway: an HTTP upgrade on /ws becomes an authenticated
// WebSocket. The access token comes on the URL (`?token=`, checked before the
// upgrade: a bad token opens no socket) or in an AUTH frame, the first frame,
// within PARLEY_WS_AUTH_TIMEOUT_MS. The socket is then connected
// (connections.ts) and its frames go to the frame handler; frames that arrive
// while the connection is set up wait for it.
//
// Before any of that, an upgrade is refused when a browser page of another
// origin asks for it (cross-site WebSocket hijacking: 403), and when its IP
// already holds too many sockets that have not authenticated (429). Every
// socket is then pinged (heartbeat.ts) and dropped when it stops answering.
//
// A reconnect storm (a gateway died and its clients all come here at once) is
// shed, not queued: while PARLEY_WS_MAX_CONNECTING sockets are being set up
// (their token checked, their rooms and presence loaded), a new one is refused
// with 503 and Retry-After (an AUTH frame: ERROR server_busy, close 1013), and
// its client retries after a jittered back-off. Sockets already connected keep
// their stream, and the waiting is done by the clients, not in this process's
// memory.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Config } from '../config.ts';
import { clientIpOf } from '../http/client-ip.ts';
import { originAllowed } from '../http/cors.ts';
import { startHeartbeat } from './heartbeat.ts';
import type { Connect, Identity } from './connections.ts';
import { errorFrame, parseFrame, serverFrame, type ClientFrameSchemas } from './frames.ts';
import type { Session, SessionRegistry } from './sessions.ts';

export interface Upgrades {
  /** The HTTP server's `upgrade` listener. */
  onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Stops accepting sockets. */
  close: () => void;
  /** Sockets upgraded that have not authenticated yet (the sockets gauge). */
  unauthenticatedCount: () => number;
}

type GatewayLimits = Pick<
  Config,
  | 'PARLEY_MAX_FRAME_BYTES'
  | 'PARLEY_WS_AUTH_TIMEOUT_MS'
  | 'PARLEY_WS_MAX_SOCKETS_PER_USER'
  | 'PARLEY_WS_MAX_UNAUTHENTICATED_PER_IP'
  | 'PARLEY_WS_MAX_CONNECTING'
  | 'PARLEY_WS_BUSY_RETRY_AFTER_S'
  | 'PARLEY_WS_PING_INTERVAL_MS'
  | 'PARLEY_WS_MAX_MISSED_PONGS'
  | 'PARLEY_CORS_ORIGINS'
  | 'PARLEY_TRUST_PROXY'
> &
  Partial<Pick<Config, 'PARLEY_PUBLIC_URL'>>;

export function acceptUpgrades(options: {
  config: GatewayLimits;
  schemas: ClientFrameSchemas;
  sessions: SessionRegistry;
  /** Verifies an access token; throws when it is not valid. */
  verifyToken: (token: string) => Promise<Identity>;
  connect: Connect;
  receive: (session: Session, raw: RawData, isBinary: boolean) => void;
  send: (session: Session, frame: string) => void;
  /** Sends a connected socket its first frame, then what waited for it (room-stream.ts). */
  open: (session: Session, firstFrame: string) => void;
  /** A socket refused because too many were being set up. */
  onShed?: () => void;
  logger: Logger;
}): Upgrades {
  const { config, sessions, logger } = options;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.PARLEY_MAX_FRAME_BYTES,
    // Off: socket-output.ts writes frames beside ws, which needs ws to write synchronously.
    perMessageDeflate: false,
    clientTracking: false,
  });
  const heartbeat = startHeartbeat({
    intervalMs: config.PARLEY_WS_PING_INTERVAL_MS,
    maxMissed: config.PARLEY_WS_MAX_MISSED_PONGS,
  });
  /** client IP → its sockets still waiting for an AUTH frame. */
  const unauthenticated = new Map<string, number>();
  const countUnauthenticated = (ip: string, change: 1 | -1) => {
    const count = (unauthenticated.get(ip) ?? 0) + change;
    if (count <= 0) unauthenticated.delete(ip);
    else unauthenticated.set(ip, count);
  };

  /** Sockets being set up now: a token being verified, or a connection being made (connections.ts). */
  let settingUp = 0;
  const busy = () => settingUp >= config.PARLEY_WS_MAX_CONNECTING;
  /** Counts `work` as one setup while it runs (it always settles: a token check, a connect). */
  function countedSetup<T>(work: Promise<T>): Promise<T> {
    settingUp++;
    return work.finally(() => settingUp--);
  }
  const busyBody = {
    error: { code: 'server_busy', message: 'too many connections are being set up here; retry after a jittered back-off' },
  };

  /** The server's own origin when configured; see originPermitted for the fallback. */
  const ownOrigin = config.PARLEY_PUBLIC_URL === undefined ? undefined : new URL(config.PARLEY_PUBLIC_URL).origin;

  /**
   * A browser always says which page opens a socket; another site's page may
   * not (it would act with a token it got elsewhere, or probe). Pages on the
   * CORS allow-list may, and so may the server's own: PARLEY_PUBLIC_URL's
   * origin when it is set, and then that one only. Unset, the server does not
   * know its name, and the origin whose host is the request's Host header
   * counts as its own — only for this comparison, never to build a URL. A
   * browser sends as Host the host of the URL the page asked for, so another
   * site's page matches it only by DNS rebinding (its own name pointed at this
   * server), which wins it no token; setting PARLEY_PUBLIC_URL closes that too.
   * Schemes are not compared there: behind a TLS proxy the page is https and
   * this server hears http. Native clients send no Origin and are not browsers.
   */
  function originPermitted(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (origin === undefined) return true;
    if (originAllowed(config.PARLEY_CORS_ORIGINS, origin)) return true;
    if (ownOrigin !== undefined) return origin === ownOrigin;
    try {
      return new URL(origin).host === request.headers.host;
    } catch {
      return false; // not a URL (e.g. "null", sent by sandboxed pages)
    }
  }

  function authenticated(socket: WebSocket, stream: Duplex, identity: Identity) {
    if (sessions.count(identity.userId) >= config.PARLEY_WS_MAX_SOCKETS_PER_USER) {
      socket.close(1008, 'too many connections');
      return;
    }
    const early: [RawData, boolean][] = [];
    const buffer = (raw: RawData, isBinary: boolean) => early.push([raw, isBinary]);
    socket.on('message', buffer);
    countedSetup(options.connect(socket, stream, identity)).then(
      (session) => {
        socket.off('message', buffer);
        socket.on('message', (raw, isBinary) => options.receive(session, raw, isBinary));
        options.open(session, serverFrame('AUTH_SUCCESS', { user_id: identity.userId }));
        for (const [raw, isBinary] of early) options.receive(session, raw, isBinary);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'socket setup failed');
        socket.close(1011, 'setup failed');
      },
    );
  }

  /** No token on the URL: the first frame must be AUTH, within a deadline. It counts against its IP until then. */
  function awaitAuthFrame(socket: WebSocket, stream: Duplex, ip: string) {
    countUnauthenticated(ip, 1);
    let counted = true;
    const uncount = () => {
      if (counted) countUnauthenticated(ip, -1);
      counted = false;
    };
    socket.once('close', uncount);
    const timer = setTimeout(() => socket.close(1008, 'authentication timeout'), config.PARLEY_WS_AUTH_TIMEOUT_MS);
    socket.once('message', (raw, isBinary) => {
      clearTimeout(timer);
      uncount();
      const parsed = parseFrame(options.schemas, raw, isBinary);
      if ('error' in parsed || parsed.frame.type !== 'AUTH') {
        socket.send(errorFrame('unauthorized', 'the first frame must be AUTH'));
        socket.close(1008, 'unauthorized');
        return;
      }
      const ref = parsed.frame.ref;
      if (busy()) {
        options.onShed?.();
        socket.send(errorFrame('server_busy', busyBody.error.message, ref, { retry_after: config.PARLEY_WS_BUSY_RETRY_AFTER_S }));
        socket.close(1013, 'try again later');
        return;
      }
      countedSetup(options.verifyToken(parsed.frame.data.token)).then(
        (identity) => authenticated(socket, stream, identity),
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

  return {
    onUpgrade(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== '/ws') {
        socket.end(httpResponse(404, 'Not Found'));
        return;
      }
      if (!originPermitted(request)) {
        socket.end(
          httpResponse(403, 'Forbidden', { error: { code: 'origin_not_allowed', message: 'this origin may not open a socket' } }),
        );
        return;
      }
      const ip = clientIpOf(request, config.PARLEY_TRUST_PROXY);
      const token = url.searchParams.get('token');
      const accept = (identity: Identity | null) =>
        wss.handleUpgrade(request, socket, head, (ws) => {
          ws.on('error', onSocketError);
          heartbeat.watch(ws);
          if (identity === null) awaitAuthFrame(ws, socket, ip);
          else authenticated(ws, socket, identity);
        });
      if (token === null) {
        if ((unauthenticated.get(ip) ?? 0) >= config.PARLEY_WS_MAX_UNAUTHENTICATED_PER_IP) {
          socket.end(
            httpResponse(429, 'Too Many Requests', {
              error: { code: 'too_many_connections', message: 'too many unauthenticated sockets from this address' },
            }),
          );
          return;
        }
        accept(null);
        return;
      }
      if (busy()) {
        options.onShed?.();
        socket.end(
          httpResponse(503, 'Service Unavailable', busyBody, { 'Retry-After': String(config.PARLEY_WS_BUSY_RETRY_AFTER_S) }),
        );
        return;
      }
      // A bad token is refused before the upgrade: no socket is opened.
      countedSetup(options.verifyToken(token)).then(accept, () => {
        socket.end(httpResponse(401, 'Unauthorized', { error: { code: 'invalid_token', message: 'invalid or expired token' } }));
      });
    },
    close: () => {
      heartbeat.stop();
      wss.close();
    },
    unauthenticatedCount: () => {
      let total = 0;
      for (const count of unauthenticated.values()) total += count;
      return total;
    },
  };
}

/** A whole HTTP/1.1 response for a request that is not upgraded (the connection closes after it). */
function httpResponse(status: number, reason: string, body?: unknown, headers: Record<string, string> = {}): string {
  const text = body === undefined ? '' : JSON.stringify(body);
  const type = body === undefined ? '' : 'Content-Type: application/json; charset=utf-8\r\n';
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${type}${extra}Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}
