// A vitest reporter that ends `npm test` with the slowest test files, so a
// suite that grows slow is seen in every run (CI must stay under ten minutes).
// The time is the file's own: its tests and hooks plus importing it.

import type { Reporter, TestModule } from 'vitest/node';

const SHOWN = 10;

export default class SlowestFilesReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const timed = testModules
      .map((module) => {
        const diagnostic = module.diagnostic();
        return {
          file: module.relativeModuleId,
          project: module.project.name,
          ms: diagnostic.duration + diagnostic.collectDuration,
        };
      })
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SHOWN);
    if (timed.length === 0) return;
    const width = Math.max(...timed.map((t) => t.file.length));
    const lines = timed.map((t) => `  ${t.file.padEnd(width)}  ${(t.ms / 1000).toFixed(1).padStart(6)} s  (${t.project})`);
    process.stdout.write(`\nSlowest test files:\n${lines.join('\n')}\n`);
  }
}
