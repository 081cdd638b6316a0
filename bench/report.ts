// Turning runs into the numbers we quote: per (group, server) the median
// [min–max] over rounds of each metric, the ratio Parley / baseline computed
// per round (round r of Parley against round r of the baseline, which ran
// right after it), a Markdown table on stdout and the whole record as JSON in
// bench/results/<timestamp>-<scenario>.json (git-ignored).

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './support/targets.ts';

export interface MetricSpec {
  key: string;
  label: string;
  digits?: number;
}

/** One measured value set: a group (a phase, a rate) × a server × a round. */
export interface Sample {
  group: string;
  /** A server (an `Impl`) or another target's label. */
  impl: string;
  round: number;
  values: Record<string, number | null | undefined>;
  /** e.g. "overloaded" */
  note?: string;
}

export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
  values: (number | null)[];
}

export interface SummaryRow {
  group: string;
  impl: string;
  metrics: Record<string, Spread>;
  notes: string[];
}

export interface RatioRow {
  group: string;
  metric: string;
  numerator: string;
  denominator: string;
  perRound: (number | null)[];
  spread: Spread;
}

export function spread(values: (number | null | undefined)[]): Spread {
  const clean = values.map((v) => (v === undefined || v === null || Number.isNaN(v) ? null : v));
  const present = clean.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (present.length === 0) return { median: null, min: null, max: null, values: clean };
  const mid = present.length >> 1;
  const median = present.length % 2 === 1 ? present[mid]! : (present[mid - 1]! + present[mid]!) / 2;
  return { median, min: present[0]!, max: present.at(-1)!, values: clean };
}

export function summarize(samples: Sample[], metrics: MetricSpec[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const keys = [...new Set(samples.map((s) => `${s.group}\u0000${s.impl}`))];
  for (const key of keys) {
    const [group, impl] = key.split('\u0000') as [string, string];
    const mine = samples.filter((s) => s.group === group && s.impl === impl).sort((a, b) => a.round - b.round);
    const row: SummaryRow = { group, impl, metrics: {}, notes: [...new Set(mine.flatMap((s) => (s.note ? [s.note] : [])))] };
    for (const metric of metrics) row.metrics[metric.key] = spread(mine.map((s) => s.values[metric.key]));
    rows.push(row);
  }
  return rows;
}

/** numerator / denominator per round, for each group both ran. */
export function ratios(samples: Sample[], metric: string, numerator: string, denominator: string): RatioRow[] {
  const out: RatioRow[] = [];
  for (const group of [...new Set(samples.map((s) => s.group))]) {
    const of = (impl: string) => samples.filter((s) => s.group === group && s.impl === impl);
    const top = of(numerator);
    const bottom = of(denominator);
    if (top.length === 0 || bottom.length === 0) continue;
    const perRound = top
      .sort((a, b) => a.round - b.round)
      .map((sample) => {
        const a = sample.values[metric];
        const b = bottom.find((other) => other.round === sample.round)?.values[metric];
        return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : a / b;
      });
    out.push({ group, metric, numerator, denominator, perRound, spread: spread(perRound) });
  }
  return out;
}

export function formatNumber(value: number | null, digits = 2): string {
  if (value === null) return '–';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en');
  if (Math.abs(value) >= 100) return value.toFixed(Math.min(digits, 1)).replace(/\.0$/, '');
  return value.toFixed(digits);
}

export function formatSpread(s: Spread, digits = 2): string {
  if (s.median === null) return '–';
  if (s.min === s.max) return formatNumber(s.median, digits);
  return `${formatNumber(s.median, digits)} [${formatNumber(s.min, digits)}–${formatNumber(s.max, digits)}]`;
}

export function markdownTable(rows: SummaryRow[], metrics: MetricSpec[]): string {
  const header = ['case', 'server', ...metrics.map((m) => m.label)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const cells = metrics.map((m) => formatSpread(row.metrics[m.key]!, m.digits));
    const impl = row.notes.length > 0 ? `${row.impl} (${row.notes.join(', ')})` : row.impl;
    lines.push(`| ${row.group} | ${impl} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function ratioTable(rows: RatioRow[], labels: Record<string, string>): string {
  if (rows.length === 0) return '';
  const lines = ['| case | ratio | median [min–max] | per round |', '|---|---|---|---|'];
  for (const row of rows) {
    const perRound = row.perRound.map((v) => (v === null ? '–' : v.toFixed(2))).join(', ');
    lines.push(
      `| ${row.group} | ${labels[row.metric] ?? row.metric}: ${row.numerator} / ${row.denominator} | ${formatSpread(row.spread, 2)} | ${perRound} |`,
    );
  }
  return lines.join('\n');
}

function git(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoRoot, encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** Writes the scenario's record; returns the file's path. */
export function writeResults(scenario: string, record: Record<string, unknown>): string {
  const dir = path.join(repoRoot, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = path.join(dir, `${stamp}-${scenario}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ scenario, git: git(), ...record }, null, 2)}\n`);
  return file;
}
