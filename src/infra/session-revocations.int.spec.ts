// Session revocations against their contract on both adapters — memory
// (always; its "other instance" is the same process) and Redis (two clients,
// as two instances; skipped loudly when unreachable unless PARLEY_REQUIRE_INFRA=1).

import pino from 'pino';
import { describe } from 'vitest';
import { deleteRedisPrefix, redisAvailable, testRedisClient, uniqueRedisPrefix } from '../../test/support/infra.ts';
import { createRedisSessionRevocations } from './redis-session-revocations.ts';
import { sessionRevocationsContract } from './session-revocations.contract.ts';
import { createMemorySessionRevocations } from './session-revocations.ts';

const redisUrl = await redisAvailable('session revocations');
const logger = pino({ level: 'silent' });

sessionRevocationsContract('memory', () => {
  const revocations = createMemorySessionRevocations();
  return Promise.resolve({ revocations, other: revocations, cleanup: () => revocations.close() });
});

describe.runIf(redisUrl !== undefined)('on Redis', () => {
  sessionRevocationsContract('redis', async () => {
    const keyPrefix = uniqueRedisPrefix();
    const [a, b] = [testRedisClient(redisUrl), testRedisClient(redisUrl)];
    const revocations = await createRedisSessionRevocations({ redis: a, keyPrefix, logger });
    const other = await createRedisSessionRevocations({ redis: b, keyPrefix, logger });
    return {
      revocations,
      other,
      cleanup: async () => {
        await revocations.close();
        await other.close();
        await deleteRedisPrefix(a, keyPrefix);
        await Promise.all([a.quit(), b.quit()]);
      },
    };
  });
});
