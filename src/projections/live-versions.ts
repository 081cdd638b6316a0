// How a running server follows `parley rebuild`: it polls projection_versions
// (one tiny query a second) and, when a model's active version changes,
//
//   * its queries read the new version's tables: `db` carries a plugin that
//     renames the model's tables to the active version at every query;
//   * read-your-writes waits on the active version's projector: `followProgress`
//     maps the model name (`chat`) to the version's (`chat@v3`);
//   * its projector starts projecting the new version from the offsets stored
//     with it, and stops the old one a little later (`handoverMs`), so servers
//     that have not seen the switch yet still read an old version that is
//     current.
//
// Polling rather than checking the version on every request: a request costs
// no extra query, and a server that reads the old version for up to a poll
// interval reads a version that is still being projected. The poll is
// read-only and cheap enough for any number of servers.

import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Consumer } from '../log/port.ts';
import type { Database } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import type { ProjectionProgress } from './progress.ts';
import { runProjection, type Projection, type RunnerOptions } from './runner.ts';
import { readActiveVersions, versionedProjectionName, VersionedTablesPlugin, type VersionedModel } from './versions.ts';

export interface FollowOptions {
  logger: Logger;
  models: readonly VersionedModel[];
  /** How often projection_versions is read. */
  pollMs?: number;
  /** How long the old version's projector keeps running after a switch. */
  handoverMs?: number;
}

export interface VersionedStore extends Store {
  /** Reads (and non-model writes) go here: the models' tables are those of their active version. */
  db: Kysely<Database>;
  /** The database without the plugin, for code that names a version itself. */
  raw: Kysely<Database>;
  activeVersion(projection: string): number;
  /** Read-your-writes by model name, answered by whichever version is active. */
  followProgress(progress: ProjectionProgress): ProjectionProgress;
  /** Like runProjection; a model's projection runs into its active version and follows switches. */
  runProjection(projection: Projection, options: RunnerOptions): Promise<Consumer>;
  /** Reads projection_versions now (the poll does it every pollMs). */
  refresh(): Promise<void>;
}

export async function followProjectionVersions(store: Store, options: FollowOptions): Promise<VersionedStore> {
  const { logger, models } = options;
  const raw = store.db;
  const active = new Map<string, number>(models.map((model) => [model.projection.name, 1]));
  const listeners = new Set<() => void>();

  const refresh = async () => {
    const rows = await readActiveVersions(raw);
    for (const model of models) {
      const name = model.projection.name;
      const version = rows.get(name) ?? 1;
      if (active.get(name) === version) continue;
      logger.info({ projection: name, from: active.get(name), to: version }, 'read model version switched');
      active.set(name, version);
    }
    // Every poll, not only on a change: a projector that failed to switch retries.
    for (const listener of listeners) listener();
  };
  await refresh();
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = refresh().catch((error: unknown) => logger.warn({ err: error }, 'reading projection_versions failed'));
  }, options.pollMs ?? 1_000);
  timer.unref();

  const versionOf = (name: string) => active.get(name) ?? 1;
  const db = raw.withPlugin(
    new VersionedTablesPlugin(models.map((model) => ({ names: model.names, version: () => versionOf(model.projection.name) }))),
  );

  async function runFollowing(model: VersionedModel, projection: Projection, runner: RunnerOptions): Promise<Consumer> {
    const start = (version: number) =>
      runProjection(
        { ...projection, name: versionedProjectionName(projection.name, version) },
        { ...runner, db: raw.withPlugin(VersionedTablesPlugin.at(model, version)) },
      );
    const first = versionOf(model.projection.name);
    let current = { version: first, consumer: await start(first) };
    const retiring = new Map<Consumer, NodeJS.Timeout>();
    const retire = async (consumer: Consumer) => {
      clearTimeout(retiring.get(consumer));
      retiring.delete(consumer);
      await consumer.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the old projector failed'));
    };
    let stopped = false;
    let switching: Promise<void> = Promise.resolve();
    const reconcile = () => {
      switching = switching.then(async () => {
        const wanted = versionOf(model.projection.name);
        if (stopped || wanted === current.version) return;
        let consumer: Consumer;
        try {
          consumer = await start(wanted);
        } catch (error) {
          // Tried again at the next poll.
          logger.error(
            { err: error, projection: projection.name, version: wanted },
            'cannot start the projector of the new version',
          );
          return;
        }
        const old = current;
        current = { version: wanted, consumer };
        logger.info({ projection: projection.name, from: old.version, to: wanted }, 'projector switched version');
        retiring.set(
          old.consumer,
          setTimeout(() => void retire(old.consumer), options.handoverMs ?? 2_000),
        );
      });
    };
    listeners.add(reconcile);
    return {
      async stop() {
        stopped = true;
        listeners.delete(reconcile);
        await switching;
        // With the old version's projector, if a switch is in its handover.
        await Promise.all([current.consumer.stop(), ...[...retiring.keys()].map(retire)]);
      },
    };
  }

  return {
    db,
    raw,
    activeVersion: versionOf,
    refresh,
    followProgress(progress) {
      const nameFor = (projection: string) =>
        active.has(projection) ? versionedProjectionName(projection, versionOf(projection)) : projection;
      return {
        reached: (projection, partition, next) => progress.reached(projection, partition, next),
        waitFor: (projection, position, timeoutMs) => progress.waitFor(nameFor(projection), position, timeoutMs),
      };
    },
    runProjection(projection, runner) {
      const model = models.find((m) => m.projection.name === projection.name);
      if (model === undefined) return runProjection(projection, { ...runner, db: raw });
      return runFollowing(model, projection, runner);
    },
    async close() {
      clearInterval(timer);
      await polling;
      await store.close();
    },
  };
}
