// The mode an end-to-end suite runs Parley in. Every suite under test/e2e runs
// twice (vitest.config.ts), as Kysely loops its tests over every dialect: on
// the embedded adapters (project `main`) and on Kafka + MariaDB + Redis
// (project `e2e-distributed`, which sets PARLEY_E2E_MODE=distributed).
//
// In the distributed mode a data dir stands for one deployment: it maps to a
// database, a log namespace and a Redis key prefix of its own, derived from its
// path. A process restarted on the same data dir (restart, rebuild, the CLI)
// therefore finds its state again, and suites never see each other's.

import { createHash } from 'node:crypto';
import path from 'node:path';
import { createTestDatabase, testDatabaseUrl } from './engines.ts';
import { testKafkaBrokers, testRedisUrl } from './infra.ts';

export type E2eMode = 'embedded' | 'distributed';

export const e2eMode: E2eMode = process.env.PARLEY_E2E_MODE === 'distributed' ? 'distributed' : 'embedded';

/** What the distributed mode's deployments are named by, so the run's teardown finds them all. */
export const distributedE2eNames = {
  databasePrefix: 'parley_e2e_',
  namespacePrefix: 'e2e.',
  redisKeyPrefix: 'parley-e2e:',
} as const;

/**
 * The environment that puts a Parley process on `dataDir` in this run's mode:
 * nothing for the embedded mode; the distributed adapters otherwise (creating
 * the deployment's database on first use).
 */
export async function modeEnv(dataDir: string): Promise<Record<string, string>> {
  if (e2eMode === 'embedded') return {};
  const id = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  const database = `${distributedE2eNames.databasePrefix}${id}`;
  await createTestDatabase(database, true);
  return {
    KAFKA_BROKERS: testKafkaBrokers.join(','),
    PARLEY_LOG_NAMESPACE: `${distributedE2eNames.namespacePrefix}${id}`,
    DATABASE_URL: testDatabaseUrl(database),
    REDIS_URL: testRedisUrl,
    PARLEY_REDIS_KEY_PREFIX: `${distributedE2eNames.redisKeyPrefix}${id}:`,
    // Four partitions, as the cluster suites use: fewer topics' worth of work for one broker.
    PARLEY_PARTITIONS: '4',
    PARLEY_KAFKA_SESSION_TIMEOUT_MS: '6000',
  };
}
