import { configDefaults, defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { unreachableStackServers } from './test/support/stack-probe.ts';

// Three projects in one `vitest run` (`npm test`), one group after another:
// * main: every suite, files in parallel; the end-to-end suites (test/e2e) run
//   Parley on the embedded adapters;
// * e2e-distributed: the same test/e2e suites again, Parley on Kafka + MariaDB
//   + Redis (test/support/modes.ts);
// * faults (test/faults): suites that stop, kill and pause the shared servers
//   (Kafka, MariaDB, Redis) and Parley instances, one file at a time, tests in
//   order.
// `npx vitest run --project main` runs the first only, `--project faults` the last.

const e2eDistributed: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    name: 'e2e-distributed',
    include: ['test/e2e/**/*.spec.ts'],
    // These cover both modes themselves (a cluster beside the embedded server, or a twin in test/distributed).
    exclude: [
      ...configDefaults.exclude,
      'test/e2e/account-mail.e2e.spec.ts',
      'test/e2e/erasure.e2e.spec.ts',
      // Writes into the embedded log itself; its Kafka twin is test/distributed/poison-events.
      'test/e2e/poison-events.e2e.spec.ts',
      'test/e2e/sessions.e2e.spec.ts',
    ],
    env: { PARLEY_E2E_MODE: 'distributed' },
    globalSetup: ['test/support/e2e-distributed-setup.ts'],
    maxWorkers: 2,
    sequence: { groupOrder: 1 },
  },
};

// Without the stack the distributed project cannot run at all: it is left out
// with a loud warning, or the run fails under PARLEY_REQUIRE_INFRA=1 (as every
// suite that needs a server does, test/support/infra.ts).
const unreachable = await unreachableStackServers();
if (unreachable.length > 0) {
  const why = `the e2e-distributed project needs ${unreachable.join(', ')}, unreachable`;
  if (process.env.PARLEY_REQUIRE_INFRA === '1') throw new Error(`PARLEY_REQUIRE_INFRA=1 but ${why}`);
  const bar = '!'.repeat(72);
  console.warn(`\n${bar}\n!! ${why}.\n!! The end-to-end suites run on the embedded adapters only.\n${bar}\n`);
}

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
      ...(unreachable.length === 0 ? [e2eDistributed] : []),
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.spec.ts'],
          fileParallelism: false,
          maxWorkers: 1,
          sequence: { groupOrder: 2, concurrent: false },
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
