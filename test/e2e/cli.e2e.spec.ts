// The `parley` command line as an operator meets it: usage on --help, a clear
// refusal of an unknown command or option, and the process's exit codes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { modeEnv } from '../support/modes.ts';
import { tempDataDir } from '../support/server.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function parley(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return parleyWith({ LOG_LEVEL: 'silent' }, ...args);
}

function parleyWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/parley.js'), ...args], {
    cwd: repoRoot,
    // Only what each test gives, as an operator's clean shell: a DATABASE_URL or
    // KAFKA_BROKERS exported where the tests run must not move the CLI elsewhere.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
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
    for (const command of ['start', 'migrate', 'replay', 'rebuild', 'seed', 'admin']) expect(stdout).toContain(`  ${command} `);
  });

  // Each process loads the whole program (~1.5 s alone, 5 s on a loaded
  // machine): they run side by side, with room for a busy CI.
  it('answers --help on every command without touching the data dir', { timeout: 120_000 }, async () => {
    const dataDir = tempDataDir('parley-cli-help-');
    const commands = ['start', 'migrate', 'replay', 'rebuild', 'openapi', 'admin'];
    const answers = await Promise.all(
      commands.map((command) => parleyWith({ LOG_LEVEL: 'silent', PARLEY_DATA_DIR: dataDir }, command, '--help')),
    );
    for (const [index, { code, stdout }] of answers.entries()) {
      const command = commands[index]!;
      expect(code, command).toBe(0);
      expect(stdout, command).toMatch(new RegExp(`^usage: parley ${command}`));
    }
    expect(fs.readdirSync(dataDir)).toEqual([]);
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

/** The names in the JSON log line whose msg is `msg`. */
const loggedNames = (stdout: string, msg: string, field: string): string[] => {
  const line = stdout
    .split('\n')
    .filter(Boolean)
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => entry.msg === msg);
  return (line?.[field] as string[] | undefined) ?? [];
};

describe('parley migrate', () => {
  it('down reverts the newest migration, up applies it again (on the mode’s database)', async () => {
    const dataDir = tempDataDir('parley-cli-migrate-');
    const env = { LOG_LEVEL: 'info', PARLEY_DATA_DIR: dataDir, ...(await modeEnv(dataDir)) };
    const up = await parleyWith(env, 'migrate');
    expect(up.code, up.stderr).toBe(0);
    const newest = fs
      .readdirSync(path.join(repoRoot, 'migrations'))
      .filter((f) => /^\d{4}_.+(?<!\.spec)\.ts$/.test(f))
      .sort()
      .at(-1)!;
    expect(loggedNames(up.stdout, 'migrations applied', 'applied')).toContain(newest.replace(/\.ts$/, ''));

    const down = await parleyWith(env, 'migrate', 'down');
    expect(down.code, down.stderr).toBe(0);
    expect(loggedNames(down.stdout, 'migration reverted', 'reverted')).toEqual([newest.replace(/\.ts$/, '')]);
    const again = await parleyWith(env, 'migrate', 'up');
    expect(again.code, again.stderr).toBe(0);
    expect(loggedNames(again.stdout, 'migrations applied', 'applied')).toEqual([newest.replace(/\.ts$/, '')]);
  });

  it('create writes the next numbered file from a template, which migrate up then runs', async () => {
    const dir = tempDataDir('parley-cli-migrations-');
    const first = await parleyWith({ LOG_LEVEL: 'silent' }, 'migrate', 'create', 'add_colors', '--dir', dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe(path.join(dir, '0001_add_colors.ts'));
    const second = await parleyWith({ LOG_LEVEL: 'silent' }, 'migrate', 'create', 'add_sizes', '--dir', dir);
    expect(second.stdout.trim()).toBe(path.join(dir, '0002_add_sizes.ts'));
    expect(fs.readFileSync(path.join(dir, '0001_add_colors.ts'), 'utf8')).toMatch(
      /export async function up[\s\S]*export async function down/,
    );

    const refused = await parleyWith({ LOG_LEVEL: 'silent' }, 'migrate', 'create', 'Bad Name', '--dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('a-z, 0-9 and _');

    const dataDir = tempDataDir('parley-cli-migrate-tpl-');
    const applied = await parleyWith({ LOG_LEVEL: 'info', PARLEY_DATA_DIR: dataDir }, 'migrate', 'up', '--dir', dir);
    expect(applied.code, applied.stderr).toBe(0);
    expect(loggedNames(applied.stdout, 'migrations applied', 'applied')).toEqual(['0001_add_colors', '0002_add_sizes']);
  });
});

describe('parley openapi', () => {
  it('writes the OpenAPI document to a file (npm run swagger)', async () => {
    const out = path.join(tempDataDir('parley-cli-openapi-'), 'openapi.json');
    const written = await parleyWith({ LOG_LEVEL: 'silent' }, 'openapi', '--out', out);
    expect(written.code, written.stderr).toBe(0);
    const document = JSON.parse(fs.readFileSync(out, 'utf8')) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/api/v1/auth/register', '/api/v1/rooms/{id}/messages']));
  });
});

describe('configuration from a .env', () => {
  it('parley start reads .env in the working directory (the Go service’s names too); the environment wins', async () => {
    const cwd = tempDataDir('parley-cli-dotenv-');
    fs.writeFileSync(
      path.join(cwd, '.env'),
      [`PARLEY_DATA_DIR=${path.join(cwd, 'from-dotenv')}`, 'SERVER_PORT=0', 'HOST=127.0.0.1', 'LOG_LEVEL=debug'].join('\n'),
    );
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/parley.js'), 'start'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', PARLEY_BCRYPT_COST: '4' },
    });
    try {
      const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out
            .split('\n')
            .filter((text) => text.startsWith('{'))
            .map((text) => JSON.parse(text) as Record<string, unknown>)
            .find((entry) => entry.msg === 'parley started');
          if (line !== undefined) resolve(line);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before starting`)));
      });
      expect(started.dataDir).toBe(path.join(cwd, 'from-dotenv'));
      expect(started.port).toEqual(expect.any(Number));
      // LOG_LEVEL came from the environment, not the file's debug.
      expect(started.level).toBe(30);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });

  it('every setting .env.sample leaves uncommented is one Parley accepts', async () => {
    const sample = (await import('node:util')).parseEnv(fs.readFileSync(path.join(repoRoot, '.env.sample'), 'utf8'));
    const { loadConfig } = await import('../../src/config.ts');
    expect(() => loadConfig(sample)).not.toThrow();
    expect(Object.keys(sample).length).toBeGreaterThan(0);
  });
});
