// `parley rebuild <model>`: arguments in, progress on stderr, a summary line
// at the end. The work is projections/rebuild.ts's (blue/green: build the next
// version beside the active one, catch up, swap).

import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { openEventCodec, openLogWithTopics, openMigratedStore, openReadCache, openVault } from '../compose.ts';
import type { ReadCache } from '../infra/read-cache.ts';
import type { Config } from '../config.ts';
import type { EventCodec } from '../log/codec.ts';
import type { PersonalDataVault } from '../privacy/vault.ts';
import type { Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import { storedOffset } from '../projections/offsets.ts';
import { dropOldVersions, rebuild } from '../projections/rebuild.ts';
import { versionedModels } from '../projections/versioned-models.ts';
import { existingVersions, readVersionState, versionedProjectionName, type VersionedModel } from '../projections/versions.ts';
import type { Store } from '../store/store.ts';
import { parseCount } from './args.ts';
import { progressBar } from './progress-bar.ts';

export const rebuildUsage = `usage: parley rebuild <read model> [options]     read models: chat
  Replays the events log from offset 0 into fresh tables (the next version)
  while the active version keeps serving, catches up and swaps it in. An
  interrupted rebuild resumes where it stopped when run again.
  --batch <n>          events per transaction (default 5000)
  --drop-old           after the swap, drop the tables of every older version
  --drop-only          drop the older versions' tables now; rebuild nothing
  --restart            throw away an interrupted build and start it again
  --handover-ms <n>    keep projecting the new version this long after the swap,
                       until the servers' projectors take over (default 2500)
  --drop-grace-ms <n>  with --drop-old: wait this long after the swap (default 5000)
  --status             show the versions and the build's progress; change nothing
  --progress / --no-progress   progress line on stderr (default: on)`;

export interface RebuildArgs {
  model: string;
  batch?: number | undefined;
  dropOld: boolean;
  dropOnly: boolean;
  restart: boolean;
  status: boolean;
  handoverMs?: number | undefined;
  dropGraceMs?: number | undefined;
  progress?: boolean | undefined;
}

export function parseRebuildArgs(args: string[]): RebuildArgs {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    allowNegative: true,
    options: {
      batch: { type: 'string' },
      'drop-old': { type: 'boolean', default: false },
      'drop-only': { type: 'boolean', default: false },
      restart: { type: 'boolean', default: false },
      status: { type: 'boolean', default: false },
      'handover-ms': { type: 'string' },
      'drop-grace-ms': { type: 'string' },
      progress: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new Error(`name one read model to rebuild\n${rebuildUsage}`);
  return {
    model: positionals[0]!,
    dropOld: values['drop-old'],
    dropOnly: values['drop-only'],
    restart: values.restart,
    status: values.status,
    batch: parseCount(values.batch, 'batch', 1),
    handoverMs: parseCount(values['handover-ms'], 'handover-ms', 0),
    dropGraceMs: parseCount(values['drop-grace-ms'], 'drop-grace-ms', 0),
    progress: values.progress,
  };
}

/** The command as the CLI runs it: the adapters from the configuration; sets the exit code. */
export async function rebuildCommand(argv: string[], config: Config, logger: Logger): Promise<void> {
  const args = parseRebuildArgs(argv);
  const log = await openLogWithTopics(config, logger);
  const store = await openMigratedStore(config, logger);
  // The build's batches void the running servers' cached answers too: after
  // the swap, until the servers' projectors take over, it writes what they read.
  const readCache = openReadCache(config, logger);
  try {
    const codec = await openEventCodec(config);
    const vault = openVault(config, store.db, logger);
    process.exitCode = await runRebuild(args, {
      log,
      store,
      codec,
      vault,
      logger,
      models: versionedModels,
      readCache: readCache.cache,
    });
  } finally {
    await readCache.close();
    await log.close();
    await store.close();
  }
}

export interface RebuildCommandDeps {
  log: Log;
  store: Store;
  codec: EventCodec;
  vault: PersonalDataVault;
  logger: Logger;
  models: readonly VersionedModel[];
  /** Where the servers cache answers the build's batches change (none: nothing to void). */
  readCache?: ReadCache;
  /** Where progress and the summary go (default process.stderr). */
  out?: NodeJS.WritableStream;
  /** Stops the rebuild (default: SIGINT or SIGTERM). */
  signal?: AbortSignal;
}

/** Runs the command; resolves with the exit code (0 done, 1 interrupted, 2 usage). */
export async function runRebuild(args: RebuildArgs, deps: RebuildCommandDeps): Promise<number> {
  const out = deps.out ?? process.stderr;
  const { store } = deps;
  const model = deps.models.find((m) => m.projection.name === args.model);
  if (model === undefined) {
    out.write(`unknown read model: ${args.model}\n${rebuildUsage}\n`);
    return 2;
  }
  const name = model.projection.name;

  if (args.status) {
    const state = await readVersionState(store.db, name);
    const versions = await existingVersions(store.db, model);
    let line = `${name}: active v${state.active}; tables of ${versions.map((v) => `v${v}`).join(', ') || 'no version'}`;
    if (state.building !== null) {
      const topic = model.projection.topic ?? topics.events;
      let done = 0;
      let total = 0;
      for (let p = 0; p < deps.log.partitionCount(topic); p++) {
        done += (await storedOffset(store.db, versionedProjectionName(name, state.building), p, topic)) ?? 0;
        total += await deps.log.endOffset(topic, p);
      }
      line += `; building v${state.building}: ${done.toLocaleString('en')}/${total.toLocaleString('en')} events (run it again to resume)`;
    }
    out.write(`${line}\n`);
    return 0;
  }

  if (args.dropOnly) {
    const dropped = await dropOldVersions(store.db, model);
    out.write(`${name}: dropped ${dropped.length === 0 ? 'nothing' : dropped.map((v) => `v${v}`).join(', ')}\n`);
    return 0;
  }

  let signal = deps.signal;
  const abort = new AbortController();
  const stop = () => abort.abort();
  if (signal === undefined) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal = abort.signal;
  }
  const enabled = args.progress ?? true;
  let bar: ((done: number, total: number) => void) | undefined;
  try {
    const result = await rebuild({
      log: deps.log,
      db: store.db,
      codec: deps.codec,
      vault: deps.vault,
      logger: deps.logger,
      model,
      signal,
      batchSize: args.batch,
      handoverMs: args.handoverMs,
      dropGraceMs: args.dropGraceMs,
      restart: args.restart,
      dropOld: args.dropOld,
      ...(deps.readCache === undefined ? {} : { readCache: deps.readCache }),
      onProgress(done, total) {
        // Created at the first report, so a resumed build's rate counts only this run's events.
        bar ??= progressBar(`rebuild ${name}`, enabled, done);
        bar(done, total);
      },
    });
    bar?.(Number.NaN, Number.NaN);
    const rate = Math.round(result.events / Math.max(0.001, result.ms / 1000));
    if (!result.swapped) {
      out.write(
        `rebuild ${name}: interrupted; v${result.version} is kept half-built, ` +
          `v${result.previous} still active: run it again to resume\n`,
      );
      return 1;
    }
    const dropped = result.dropped.length === 0 ? '' : `; dropped ${result.dropped.map((v) => `v${v}`).join(', ')}`;
    const kept = args.dropOld ? '' : `; v${result.previous} kept (--drop-old to drop)`;
    out.write(
      `rebuild ${name}: v${result.version} active (was v${result.previous})${result.resumed ? ', resumed' : ''}: ` +
        `${result.events.toLocaleString('en')} events in ${(result.ms / 1000).toFixed(1)} s, ` +
        `${rate.toLocaleString('en')} events/s${kept}${dropped}\n`,
    );
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
