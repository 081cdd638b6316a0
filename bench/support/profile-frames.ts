// What the two profile summaries (profile-summary.ts for V8's profiles,
// perf-summary.ts for perf's) share: where a frame's code lives, and the
// measured window of a phase in a results file.

import fs from 'node:fs';
import path from 'node:path';

/** The options both summaries take: rows per table, and the results file, phase and run that cut the window. */
export const summaryOptions = {
  top: { type: 'string', default: '30' },
  results: { type: 'string' },
  phase: { type: 'string' },
  run: { type: 'string', default: '0' },
} as const;

/** A script URL as a short place: a path in this checkout, `npm:<package>`, `node:<module>`, or native. */
export function where(url: string): string {
  if (url === '') return '(native / V8)';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = clean.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (clean.startsWith('node:')) return clean;
  return path.relative(process.cwd(), clean);
}

/**
 * The measured window of `phase` in run `run` of a bench results file, as
 * CLOCK_MONOTONIC microseconds (the load generator's clock, which V8's
 * profiles and `perf record -k CLOCK_MONOTONIC` share); everything without one.
 */
export function phaseWindowUs(resultsFile: string | undefined, phase: string | undefined, run: number): [number, number] {
  if (resultsFile === undefined) return [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY];
  const record = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as {
    runs: { impl: string; result: { phases: { name: string; monotonicUs: [number, number] }[] } }[];
  };
  const found = record.runs[run]?.result.phases.find((p) => p.name === phase);
  if (found === undefined) throw new Error(`no phase ${phase} in run ${run} of ${resultsFile}`);
  return found.monotonicUs;
}
