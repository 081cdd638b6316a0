// Summarises a perf profile of a server (`npm run bench -- … --profile DIR
// --profiler perf`, support/perf-record.ts): where the process's CPU time
// went, on every thread, down into SQLite and the kernel — which V8's own
// profiler cannot see (it samples the main thread on a wall clock, so a
// blocked fsync looks like busy JS, and kernel work shows as the JS that
// asked for it, if at all).
//
//   node bench/perf-summary.ts DIR/perf.data [--top 30]
//        [--results bench/results/….json --phase 'ws 1k msg/s' [--run 0]]
//        [--leaf SYMBOL …]
//
// Tables: the threads; what kind of code the CPU ran (JS, the V8 and Node
// runtime, its compilers, GC, SQLite, libc, the kernel by who called it); self time by
// function, JS or native; the JS frame
// nearest to each sample ("caused by": SQLite's and the kernel's time lands
// on the JS function that called into them); inclusive shares by function
// and by file. --leaf SYMBOL adds who called a native function (its three
// nearest JS frames). With --results/--phase only the samples inside that
// phase's measured window count (perf-record.ts records CLOCK_MONOTONIC).
// perf names compiled code, not inlined frames: a function TurboFan inlined
// counts as its caller.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { phaseWindowUs, summaryOptions, where } from './support/profile-frames.ts';

interface Frame {
  symbol: string;
  dso: string;
  /** For JIT-compiled JS: the function and its place (`name  file:line`). */
  js?: { name: string; place: string };
}
interface Sample {
  thread: string;
  timeUs: number;
  /** Leaf first. */
  frames: Frame[];
}

/** CPU time one sample stands for (perf-record.ts samples at 999 Hz). */
const msPerSample = 1000 / 999;
/** Native frames of V8's garbage collectors. */
const GC = /Heap::|Scavenge|MarkCompact|MinorMarkSweep|Sweeper|ConcurrentMarking|IncrementalMarking/;
/** Native frames of V8's optimising compilers (Maglev, TurboFan, Turboshaft). */
const COMPILER = /compiler::|maglev::|turboshaft::|CompilationJob|Compiler::/;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ...summaryOptions, leaf: { type: 'string', multiple: true } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: node bench/perf-summary.ts <perf.data> [--top N] [--results FILE --phase NAME] [--leaf SYMBOL]\n');
  process.exit(2);
}
const top = Number(values.top);
const window = phaseWindowUs(values.results, values.phase, Number(values.run));

restoreSymbolMaps(path.dirname(file));
const samples = (await readSamples(file)).filter((s) => s.timeUs >= window[0] && s.timeUs <= window[1]);
if (samples.length === 0) throw new Error(`no samples in ${file}${values.phase ? ` during ${values.phase}` : ''}`);

const threads = new Map<string, number>();
const kinds = new Map<string, number>();
const leaves = new Map<string, number>();
const causedBy = new Map<string, number>();
const inclusiveFunctions = new Map<string, number>();
const inclusiveFiles = new Map<string, number>();
const leafCallers = new Map<string, Map<string, number>>((values.leaf ?? []).map((symbol) => [symbol, new Map()]));
for (const sample of samples) {
  count(threads, sample.thread);
  count(kinds, kindOf(sample));
  const leaf = sample.frames[0];
  count(leaves, leaf?.js ? `${leaf.js.name}  ${leaf.js.place}` : (leaf?.symbol ?? 'unknown'));
  const js = sample.frames.flatMap((frame) => (frame.js ? [frame.js] : []));
  count(causedBy, js[0] ? `${js[0].name}  ${js[0].place}` : `(${sample.thread}, no JS frame)`);
  for (const key of new Set(js.map((f) => `${f.name}  ${f.place}`))) count(inclusiveFunctions, key);
  for (const key of new Set(js.map((f) => f.place.replace(/:\d+$/, '')))) count(inclusiveFiles, key);
  for (const [symbol, callers] of leafCallers) {
    if (sample.frames[0]?.symbol.includes(symbol))
      count(
        callers,
        js
          .slice(0, 3)
          .map((f) => `${f.name} ${f.place}`)
          .join(' < ') || '(no JS frame)',
      );
  }
}

const show = (title: string, entries: Map<string, number>, limit = top) => {
  process.stdout.write(`\n${title}\n`);
  for (const [name, n] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const share = `${((100 * n) / samples.length).toFixed(1).padStart(5)}%`;
    process.stdout.write(`${share}  ${(n * msPerSample).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
};
process.stdout.write(`${file}: ${samples.length} samples, ~${((samples.length * msPerSample) / 1000).toFixed(2)} CPU-s\n`);
show('threads', threads, 12);
show('what the CPU ran', kinds, 20);
show('self, by function (JS or native)', leaves);
show('caused by (nearest JS frame; SQLite and the kernel land on their caller)', causedBy);
show('inclusive, by function', inclusiveFunctions);
show('inclusive, by file', inclusiveFiles);
for (const [symbol, callers] of leafCallers) show(`callers of ${symbol} (three nearest JS frames)`, callers, 15);

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** One category per sample: what ran at the leaf, and for the kernel, on whose behalf. */
function kindOf(sample: Sample): string {
  const [leaf] = sample.frames;
  if (leaf === undefined) return 'unknown';
  // Native frames up to the first JS one: the runtime code this sample is in.
  const firstJs = sample.frames.findIndex((f) => f.js !== undefined);
  const native = firstJs < 0 ? sample.frames : sample.frames.slice(0, firstJs);
  const inSqlite = native.some((f) => f.symbol.startsWith('sqlite3'));
  if (leaf.dso === '[kernel.kallsyms]') {
    if (inSqlite) return 'kernel, for SQLite (file reads, writes, fsync)';
    if (native.some((f) => /uv__|LibuvStreamWrap|uv_/.test(f.symbol))) return 'kernel, for libuv (sockets, polls, timers)';
    return 'kernel, other';
  }
  if (leaf.js !== undefined) return 'JS (JIT-compiled code)';
  if (native.some((f) => GC.test(f.symbol))) return 'GC';
  if (native.some((f) => COMPILER.test(f.symbol))) return 'V8 compiling JS (Maglev, TurboFan)';
  if (inSqlite) return 'SQLite';
  if (leaf.dso.includes('libc')) return 'libc (malloc, memcpy, …)';
  return 'V8 and Node runtime (builtins, ICs, compilers, bindings)';
}

/** perf script finds JS symbols in /tmp/perf-<pid>.map; perf-record.ts keeps a copy beside the data. */
function restoreSymbolMaps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    if (!/^perf-\d+\.map$/.test(name)) continue;
    const target = path.join('/tmp', name);
    if (!fs.existsSync(target)) fs.copyFileSync(path.join(dir, name), target);
  }
}

async function readSamples(dataFile: string): Promise<Sample[]> {
  const child = spawn('perf', ['script', '-i', dataFile, '-F', 'comm,tid,time,ip,sym,dso'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  const all: Sample[] = [];
  let current: Sample | undefined;
  for await (const line of readline.createInterface({ input: child.stdout })) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      // "MainThread  7788   604.229170:" — the thread name may hold spaces.
      const match = /^(.*?)\s+\d+\s+(\d+\.\d+):/.exec(line);
      if (!match) continue;
      current = { thread: match[1]!, timeUs: Math.round(Number(match[2]) * 1e6), frames: [] };
      all.push(current);
      continue;
    }
    current?.frames.push(parseFrame(line.trim()));
  }
  const code = await exited;
  if (code !== 0) throw new Error(`perf script -i ${dataFile} exited with ${code}`);
  return all;
}

/** "7f40f43f7a31 JS:+'appendEvents file:///…/processor.ts:389:30 (/tmp/perf-7788.map)" and native frames alike. */
function parseFrame(text: string): Frame {
  const match = /^[0-9a-f]+ (.*) \(([^)]*)\)$/.exec(text);
  if (!match) return { symbol: text, dso: '' };
  const symbol = match[1]!.replace(/\+0x[0-9a-f]+$/, '');
  const dso = match[2]!;
  if (!symbol.startsWith('JS:')) return { symbol, dso };
  // V8 marks the tier (* optimised, + maglev, ^ sparkplug, ~ interpreted) and a quote before a name.
  const body = symbol.slice(3).replace(/^[*+^~]?'?/, '');
  const space = body.lastIndexOf(' ');
  const located = /^(.*):(\d+):\d+$/.exec(body.slice(space + 1));
  if (!located) return { symbol, dso, js: { name: body || '(anonymous)', place: '(unknown)' } };
  return {
    symbol,
    dso,
    js: { name: body.slice(0, Math.max(space, 0)) || '(anonymous)', place: `${where(located[1]!)}:${located[2]}` },
  };
}
