import type { BenchOptions } from '../support/harness.ts';

export async function runRebuild(_options: BenchOptions): Promise<void> {
  throw new Error('not implemented yet');
}
