// Draws the import graph of src/ folder by folder, from dependency-cruiser's
// view of the code (the same one `npm run lint:deps` checks the layering
// rules against), as a Mermaid flowchart with the layers as rows, and keeps it
// in docs/ARCHITECTURE.md between two markers.
//
//   node scripts/deps-graph.ts           prints the graph
//   node scripts/deps-graph.ts --write   rewrites the block in docs/ARCHITECTURE.md
//   node scripts/deps-graph.ts --check   fails when that block is not the current graph

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const docPath = path.join(repoRoot, 'docs/ARCHITECTURE.md');
const START = '<!-- deps-graph:start (npm run docs:deps writes this block) -->';
const END = '<!-- deps-graph:end -->';

/** The layers, bottom first, as .dependency-cruiser.cjs defines them. */
const layers: { name: string; rooms: string[] }[] = [
  { name: 'wiring', rooms: ['main.ts', 'cli', 'compose.ts'] },
  { name: 'edge', rooms: ['http', 'gateway', 'api-docs'] },
  { name: 'services', rooms: ['commands', 'projections', 'queries', 'auth', 'uploads', 'privacy', 'push', 'webhooks', 'bots'] },
  { name: 'ports and adapters', rooms: ['log', 'store', 'infra'] },
  {
    name: 'leaves',
    rooms: ['domain', 'config.ts', 'config-aliases.ts', 'ids.ts', 'random-bytes.ts', 'media-types.ts', 'trusted-proxies.ts'],
  },
];

interface CruiseOutput {
  modules: { source: string; dependencies: { resolved: string }[] }[];
}

/** `src/gateway/fanout.ts` → `gateway`; `src/config.ts` → `config.ts`; anything outside src → null. */
function roomOf(file: string): string | null {
  const match = /^src\/([^/]+)(\/)?/.exec(file);
  if (match === null) return null;
  return match[1]!;
}

export function drawGraph(): string {
  const json = execFileSync(
    process.execPath,
    [
      path.join(repoRoot, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs'),
      'src',
      '--config',
      '.dependency-cruiser.cjs',
      '--exclude',
      '(\\.(spec|contract|fixture)\\.ts$)|(/testing/)',
      '--output-type',
      'json',
    ],
    { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
  );
  const cruise = JSON.parse(json) as CruiseOutput;
  const edges = new Map<string, number>();
  for (const module of cruise.modules) {
    const from = roomOf(module.source);
    if (from === null) continue;
    for (const dependency of module.dependencies) {
      const to = roomOf(dependency.resolved);
      if (to === null || to === from) continue;
      const key = `${from} ${to}`;
      edges.set(key, (edges.get(key) ?? 0) + 1);
    }
  }
  // Every layer may use the leaves; edges into them would only crowd the picture.
  const leaves = new Set(layers.at(-1)!.rooms);
  for (const key of edges.keys()) if (leaves.has(key.split(' ')[1]!) && !leaves.has(key.split(' ')[0]!)) edges.delete(key);
  const known = new Set(layers.flatMap((layer) => layer.rooms));
  const unplaced = [...new Set([...edges.keys()].flatMap((key) => key.split(' ')))].filter((room) => !known.has(room));
  if (unplaced.length > 0) throw new Error(`rooms with no layer in scripts/deps-graph.ts: ${unplaced.join(', ')}`);

  const id = (room: string) => room.replace(/\W/g, '_');
  const lines = ['```mermaid', 'flowchart TB'];
  for (const layer of layers) {
    lines.push(`  subgraph ${id(layer.name)}["${layer.name}"]`);
    for (const room of layer.rooms) lines.push(`    ${id(room)}["${room}"]`);
    lines.push('  end');
  }
  for (const [key, count] of [...edges].sort(([a], [b]) => a.localeCompare(b))) {
    const [from, to] = key.split(' ') as [string, string];
    lines.push(`  ${id(from)} -->|${count}| ${id(to)}`);
  }
  lines.push('```');
  return lines.join('\n');
}

function currentBlock(doc: string): { before: string; block: string; after: string } {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${docPath} has no ${START} … ${END} block`);
  return { before: doc.slice(0, start + START.length), block: doc.slice(start + START.length, end), after: doc.slice(end) };
}

const mode = process.argv[2];
if (mode === undefined) {
  process.stdout.write(`${drawGraph()}\n`);
} else if (mode === '--write' || mode === '--check') {
  const doc = fs.readFileSync(docPath, 'utf8');
  const { before, block, after } = currentBlock(doc);
  const wanted = `\n${drawGraph()}\n`;
  if (mode === '--write') {
    fs.writeFileSync(docPath, before + wanted + after);
  } else if (block !== wanted) {
    process.stderr.write('docs/ARCHITECTURE.md: the import graph is not the current one; run `npm run docs:deps`\n');
    process.exitCode = 1;
  }
} else {
  process.stderr.write('usage: node scripts/deps-graph.ts [--write | --check]\n');
  process.exitCode = 2;
}
