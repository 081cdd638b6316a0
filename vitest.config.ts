import { configDefaults, defineConfig } from 'vitest/config';

// Two projects in one `vitest run` (`npm test`):
// * main: every suite, files in parallel;
// * faults (test/faults): suites that stop, kill and pause the shared servers
//   (Kafka, MariaDB, Redis) and Parley instances. They run after every main
//   suite has finished (groupOrder), one file at a time, tests in order.
// `npx vitest run --project main` skips the fault suites; `--project faults`
// runs only them.
export default defineConfig({
  test: {
    // The default output, then the slowest files (test/support/slowest-files-reporter.ts).
    reporters: ['default', './test/support/slowest-files-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'main',
          include: [
            'src/**/*.spec.ts',
            'test/**/*.spec.ts',
            'schemas/**/*.spec.ts',
            'migrations/**/*.spec.ts',
            'deploy/**/*.spec.ts',
          ],
          exclude: [...configDefaults.exclude, 'test/faults/**'],
          // End-to-end suites start real processes; two cores are shared with them.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.spec.ts'],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 1, concurrent: false },
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
