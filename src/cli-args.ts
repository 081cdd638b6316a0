// Arguments of the operator commands, and the progress line they draw on stderr.

import { parseArgs } from 'node:util';
import type { ReplayOptions } from './log/replay.ts';
import { topics } from './log/topics.ts';

const topicAliases: Record<string, string> = {
  commands: topics.commands,
  events: topics.events,
  signals: topics.signals,
  outcomes: topics.outcomes,
};

/** A time given as epoch ms or as an ISO-8601 date/time. */
function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`--${name}: not a time: ${value}`);
  return ms;
}

function parseOffset(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name}: not an offset: ${value}`);
  return Number(value);
}

export const replayUsage = `usage: parley replay [options]
  --topic <events|signals|commands|outcomes|name>   default events
  --partition <n>            repeatable; default all
  --from-offset <n> --to-offset <n>                 inclusive, per partition
  --from-time <ms|ISO> --to-time <ms|ISO>           [from, to)
  --type <event_type>        repeatable
  --aggregate <id>           e.g. room:<uuid>
  --follow                   keep reading new records
  --include-stale            also events of fenced writers
  --out <file>               default stdout
  --progress / --no-progress progress line on stderr (default: when stderr is a terminal)`;

export function parseReplayArgs(args: string[]): ReplayOptions & { out?: string; progress?: boolean } {
  const { values } = parseArgs({
    args,
    strict: true,
    allowNegative: true,
    options: {
      topic: { type: 'string', default: 'events' },
      partition: { type: 'string', multiple: true },
      'from-offset': { type: 'string' },
      'to-offset': { type: 'string' },
      'from-time': { type: 'string' },
      'to-time': { type: 'string' },
      type: { type: 'string', multiple: true },
      aggregate: { type: 'string' },
      follow: { type: 'boolean', default: false },
      'include-stale': { type: 'boolean', default: false },
      out: { type: 'string' },
      progress: { type: 'boolean' },
    },
  });
  return {
    topic: topicAliases[values.topic!] ?? values.topic!,
    partitions: (values.partition ?? []).map((p) => {
      if (!/^\d+$/.test(p)) throw new Error(`--partition: not a partition: ${p}`);
      return Number(p);
    }),
    fromOffset: parseOffset(values['from-offset'], 'from-offset'),
    toOffset: parseOffset(values['to-offset'], 'to-offset'),
    fromTime: parseTime(values['from-time'], 'from-time'),
    toTime: parseTime(values['to-time'], 'to-time'),
    types: values.type ?? [],
    aggregate: values.aggregate,
    follow: values.follow!,
    includeStale: values['include-stale']!,
    ...(values.out === undefined ? {} : { out: values.out }),
    ...(values.progress === undefined ? {} : { progress: values.progress }),
  };
}

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
  batch?: number;
  dropOld: boolean;
  dropOnly: boolean;
  restart: boolean;
  status: boolean;
  handoverMs?: number;
  dropGraceMs?: number;
  progress?: boolean;
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
  const count = (value: string | undefined, name: string, min: number): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name}: not a number ≥ ${min}: ${value}`);
    return Number(value);
  };
  const batch = count(values.batch, 'batch', 1);
  const handoverMs = count(values['handover-ms'], 'handover-ms', 0);
  const dropGraceMs = count(values['drop-grace-ms'], 'drop-grace-ms', 0);
  return {
    model: positionals[0]!,
    dropOld: values['drop-old']!,
    dropOnly: values['drop-only']!,
    restart: values.restart!,
    status: values.status!,
    ...(batch === undefined ? {} : { batch }),
    ...(handoverMs === undefined ? {} : { handoverMs }),
    ...(dropGraceMs === undefined ? {} : { dropGraceMs }),
    ...(values.progress === undefined ? {} : { progress: values.progress }),
  };
}

/**
 * A progress line on stderr: done/total, rate and ETA, redrawn at most every
 * 200 ms. Called with NaN, it ends the line. The rate counts from `from` (work
 * already done before this run, e.g. a resumed rebuild, is not part of it).
 */
export function progressBar(label: string, enabled: boolean, from = 0): (done: number, total: number) => void {
  if (!enabled) return () => undefined;
  const started = Date.now();
  let drawn = 0;
  return (done, total) => {
    const now = Date.now();
    if (Number.isNaN(done)) {
      process.stderr.write('\n');
      return;
    }
    if (now - drawn < 200 && done < total) return;
    drawn = now;
    const seconds = Math.max(0.001, (now - started) / 1000);
    const rate = Math.max(0, done - from) / seconds;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    process.stderr.write(
      `\r${label}: ${done.toLocaleString('en')}/${total.toLocaleString('en')} (${percent}%) ` +
        `${Math.round(rate).toLocaleString('en')}/s ETA ${eta.toFixed(0)}s   `,
    );
  };
}
