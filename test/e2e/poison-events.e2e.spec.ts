// Poison events on the embedded adapters (node:sqlite log, SQLite read
// models): the scenario is test/support/poison.ts.

import { afterAll, beforeAll, test } from 'vitest';
import { poisonScenario } from '../support/poison.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';

const env = {
  PARLEY_DATA_DIR: tempDataDir(),
  PARLEY_PARTITIONS: '4',
  // A halted partition is reported to a REST caller within a second.
  PARLEY_READ_YOUR_WRITES_TIMEOUT_MS: '1000',
};
let server: ParleyProcess;

beforeAll(async () => {
  server = await startParley({ dataDir: env.PARLEY_DATA_DIR, env });
});
afterAll(() => server.stop());

test('a poison event halts only its partition, is reported, and `parley dlq` skips or retries it', async () => {
  await poisonScenario({ url: server.url, env, logs: server.logs });
}, 120_000);
