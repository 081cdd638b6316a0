// Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- … --profile DIR`):
// the functions with the most self time, and self time grouped by source
// file (or package), so "what dominates" has a number.
//
//   node bench/profile-summary.ts <file.cpuprofile> [--top 30]
//        [--results bench/results/….json --phase 'closed W=8' [--run 0]]
//        [--inclusive 'eachBatch@src/gateway/gateway.ts' …]
//
// --inclusive NAME@PATH (repeatable) adds the share of samples whose stack
// holds that function (name and file substring), e.g. the gateway's events
// consumer, to attribute CPU to one part of a process that does everything.
// --within NAME@PATH limits the tables to the samples under that function.
// Only synchronous work is attributed to a caller: after an await, V8 sees a
// new stack.
//
// With --results/--phase only the samples inside that phase's measured
// window count (the load generator records it on CLOCK_MONOTONIC, the clock
// of V8 profiles), leaving out startup, connects and the other phases.

import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { phaseWindowUs, summaryOptions, where } from './support/profile-frames.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ...summaryOptions, inclusive: { type: 'string', multiple: true }, within: { type: 'string' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const window = phaseWindowUs(values.results, values.phase, Number(values.run));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
/** Whether any frame of the stack ending at `id` is NAME@PATH. */
function under(id: number, pattern: string): boolean {
  const [name, file = ''] = pattern.split('@') as [string, string?];
  for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
    const frame = byId.get(node)!.callFrame;
    if (frame.functionName === name && frame.url.includes(file)) return true;
  }
  return false;
}
const selfUs = new Map<number, number>();
let at = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  at += profile.timeDeltas[i] ?? 0;
  if (at < window[0] || at > window[1]) continue;
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const windowTotal = [...selfUs.values()].reduce((a, b) => a + b, 0);
const windowSelf = new Map(selfUs);
if (values.within !== undefined) for (const id of [...selfUs.keys()]) if (!under(id, values.within)) selfUs.delete(id);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  const name = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const group = where(frame.url);
  byFile.set(group, (byFile.get(group) ?? 0) + us);
}

// Inclusive shares (of the whole window): a sample counts when any frame of its stack matches.
for (const pattern of values.inclusive ?? []) {
  let us = 0;
  for (const [id, self] of windowSelf) if (under(id, pattern)) us += self;
  process.stdout.write(
    `inclusive ${pattern}: ${((100 * us) / windowTotal).toFixed(1)}% of the window (${(us / 1000).toFixed(0)} ms)\n`,
  );
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const show = (title: string, entries: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(`${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
};
process.stdout.write(
  `${file}: ${(windowTotal / 1e6).toFixed(2)} s sampled${values.within === undefined ? '' : `, ${(total / 1e6).toFixed(2)} s of it under ${values.within}`}\n`,
);
show('self time by function', byFunction);
show('self time by file / package', byFile);
