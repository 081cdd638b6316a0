// Presence is a lease per socket in the presence store (Redis or memory). The
// gateway renews the leases of its open sockets every third of the lease, so
// a crashed gateway's sockets simply expire; a lease the store lost while its
// socket stayed open (Redis restarted empty) is taken again, and its user is
// announced online again if that made them so.

import type { Logger } from 'pino';
import type { Presence } from '../infra/presence.ts';
import type { AnySignal } from '../log/signals.ts';
import type { Session, SessionRegistry } from './sessions.ts';

export function renewPresenceLeases(options: {
  sessions: SessionRegistry;
  presence: Presence;
  publish: (signal: AnySignal) => void;
  leaseMs: number;
  logger: Logger;
}): { stop(): void } {
  const { sessions, presence, publish, logger } = options;
  const renew = async () => {
    const open = new Map<string, Session>();
    for (const userSessions of sessions.all()) for (const session of userSessions) open.set(session.id, session);
    const leases = [...open.values()].map((session) => ({ userId: session.userId, socketId: session.id }));
    const unknown = await presence.renew(leases);
    for (const { userId, socketId } of unknown) {
      const session = open.get(socketId);
      if (session === undefined || session.socket.readyState !== session.socket.OPEN) continue;
      if (await presence.connect(userId, socketId)) {
        publish({ type: 'user_online', data: { user_id: userId, at: Date.now() } });
      }
    }
  };
  const timer = setInterval(
    () => {
      renew().catch((error: unknown) => logger.warn({ err: error }, 'presence renewal failed'));
    },
    Math.max(1000, Math.floor(options.leaseMs / 3)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
