// `parley replay`: decodes a range of a topic to JSON lines for analysts
// (log/replay.ts does the reading). Reads only committed records and never
// joins a consumer group the service uses.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { openEventCodec, openLog, openVault } from '../compose.ts';
import type { Config } from '../config.ts';
import { replay, type ReplayLine, type ReplayOptions } from '../log/replay.ts';
import { hidePersonalData, openPersonalData } from '../privacy/replay-view.ts';
import { openStore } from '../store/store.ts';
import { topics } from '../log/topics.ts';
import { parseOffset, parseTime } from './args.ts';
import { progressBar } from './progress-bar.ts';

export const replayUsage = `usage: parley replay [options]
  --topic <events|signals|commands|outcomes|name>   default events
  --partition <n>            repeatable; default all
  --from-offset <n> --to-offset <n>                 inclusive, per partition
  --from-time <ms|ISO> --to-time <ms|ISO>           [from, to)
  --type <event_type>        repeatable
  --aggregate <id>           e.g. room:<uuid>
  --follow                   keep reading new records
  --include-stale            also events of fenced writers
  --with-personal-data       open personal values with the key store (operators only;
                             by default they print as "[personal data]")
  --out <file>               default stdout
  --progress / --no-progress progress line on stderr (default: when stderr is a terminal)`;

const topicAliases: Record<string, string> = {
  commands: topics.commands,
  events: topics.events,
  signals: topics.signals,
  outcomes: topics.outcomes,
};

export interface ReplayArgs extends ReplayOptions {
  withPersonalData: boolean;
  out?: string | undefined;
  progress?: boolean | undefined;
}

export function parseReplayArgs(args: string[]): ReplayArgs {
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
      'with-personal-data': { type: 'boolean', default: false },
      out: { type: 'string' },
      progress: { type: 'boolean' },
    },
  });
  return {
    topic: topicAliases[values.topic] ?? values.topic,
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
    follow: values.follow,
    includeStale: values['include-stale'],
    withPersonalData: values['with-personal-data'],
    out: values.out,
    progress: values.progress,
  };
}

export async function replayCommand(argv: string[], config: Config, logger: Logger): Promise<void> {
  const options = parseReplayArgs(argv);
  const log = openLog(config, logger);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  const out = options.out === undefined ? process.stdout : fs.createWriteStream(options.out);
  const bar = progressBar('replay', options.progress ?? process.stderr.isTTY);
  const codec = await openEventCodec(config);
  // Only an operator's replay touches the key store (read only: no migration).
  const store = options.withPersonalData
    ? openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.PARLEY_DATA_DIR })
    : null;
  const vault = store === null ? null : openVault(config, store.db, logger);
  const present = (lines: ReplayLine[]) => (vault === null ? hidePersonalData(codec, lines) : openPersonalData(vault, lines));
  try {
    const written = await replay(log, codec, options, out, { progress: bar, signal: abort.signal, present });
    bar(Number.NaN, Number.NaN);
    process.stderr.write(`replay: ${written} records\n`);
    if (out !== process.stdout) await new Promise<void>((resolve) => out.end(() => resolve()));
  } finally {
    await log.close();
    await store?.close();
  }
}
