// A projector as a server runs one, for integration tests: a vault and the
// read-your-writes progress on the test's own database, small batches.

import type { Consumer } from '../../log/port.ts';
import { testVault } from '../../privacy/testing/test-vault.ts';
import { createProjectionProgress } from '../progress.ts';
import { runProjection, type Projection, type RunnerOptions } from '../runner.ts';

export function runTestProjector(
  projection: Projection,
  options: Pick<RunnerOptions, 'log' | 'db' | 'codec' | 'logger'> & Partial<RunnerOptions>,
): Promise<Consumer> {
  return runProjection(projection, {
    vault: testVault(options.db),
    progress: createProjectionProgress(options.db),
    maxBatchSize: 100,
    ...options,
  });
}
