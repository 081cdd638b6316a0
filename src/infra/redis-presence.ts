// The presence port on Redis, shared by every gateway and API instance.
//
// Per user one sorted set `<prefix>presence:user:<id>`: member = socket id,
// score = the socket's lease expiry in epoch ms. A member whose score is not
// in the future is dead (its gateway stopped renewing it, e.g. it crashed).
// Every write gives the key a TTL of a few leases, so the key of a user whose
// sockets all died without a disconnect vanishes by itself.
//
// One clock: lease expiries are computed *and* compared with Redis's own TIME
// inside Lua scripts, never with an instance's clock. Leases written by one
// gateway are judged by every other instance; with app clocks, a gateway whose
// clock runs S ms behind would shorten its sockets' leases by S for everyone
// (users blink offline when S approaches the lease) and one running ahead
// would keep a crashed gateway's users online S ms longer. Redis TIME makes
// skew between instances irrelevant, at the price of scripts instead of plain
// ZADD/ZCOUNT (negligible: a script here is a handful of commands). Redis 7
// replicates script effects, so TIME inside a writing script is allowed.
//
// Each script touches exactly one key, so all of them would also be valid on
// a cluster (batches are pipelined one script per user).
//
// The client is the caller's: close() does not quit it (compose.ts shares one
// connection between presence, rate limits and the like, and quits it last).

import type { ChainableCommander, Redis } from 'ioredis';
import type { Presence } from './presence.ts';

export interface RedisPresenceOptions {
  redis: Redis;
  /** A socket's lease; its gateway renews it every third of this. */
  leaseMs: number;
  keyPrefix?: string;
  /** A user key lives this many leases after its last write (default 3). */
  keyTtlLeases?: number;
}

// Redis TIME as epoch ms. Lua 5.1 numbers are doubles: exact for ms epochs,
// and printed with 14 significant digits, enough for 13-digit ms.
const now = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** KEYS[1] user key; ARGV socket id, lease ms, key TTL ms → 1 when the user had no live socket before. */
const connectLua = `${now}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local before = redis.call('ZCARD', KEYS[1])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if before == 0 then return 1 end
return 0`;

/**
 * KEYS[1] user key; ARGV socket id → 1 when this removed a live socket and no
 * live socket is left. Expired members are dropped first, like the memory
 * adapter: a socket whose lease already ran out was offline already.
 * Removing the last member deletes the key (Redis drops empty sets).
 */
const disconnectLua = `${now}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 1 and redis.call('ZCARD', KEYS[1]) == 0 then return 1 end
return 0`;

/**
 * KEYS[1] user key; ARGV lease ms, key TTL ms, socket ids… — pushes the lease
 * of sockets that are still members (a socket disconnected meanwhile is not
 * brought back) and returns the ids that are not: the caller knows which of
 * them are still open (a Redis that restarted empty) and connects those again.
 */
const renewLua = `${now}
local expires = now + tonumber(ARGV[1])
local unknown = {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', expires, ARGV[i])
  else
    table.insert(unknown, ARGV[i])
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return unknown`;

/** KEYS[1] user key → number of live sockets. */
const countLua = `${now}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')`;

// Registered on the client with defineCommand: ioredis sends EVALSHA, falls
// back to EVAL on NOSCRIPT (a restarted or flushed Redis), also in pipelines.
interface PresenceScripts {
  parleyPresenceConnect(key: string, socketId: string, leaseMs: number, keyTtlMs: number): Promise<number>;
  parleyPresenceDisconnect(key: string, socketId: string): Promise<number>;
}
interface PresencePipeline {
  parleyPresenceRenew(key: string, leaseMs: number, keyTtlMs: number, ...socketIds: string[]): unknown;
  parleyPresenceCount(key: string): unknown;
}

export function createRedisPresence(options: RedisPresenceOptions): Presence {
  const { redis, leaseMs } = options;
  const keyPrefix = options.keyPrefix ?? 'parley:';
  const keyTtlMs = leaseMs * (options.keyTtlLeases ?? 3);
  if (!(leaseMs > 0) || !(keyTtlMs >= leaseMs))
    throw new Error('presence: leaseMs must be > 0 and the key TTL at least one lease');

  redis.defineCommand('parleyPresenceConnect', { numberOfKeys: 1, lua: connectLua });
  redis.defineCommand('parleyPresenceDisconnect', { numberOfKeys: 1, lua: disconnectLua });
  redis.defineCommand('parleyPresenceRenew', { numberOfKeys: 1, lua: renewLua });
  redis.defineCommand('parleyPresenceCount', { numberOfKeys: 1, lua: countLua, readOnly: true });
  const scripts = redis as unknown as PresenceScripts;
  const pipeline = () => redis.pipeline() as ChainableCommander & PresencePipeline;

  const userKey = (userId: string) => `${keyPrefix}presence:user:${userId}`;

  return {
    async connect(userId, socketId) {
      return (await scripts.parleyPresenceConnect(userKey(userId), socketId, leaseMs, keyTtlMs)) === 1;
    },
    async disconnect(userId, socketId) {
      return (await scripts.parleyPresenceDisconnect(userKey(userId), socketId)) === 1;
    },
    async renew(sockets) {
      if (sockets.length === 0) return [];
      const byUser = new Map<string, string[]>();
      for (const { userId, socketId } of sockets) {
        const ids = byUser.get(userId);
        if (ids === undefined) byUser.set(userId, [socketId]);
        else ids.push(socketId);
      }
      const batch = pipeline();
      const users = [...byUser];
      for (const [userId, socketIds] of users) batch.parleyPresenceRenew(userKey(userId), leaseMs, keyTtlMs, ...socketIds);
      const results = await execOrThrow(batch);
      return users.flatMap(([userId], i) => (results[i] as string[]).map((socketId) => ({ userId, socketId })));
    },
    async online(userIds) {
      const unique = [...new Set(userIds)];
      if (unique.length === 0) return new Set();
      const batch = pipeline();
      for (const userId of unique) batch.parleyPresenceCount(userKey(userId));
      const counts = await execOrThrow(batch);
      return new Set(unique.filter((_, i) => Number(counts[i]) > 0));
    },
    async close() {},
  };
}

/** Runs a pipeline; rejects with the first command's error, if any. */
async function execOrThrow(batch: ChainableCommander): Promise<unknown[]> {
  const results = (await batch.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
