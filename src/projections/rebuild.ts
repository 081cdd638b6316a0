// `parley rebuild <model>`: replays the events log from offset 0 into fresh
// tables (the next version, projections/versions.ts) while the active version
// keeps serving, catches up to the head, and swaps the new version in with one
// UPDATE of projection_versions. Servers follow the switch (live-versions.ts).
//
// The build runs the ordinary projection runner under its own name
// (`chat@v3`), so its offsets are stored with its rows batch by batch: an
// interrupted build resumes where it stopped, and a second consumer of it
// (a server taking over after the swap) can never apply an event twice.
//
//   state:  active 2, building –   → create v3, building 3, project chat@v3 …
//   abort:  active 2, building 3   → the next run resumes chat@v3 from its offsets
//   swap:   active 3, building –   (v2 kept until --drop-old)

import { setTimeout as delay } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { EventCodec } from '../log/codec.ts';
import type { ReadCache } from '../infra/read-cache.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Consumer, Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import type { Database } from '../store/schema.ts';
import { prepareBulkLoad } from '../store/dialect.ts';
import type { ProjectionProgress } from './progress.ts';
import { deleteOffsets, storedOffset } from './offsets.ts';
import { runProjection } from './runner.ts';
import {
  ensureVersionRow,
  existingVersions,
  readVersionState,
  versionComplete,
  versionedProjectionName,
  VersionedTablesPlugin,
  type VersionedModel,
} from './versions.ts';

export interface RebuildOptions {
  log: Log;
  /** The read-model database as opened (no versioning plugin). */
  db: Kysely<Database>;
  codec: EventCodec;
  /** Opens the personal data the model's projection reads (an erased value is rebuilt as erased). */
  vault: PersonalDataVault;
  logger: Logger;
  model: VersionedModel;
  /** Events per batch, i.e. per transaction. */
  batchSize?: number;
  /** Throw away an interrupted build and start it again from offset 0. */
  restart?: boolean;
  /** Stops the build; it resumes on the next run. */
  signal?: AbortSignal;
  /** Events applied / in the log, called as the build advances. */
  onProgress?: (done: number, total: number) => void;
  /**
   * After the swap, keep projecting the new version this long, so it stays
   * current until the servers' projectors (which poll for the switch) take over.
   */
  handoverMs?: number;
  /** After the swap, drop the tables of every other version. */
  dropOld?: boolean;
  /** Wait this long after the swap before dropping, so servers stop reading the old tables first. */
  dropGraceMs?: number;
  /** How often the build checks whether it reached the head. */
  checkEveryMs?: number;
  /** Where servers cache answers the build's batches change (runner.ts fences them). */
  readCache?: ReadCache;
}

export interface RebuildResult {
  projection: string;
  /** The version built (active when `swapped`). */
  version: number;
  /** The version active before. */
  previous: number;
  swapped: boolean;
  /** True when an interrupted build was continued. */
  resumed: boolean;
  /** Events applied by this run, and the events in the log at the swap. */
  events: number;
  total: number;
  /** Time to build and swap (the handover and dropping come after). */
  ms: number;
  /** Versions whose tables were dropped. */
  dropped: number[];
}

export async function rebuild(options: RebuildOptions): Promise<RebuildResult> {
  const { log, db, model, logger, signal } = options;
  const started = Date.now();
  const name = model.projection.name;
  await prepareBulkLoad(db);
  await ensureVersionRow(db, name);
  const before = await readVersionState(db, name);
  const { version, resumed } = await prepareBuild(db, model, before, options.restart ?? false);
  const buildName = versionedProjectionName(name, version);
  logger.info({ projection: name, version, active: before.active, resumed }, resumed ? 'rebuild resumed' : 'rebuild started');

  const topic = model.projection.topic ?? topics.events;
  const partitions = Array.from({ length: log.partitionCount(topic) }, (_, p) => p);
  const reached = new Map<number, number>();
  for (const p of partitions) reached.set(p, (await storedOffset(db, buildName, p, topic)) ?? 0);
  const initial = sum(partitions.map((p) => reached.get(p)!));
  const progress: ProjectionProgress = {
    reached(projection, partition, next) {
      if (projection === buildName && next > (reached.get(partition) ?? 0)) reached.set(partition, next);
    },
    waitFor: () => Promise.resolve(false),
  };

  const consumer: Consumer = await runProjection(
    { ...model.projection, name: buildName },
    {
      log,
      db: db.withPlugin(VersionedTablesPlugin.at(model, version)),
      codec: options.codec,
      vault: options.vault,
      logger,
      progress,
      maxBatchSize: options.batchSize ?? 5_000,
      ...(options.readCache === undefined ? {} : { readCache: options.readCache }),
    },
  );
  let ms = 0;
  const result = (swapped: boolean, total: number, dropped: number[] = []): RebuildResult => ({
    projection: name,
    version,
    previous: before.active,
    swapped,
    resumed,
    events: sum(partitions.map((p) => reached.get(p)!)) - initial,
    total,
    ms: ms || Date.now() - started,
    dropped,
  });
  // A partition can end in offsets no record holds (Kafka's transaction
  // markers): one that stopped moving short of its end is checked for records.
  const stalled = new Map<number, number>();
  const caughtUp = async (p: number, end: number): Promise<boolean> => {
    const at = reached.get(p)!;
    if (at >= end) return true;
    if (stalled.get(p) !== at) {
      stalled.set(p, at);
      return false;
    }
    return (await log.read(topic, p, at, 1)).length === 0;
  };

  // Until the build has applied everything the log holds.
  let total: number;
  let finished = model.finish === undefined;
  try {
    for (;;) {
      const ends = await Promise.all(partitions.map((p) => log.endOffset(topic, p)));
      total = sum(ends);
      options.onProgress?.(sum(partitions.map((p) => Math.min(reached.get(p)!, ends[p]!))), total);
      if ((await Promise.all(partitions.map((p) => caughtUp(p, ends[p]!)))).every(Boolean)) {
        if (finished) break;
        // Loaded: now the indexes best built in one go, then catch up again.
        logger.info({ projection: name, version }, 'rebuild loaded; finishing the tables');
        await model.finish!(db, version);
        finished = true;
        continue;
      }
      if (signal?.aborted) {
        await consumer.stop();
        logger.info({ projection: name, version }, 'rebuild interrupted: run it again to resume');
        return result(false, total);
      }
      await sleep(options.checkEveryMs ?? 100, signal);
    }
  } catch (error) {
    await consumer.stop();
    throw error;
  }

  // The switch: one statement, and only if this build is still the one wanted.
  const swap = await db
    .updateTable('projection_versions')
    .set({ active_version: version, building_version: null, updated_at: Date.now() })
    .where('projection', '=', name)
    .where('building_version', '=', version)
    .executeTakeFirst();
  if (Number(swap.numUpdatedRows) === 0 && (await readVersionState(db, name)).active !== version) {
    await consumer.stop();
    throw new Error(`the build of ${name} v${version} was replaced or cancelled meanwhile; nothing swapped`);
  }
  const swappedAt = Date.now();
  ms = swappedAt - started;
  logger.info({ projection: name, version, previous: before.active }, 'rebuild swapped in');

  await sleep(options.handoverMs ?? 2_500, signal);
  await consumer.stop();

  let dropped: number[] = [];
  if (options.dropOld) {
    await sleep(Math.max(0, (options.dropGraceMs ?? 5_000) - (Date.now() - swappedAt)), signal);
    dropped = await dropOldVersions(db, model);
  }
  return result(true, total, dropped);
}

/** Picks the version to build: the interrupted one, or a new one above every existing version. */
async function prepareBuild(
  db: Kysely<Database>,
  model: VersionedModel,
  state: { active: number; building: number | null },
  restart: boolean,
): Promise<{ version: number; resumed: boolean }> {
  const name = model.projection.name;
  if (state.building !== null && !restart && (await versionComplete(db, model, state.building))) {
    return { version: state.building, resumed: true };
  }
  // A new number, never one whose tables exist (a half-created build, a
  // version kept after a rollback): nothing is dropped implicitly, except the
  // interrupted build itself when asked to restart it.
  let version = Math.max(state.active, ...(await existingVersions(db, model))) + 1;
  if (state.building !== null && state.building !== state.active) {
    if (restart) version = state.building;
    await model.drop(db, state.building);
    await deleteOffsets(db, versionedProjectionName(name, state.building));
  }
  await model.drop(db, version);
  await deleteOffsets(db, versionedProjectionName(name, version));
  await model.create(db, version);
  // Only now is the build recorded: a crash before this leaves unused tables, never a half-made build.
  await db
    .updateTable('projection_versions')
    .set({ building_version: version, updated_at: Date.now() })
    .where('projection', '=', name)
    .execute();
  return { version, resumed: false };
}

/** Drops the tables (and offsets) of every version but the active one and the one being built. */
export async function dropOldVersions(db: Kysely<Database>, model: VersionedModel): Promise<number[]> {
  const name = model.projection.name;
  const state = await readVersionState(db, name);
  const dropped: number[] = [];
  for (const version of await existingVersions(db, model)) {
    if (version === state.active || version === state.building) continue;
    await model.drop(db, version);
    await deleteOffsets(db, versionedProjectionName(name, version));
    dropped.push(version);
  }
  return dropped;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return;
  await delay(ms, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
}
