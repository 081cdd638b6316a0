// Scenario 6: projection rebuild — 1,000,000 events replayed into fresh
// read-model tables, events/s, on SQLite and on MySQL (target ≥ 50,000
// events/s into MySQL).
//
// TODO(rebuild): wire once `parley rebuild` is in main (src/projections/
// rebuild.ts is being written; the CLI case is not there yet). Plan:
//   1. Build the log once and cache it in bench/.fixtures/rebuild-<key>/:
//      1,000 rooms × 5 members, send_message commands through the real bus
//      and processor (commands-worker.ts already does this at ~9k/s, so 1 M
//      events take ~2 min; --quick: 100 k).
//   2. Per round, on a copy of that data dir: `taskset -c 0 node src/main.ts
//      rebuild chat` with PARLEY_DATA_DIR (SQLite) and again with
//      DATABASE_URL=mysql://… on a fresh database (MySQL/MariaDB from
//      scripts/stack.sh); read events and ms from its RebuildResult, and the
//      process's CPU from /proc, like the other scenarios.
//   3. Baseline: the same rows written with one multi-row INSERT per batch
//      straight through mysql2 (the ceiling for batched upserts).

import fs from 'node:fs';
import path from 'node:path';
import type { BenchOptions } from '../support/harness.ts';
import { repoRoot } from '../support/targets.ts';

export async function runRebuild(options: BenchOptions): Promise<void> {
  const main = fs.readFileSync(path.join(repoRoot, 'src/main.ts'), 'utf8');
  const available = main.includes("case 'rebuild'");
  options.log(
    available
      ? 'parley rebuild is in src/main.ts now: bench/scenarios/rebuild.ts still has to drive it (see the TODO at its top)'
      : 'parley rebuild is not in src/main.ts yet',
  );
  throw new Error('the rebuild scenario is not wired yet (TODO in bench/scenarios/rebuild.ts)');
}
