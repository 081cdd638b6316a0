// Runs the `parley` command line as an operator would, for suites that drive
// it (rebuild, replay, seed, …): `node src/main.ts …args` from the repository,
// with only PATH, HOME and `env` in its environment — nothing of the test
// runner's, and no .env (bin/parley.js reads one; cli.e2e.spec.ts tests that).

import { spawn } from 'node:child_process';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runParley(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'src/main.ts'), ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** runParley, resolving with its stdout; a non-zero exit rejects with its stderr. */
export async function parleyOutput(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  const { code, stdout, stderr } = await runParley(args, env);
  if (code !== 0) throw new Error(`parley ${args[0]} exited ${code}: ${stderr}`);
  return stdout;
}
