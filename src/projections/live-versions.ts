// How a running server follows `parley rebuild`: it polls projection_versions
// (one tiny query a second) and, when a model's active version changes,
//
//   * its projector starts projecting the new version from the offsets stored
//     with it;
//   * once the new version has applied at least what the old one had (their
//     stored offsets, compared at each poll), its queries read the new
//     version's tables: `db` carries a plugin that renames the model's tables
//     to the version read at every query, and read-your-writes waits on that
//     version's projector (`followProgress` maps `chat` to `chat@v3`). Until
//     then reads stay on the old version, which is still projected: a write
//     confirmed on the old version is never missing from the new one (on
//     Kafka the new projector takes seconds to get its partitions);
//   * the old projector stops a little after reads have moved (`handoverMs`),
//     so servers that have not moved yet still read an old version that is
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
import { storedOffsets } from './offsets.ts';
import { runProjection, type Projection, type RunnerOptions } from './runner.ts';
import { readActiveVersions, versionedProjectionName, VersionedTablesPlugin, type VersionedModel } from './versions.ts';

export interface FollowOptions {
  logger: Logger;
  models: readonly VersionedModel[];
  /** How often projection_versions is read. */
  pollMs?: number;
  /** How long the old version's projector keeps running after reads have moved to the new one. */
  handoverMs?: number;
}

export interface VersionedStore extends Store {
  /** Reads (and non-model writes) go here: the models' tables are those of their active version. */
  db: Kysely<Database>;
  /** The database without the plugin, for code that names a version itself. */
  raw: Kysely<Database>;
  /** The version queries read now (it follows the active version once that one has caught up). */
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
  /** Per model: the version projection_versions names active (its projector follows it at once)… */
  const wanted = new Map<string, number>(models.map((model) => [model.projection.name, 1]));
  /** …and the version its queries read, which moves only once that one has caught up. */
  const reading = new Map<string, number>(wanted);
  const listeners = new Set<() => void>();
  let started = false;

  /** The new version has applied, on every partition, at least what the old one has. */
  const caughtUp = async (name: string, from: number, to: number) => {
    const old = await storedOffsets(raw, versionedProjectionName(name, from));
    const next = await storedOffsets(raw, versionedProjectionName(name, to));
    return [...old].every(([partition, offset]) => (next.get(partition) ?? 0) >= offset);
  };

  const refresh = async () => {
    const rows = await readActiveVersions(raw);
    for (const model of models) {
      const name = model.projection.name;
      wanted.set(name, rows.get(name) ?? 1);
    }
    // Every poll, not only on a change: a projector that failed to switch
    // retries, and one whose reads have moved retires the old version.
    for (const listener of listeners) listener();
    for (const model of models) {
      const name = model.projection.name;
      const from = reading.get(name)!;
      const to = wanted.get(name)!;
      // At start nothing was read yet: the active version is read at once.
      if (from === to || (started && !(await caughtUp(name, from, to)))) continue;
      logger.info({ projection: name, from, to }, 'read model version switched');
      reading.set(name, to);
    }
  };
  await refresh();
  started = true;
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = refresh().catch((error: unknown) => logger.warn({ err: error }, 'reading projection_versions failed'));
  }, options.pollMs ?? 1_000);
  timer.unref();

  const versionOf = (name: string) => reading.get(name) ?? 1;
  const db = raw.withPlugin(
    new VersionedTablesPlugin(models.map((model) => ({ names: model.names, version: () => versionOf(model.projection.name) }))),
  );

  async function runFollowing(model: VersionedModel, projection: Projection, runner: RunnerOptions): Promise<Consumer> {
    const start = (version: number) =>
      runProjection(
        { ...projection, name: versionedProjectionName(projection.name, version) },
        { ...runner, db: raw.withPlugin(VersionedTablesPlugin.at(model, version)) },
      );
    const name = model.projection.name;
    const first = versionOf(name);
    let current = { version: first, consumer: await start(first) };
    /** Projectors of versions left behind, with their stop timer once reads have moved off them. */
    const retiring = new Map<Consumer, { version: number; timer?: NodeJS.Timeout }>();
    const retire = async (consumer: Consumer) => {
      clearTimeout(retiring.get(consumer)?.timer);
      retiring.delete(consumer);
      await consumer.stop().catch((error: unknown) => logger.warn({ err: error }, 'stopping the old projector failed'));
    };
    let stopped = false;
    let switching: Promise<void> = Promise.resolve();
    const reconcile = () => {
      switching = switching.then(async () => {
        if (stopped) return;
        const target = wanted.get(name)!;
        if (target !== current.version) {
          try {
            const consumer = await start(target);
            retiring.set(current.consumer, { version: current.version });
            logger.info({ projection: projection.name, from: current.version, to: target }, 'projector switched version');
            current = { version: target, consumer };
          } catch (error) {
            // Tried again at the next poll.
            logger.error(
              { err: error, projection: projection.name, version: target },
              'cannot start the projector of the new version',
            );
          }
        }
        for (const [consumer, entry] of retiring)
          if (entry.timer === undefined && entry.version !== versionOf(name))
            entry.timer = setTimeout(() => void retire(consumer), options.handoverMs ?? 2_000);
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
        reading.has(projection) ? versionedProjectionName(projection, versionOf(projection)) : projection;
      return {
        reached: (projection, partition, next) => progress.reached(projection, partition, next),
        // Reads may move to a newer version while a request waits on the one
        // they used: that version holds what the old one held when they
        // moved, not necessarily this write. So the wait goes on with the
        // version read now, within the same deadline, until the two agree.
        async waitFor(projection, position, timeoutMs, signal) {
          const deadline = performance.now() + timeoutMs;
          for (;;) {
            const waitedOn = nameFor(projection);
            const remaining = Math.max(0, deadline - performance.now());
            const reached = await progress.waitFor(waitedOn, position, remaining, signal);
            if (!reached || nameFor(projection) === waitedOn) return reached;
          }
        },
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
