// Probes of the real servers that integration suites need (Redis, Kafka, …).
// An unreachable server skips its suite with a loud warning, so `npm test`
// still works on a bare machine; with PARLEY_REQUIRE_INFRA=1 (CI) it fails
// instead, so a missing server can never pass unnoticed.
//
//   const redisUrl = await redisAvailable('presence');   // string | undefined
//   describe.runIf(redisUrl !== undefined)('… on Redis', () => { … });

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const requireInfra = process.env.PARLEY_REQUIRE_INFRA === '1';

/**
 * Runs `probe`; resolves true when it succeeds. When it fails: throws under
 * PARLEY_REQUIRE_INFRA=1, otherwise warns loudly and resolves false.
 */
export async function infraAvailable(server: string, where: string, suite: string, probe: () => Promise<void>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (requireInfra) {
      throw new Error(`PARLEY_REQUIRE_INFRA=1 but ${server} at ${where} is unreachable (${reason})`, { cause: error });
    }
    const bar = '!'.repeat(72);
    console.warn(
      `\n${bar}\n` +
        `!! ${suite}: ${server} at ${where} is unreachable (${reason}).\n` +
        `!! The ${server} suite is SKIPPED. Set PARLEY_REQUIRE_INFRA=1 to make this fail.\n` +
        `${bar}\n`,
    );
    return false;
  }
}

/** Kafka for tests: PARLEY_TEST_KAFKA_BROKERS, else the local stack's single broker. */
export const testKafkaBrokers = (process.env.PARLEY_TEST_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** Redis for tests: PARLEY_TEST_REDIS_URL, else the local stack's (scripts/stack.sh, PARLEY_REDIS_PORT). */
export const testRedisUrl = process.env.PARLEY_TEST_REDIS_URL ?? `redis://127.0.0.1:${process.env.PARLEY_REDIS_PORT ?? '6379'}`;

/** A client that fails fast instead of queueing commands while Redis is down. */
export function testRedisClient(url: string = testRedisUrl): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 });
}

/** Resolves the Redis URL when Redis answers PING (see infraAvailable), else undefined. */
export async function redisAvailable(suite: string, url: string = testRedisUrl): Promise<string | undefined> {
  const ok = await infraAvailable('Redis', url, suite, async () => {
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    // ioredis rejects with "Connection is closed."; the 'error' event has the cause.
    let cause: Error | undefined;
    client.on('error', (error: Error) => (cause ??= error));
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      throw cause ?? error;
    } finally {
      client.disconnect();
    }
  });
  return ok ? url : undefined;
}

/**
 * A Confluent-compatible schema registry for tests: PARLEY_TEST_SCHEMA_REGISTRY_URL,
 * else the local stack's Apicurio (scripts/stack.sh, PARLEY_REGISTRY_PORT).
 */
export const testSchemaRegistryUrl =
  process.env.PARLEY_TEST_SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${process.env.PARLEY_REGISTRY_PORT ?? '8081'}/apis/ccompat/v7`;

/** Resolves the registry URL when GET /subjects answers 200 (see infraAvailable), else undefined. */
export async function schemaRegistryAvailable(suite: string, url: string = testSchemaRegistryUrl): Promise<string | undefined> {
  const ok = await infraAvailable('schema registry', url, suite, async () => {
    // fetch says only "fetch failed"; the cause says why (ECONNREFUSED …).
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(3000) }).catch((error: unknown) => {
      throw (error instanceof Error ? error.cause : undefined) ?? error;
    });
    if (response.status !== 200) throw new Error(`GET /subjects answered HTTP ${response.status}`);
    await response.arrayBuffer();
  });
  return ok ? url : undefined;
}

/** A key prefix no other test run uses. */
export const uniqueRedisPrefix = (): string => `parley-test:${randomBytes(6).toString('hex')}:`;

/** Deletes every key under a prefix (a test's cleanup). */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
