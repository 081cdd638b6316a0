// The `parley rebuild` command: arguments in, progress on stderr, a summary
// line at the end. The work is rebuild.ts's; main.ts supplies the adapters.

import type { Logger } from 'pino';
import { progressBar, rebuildUsage, type RebuildArgs } from '../cli-args.ts';
import type { EventCodec } from '../log/codec.ts';
import type { Log } from '../log/port.ts';
import { topics } from '../log/topics.ts';
import type { Store } from '../store/store.ts';
import { dropOldVersions, rebuild } from './rebuild.ts';
import { storedOffset } from './runner.ts';
import { existingVersions, readVersionState, versionedProjectionName, type VersionedModel } from './versions.ts';

export interface RebuildCommandDeps {
  log: Log;
  store: Store;
  codec: EventCodec;
  logger: Logger;
  models: readonly VersionedModel[];
  /** Where progress and the summary go (default process.stderr). */
  out?: NodeJS.WritableStream;
  /** Stops the rebuild (default: SIGINT or SIGTERM). */
  signal?: AbortSignal;
}

/** Runs the command; resolves with the exit code (0 done, 1 interrupted, 2 usage). */
export async function rebuildCommand(args: RebuildArgs, deps: RebuildCommandDeps): Promise<number> {
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
      engine: store.engine,
      codec: deps.codec,
      logger: deps.logger,
      model,
      signal,
      ...(args.batch === undefined ? {} : { batchSize: args.batch }),
      ...(args.handoverMs === undefined ? {} : { handoverMs: args.handoverMs }),
      ...(args.dropGraceMs === undefined ? {} : { dropGraceMs: args.dropGraceMs }),
      restart: args.restart,
      dropOld: args.dropOld,
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
