// The `parley` command line as an operator meets it: usage on --help, a clear
// refusal of an unknown command or option, and the process's exit codes.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function parley(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/parley.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('parley CLI', () => {
  it('lists its commands on --help', async () => {
    const { code, stdout } = await parley('--help');
    expect(code).toBe(0);
    for (const command of ['start', 'migrate', 'replay', 'rebuild', 'seed']) expect(stdout).toContain(`  ${command} `);
  });

  it("prints a command's options on <command> --help, without touching any data", async () => {
    const replay = await parley('replay', '--help');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^usage: parley replay/);
    expect(replay.stdout).toContain('--from-time');
    const rebuild = await parley('rebuild', '--help');
    expect(rebuild.code).toBe(0);
    expect(rebuild.stdout).toMatch(/^usage: parley rebuild <read model>/);
    expect(rebuild.stdout).toContain('--drop-old');
  });

  it('refuses an unknown command with exit code 2 and the usage', async () => {
    const { code, stderr } = await parley('frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command: frobnicate');
    expect(stderr).toContain('usage: parley <command>');
  });

  it('refuses an unknown option with exit code 1 and names it', async () => {
    const { code, stderr } = await parley('replay', '--frobnicate');
    expect(code).toBe(1);
    expect(stderr).toContain("'--frobnicate'");
  });
});
