// Draws latency against load from benchmark results as a self-contained SVG
// (no dependencies): one panel per result file, x = load actually delivered
// (log scale), y = send→deliver latency (log scale), p99 solid and p50
// dashed, one colour per server; hollow markers are overloaded runs (the
// offered rate was not delivered), squares the closed-loop saturation points.
// Each point is the median over rounds.
//
//   node bench/chart.ts [--out bench/latency-vs-load.svg] [results.json …]
//
// Without files it takes the newest full (not --quick) fanout-wide,
// fanout-small and e2e results in bench/results/.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { spread } from './report.ts';
import { repoRoot } from './support/targets.ts';

interface PhaseLike {
  name: string;
  kind: 'closed' | 'open';
  via: 'ws' | 'rest';
  skipped?: string;
  overloaded: boolean;
  deliveriesPerS: number;
  messagesPerS: number;
  latency: { p50: number | null; p99: number | null };
}
interface ResultFile {
  scenario: string;
  title: string;
  quick: boolean;
  rounds: number;
  runs: { round: number; impl: string; result: { phases: PhaseLike[] } }[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string', default: path.join(repoRoot, 'bench/latency-vs-load.svg') } },
});

function newest(scenario: string): string | undefined {
  const dir = path.join(repoRoot, 'bench/results');
  if (!fs.existsSync(dir)) return undefined;
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(`-${scenario}.json`))
    .sort()
    .reverse()
    .map((name) => path.join(dir, name))
    .find((file) => !(JSON.parse(fs.readFileSync(file, 'utf8')) as ResultFile).quick);
}

const files = positionals.length > 0 ? positionals : ['fanout-wide', 'fanout-small', 'e2e'].flatMap((s) => newest(s) ?? []);
if (files.length === 0) {
  process.stderr.write('no results: run `npm run bench -- fanout-wide` (without --quick) first, or pass files\n');
  process.exit(2);
}
const results = files.map((file) => JSON.parse(fs.readFileSync(file, 'utf8')) as ResultFile);

interface Point {
  x: number;
  p50: number;
  p99: number;
  overloaded: boolean;
  closed: boolean;
}
interface Series {
  label: string;
  color: string;
  points: Point[];
}

const colors: Record<string, string> = { parley: '#d62728', ws: '#1f77b4', sio: '#2ca02c' };
const restColors: Record<string, string> = { parley: '#ff9896', ws: '#aec7e8' };

/** Median over rounds of each phase, per server (and per intake path for e2e). */
function seriesOf(result: ResultFile): { series: Series[]; xLabel: string } {
  const e2e = result.scenario === 'e2e';
  const groups = new Map<string, { label: string; color: string; phases: Map<string, PhaseLike[]> }>();
  for (const run of result.runs) {
    for (const phase of run.result.phases) {
      if (phase.skipped !== undefined || phase.latency.p99 === null) continue;
      const key = e2e ? `${run.impl} ${phase.via}` : run.impl;
      let group = groups.get(key);
      if (group === undefined) {
        const color = (e2e && phase.via === 'rest' ? restColors[run.impl] : colors[run.impl]) ?? '#7f7f7f';
        const label = e2e
          ? `${run.impl === 'ws' ? 'bare ws' : run.impl} via ${phase.via === 'ws' ? 'WS' : 'REST'}`
          : nameOf(run.impl);
        groups.set(key, (group = { label, color, phases: new Map() }));
      }
      const list = group.phases.get(phase.name) ?? [];
      list.push(phase);
      group.phases.set(phase.name, list);
    }
  }
  const series = [...groups.values()].map(({ label, color, phases }) => ({
    label,
    color,
    points: [...phases.values()]
      .map((list) => ({
        x: spread(list.map((p) => (e2e ? p.messagesPerS : p.deliveriesPerS))).median!,
        p50: spread(list.map((p) => p.latency.p50)).median!,
        p99: spread(list.map((p) => p.latency.p99)).median!,
        overloaded: list.filter((p) => p.overloaded).length * 2 > list.length,
        closed: list[0]!.kind === 'closed',
      }))
      .filter((p) => p.x > 0)
      .sort((a, b) => a.x - b.x),
  }));
  return { series, xLabel: e2e ? 'messages/s delivered' : 'deliveries/s delivered' };
}

function nameOf(impl: string): string {
  return impl === 'ws' ? 'bare ws' : impl === 'sio' ? 'Socket.IO' : impl === 'parley' ? 'Parley' : impl;
}

// ---- drawing ----
const PANEL_W = 460;
const PANEL_H = 380;
const M = { left: 60, right: 16, top: 48, bottom: 52 };
const width = PANEL_W * results.length;
const height = PANEL_H + 24;
const log10 = Math.log10;
const esc = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number) => (v >= 1000 ? `${v / 1000}k` : String(v));

function niceTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(log10(min)); e <= Math.ceil(log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min && v <= max) ticks.push(v);
    }
  }
  return ticks;
}

const parts: string[] = [];
parts.push(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
  `<rect width="100%" height="100%" fill="white"/>`,
);
results.forEach((result, index) => {
  const { series, xLabel } = seriesOf(result);
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  const ys = all.flatMap((p) => [p.p50, p.p99]).filter((v) => v > 0);
  const edge = (v: number, up: boolean) => {
    const steps = [1, 2, 5, 10].map((m) => m * 10 ** Math.floor(log10(v)));
    return up ? steps.find((t) => t >= v)! : [...steps].reverse().find((t) => t <= v)!;
  };
  const xMin = edge(Math.min(...xs), false);
  const xMax = edge(Math.max(...xs) * 1.05, true);
  const yMin = Math.max(0.01, 10 ** Math.floor(log10(Math.min(...ys))));
  const yMax = 10 ** Math.ceil(log10(Math.max(...ys)));
  const x0 = index * PANEL_W + M.left;
  const x1 = (index + 1) * PANEL_W - M.right;
  const y0 = PANEL_H - M.bottom;
  const y1 = M.top;
  const sx = (v: number) => x0 + ((log10(v) - log10(xMin)) / (log10(xMax) - log10(xMin))) * (x1 - x0);
  const sy = (v: number) => y0 - ((log10(Math.max(v, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin))) * (y0 - y1);
  parts.push(
    `<text x="${(x0 + x1) / 2}" y="22" text-anchor="middle" font-size="13" font-weight="600">${esc(result.title)}</text>`,
  );
  parts.push(`<text x="${(x0 + x1) / 2}" y="37" text-anchor="middle" fill="#555">median of ${result.rounds} rounds</text>`);
  for (const t of niceTicks(xMin, xMax)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${y1}" y2="${y0}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(t)}" y="${y0 + 14}" text-anchor="middle" fill="#333">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(yMin, yMax)) {
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 6}" y="${sy(t) + 4}" text-anchor="end" fill="#333">${t}</text>`);
  }
  parts.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${(x0 + x1) / 2}" y="${y0 + 32}" text-anchor="middle">${xLabel} (log)</text>`);
  parts.push(
    `<text transform="translate(${x0 - 44} ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">send → deliver latency, ms (log)</text>`,
  );
  for (const s of series) {
    for (const [key, dash] of [
      ['p99', ''],
      ['p50', ' stroke-dasharray="4 3"'],
    ] as const) {
      // The line joins the fixed-rate points; closed-loop points stand alone.
      const d = s.points
        .filter((p) => !p.closed)
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p[key]).toFixed(1)}`)
        .join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${key === 'p99' ? 2 : 1.2}"${dash}/>`);
      for (const p of s.points) {
        const cx = sx(p.x).toFixed(1);
        const cy = sy(p[key]).toFixed(1);
        const fill = p.overloaded ? 'white' : s.color;
        parts.push(
          p.closed
            ? `<rect x="${Number(cx) - 3.5}" y="${Number(cy) - 3.5}" width="7" height="7" fill="${fill}" stroke="${s.color}"/>`
            : `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${fill}" stroke="${s.color}"/>`,
        );
      }
    }
  }
  series.forEach((s, i) => {
    const ly = y1 + 14 + i * 15;
    parts.push(`<line x1="${x0 + 8}" x2="${x0 + 28}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
    parts.push(`<text x="${x0 + 33}" y="${ly}">${esc(s.label)}</text>`);
  });
});
parts.push(
  `<text x="12" y="${height - 10}" fill="#555">p99 solid, p50 dashed · circles: open loop at a fixed rate · squares: closed loop (saturation) · hollow: overloaded (offered rate not delivered)</text>`,
  `<desc>${esc(files.map((f) => path.basename(f)).join(', '))}</desc>`,
  '</svg>',
);
fs.writeFileSync(values.out, `${parts.join('\n')}\n`);
process.stdout.write(`wrote ${values.out}\n`);
