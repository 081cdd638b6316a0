// The session-revocations port on Redis, shared by every instance: a revoked
// session is a key that expires with the last token it refuses, and a message
// on a channel tells every gateway to close its sockets now. The check is one
// EXISTS per verification; the channel needs its own connection (a Redis
// connection that subscribes can do nothing else).

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SessionRevocations } from './session-revocations.ts';

export interface RedisSessionRevocationsOptions {
  redis: Redis;
  keyPrefix?: string;
  logger: Logger;
}

export async function createRedisSessionRevocations(options: RedisSessionRevocationsOptions): Promise<SessionRevocations> {
  const { redis, logger } = options;
  const keyPrefix = options.keyPrefix ?? 'parley:';
  const channel = `${keyPrefix}revoked-sessions`;
  const keyOf = (sessionId: string) => `${keyPrefix}revoked-session:${sessionId}`;
  const listeners = new Set<(sessionIds: readonly string[]) => void>();

  const subscriber = redis.duplicate();
  subscriber.on('error', (error: Error) => logger.warn({ err: error }, 'redis subscriber error'));
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel) return;
    let sessionIds: string[];
    try {
      sessionIds = JSON.parse(message) as string[];
    } catch {
      return;
    }
    for (const listener of listeners) listener(sessionIds);
  });
  await subscriber.subscribe(channel);

  return {
    async revoke(sessionIds, untilMs) {
      if (sessionIds.length === 0) return;
      const ttlMs = Math.max(1, Math.ceil(untilMs - Date.now()));
      const writes = redis.multi();
      for (const id of sessionIds) writes.set(keyOf(id), '1', 'PX', ttlMs);
      await writes.exec();
      await redis.publish(channel, JSON.stringify(sessionIds));
    },
    async isRevoked(sessionId) {
      return (await redis.exists(keyOf(sessionId))) === 1;
    },
    onRevoked(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      await subscriber.quit();
    },
  };
}
