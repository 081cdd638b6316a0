// Poison events on the distributed adapters (Kafka, MariaDB): the same
// scenario as the embedded suite (test/support/poison.ts), against one
// instance of a real cluster.

import { afterAll, beforeAll, describe, test } from 'vitest';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { poisonScenario } from '../support/poison.ts';

const available = await stackAvailable('poison events');

describe.runIf(available)('poison events on Kafka and MariaDB', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // A halted partition is reported to a REST caller within a second.
    cluster = await startCluster('poison_events', 1, { PARLEY_READ_YOUR_WRITES_TIMEOUT_MS: '1000' });
  }, 180_000);
  afterAll(() => cluster.stop());

  test('a poison event halts only its partition, is reported, and `parley dlq` skips or retries it', async () => {
    const node = cluster.nodes[0]!;
    await poisonScenario({ url: node.url, env: { ...cluster.env, PARLEY_DATA_DIR: node.dataDir }, logs: node.logs });
  }, 180_000);
});
