import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts', 'schemas/**/*.spec.ts', 'migrations/**/*.spec.ts', 'deploy/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end suites start real processes; two cores are shared with them.
    maxWorkers: 2,
  },
});
