// Reading Prometheus' text format in tests: the samples of a scrape, the
// metric families it declares, and the metric names a PromQL expression of the
// shipped Grafana dashboard (deploy/grafana-dashboard.json) uses.

import fs from 'node:fs';
import path from 'node:path';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Family name → its type (`counter`, `gauge`, `histogram`, `summary`). */
  families: Map<string, string>;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const families = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      families.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = JSON.parse(`"${value!}"`) as string;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { families, samples };
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The one sample's value, 0 when there is none (a counter or histogram not yet observed with these labels). */
export function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(exposition, name, labels);
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

export interface DashboardPanel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

export const dashboardPath = path.resolve(import.meta.dirname, '../../deploy/grafana-dashboard.json');

export function readDashboard(): { title: string; uid: string; panels: DashboardPanel[] } {
  return JSON.parse(fs.readFileSync(dashboardPath, 'utf8')) as { title: string; uid: string; panels: DashboardPanel[] };
}

/** Metric names a PromQL expression selects: Parley's, Node's and the process's (functions, labels and `le` are not). */
export function metricNamesIn(expr: string): string[] {
  const withoutMatchers = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  return [...new Set(withoutMatchers.match(/\b(?:parley|nodejs|process)_[a-zA-Z0-9_]+\b/g) ?? [])];
}

/** The family a sample name belongs to: a histogram's `_bucket`, `_sum` and `_count` are the histogram's. */
export function familyOf(name: string, families: ReadonlyMap<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return ['histogram', 'summary'].includes(families.get(base) ?? '') ? base : undefined;
}
