// Starts a real Parley process for end-to-end tests: `node src/main.ts start`
// on an ephemeral port with its own data dir, exactly as a user would run it,
// in the run's mode (modes.ts: the embedded adapters, or Kafka + MariaDB +
// Redis under the e2e-distributed project).

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { e2eMode, modeEnv } from './modes.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface ParleyProcess {
  url: string;
  wsUrl: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** Every log line the process printed (JSON objects), for assertions. */
  logs: Record<string, unknown>[];
  /** What the process wrote to stderr so far (the human start line). */
  stderr(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** The checkout to run (default this one; upgrade tests run an earlier version). */
  root?: string;
  dataDir?: string;
  port?: number;
  env?: Record<string, string>;
  /** Milliseconds to wait for "parley started" (default 20 s embedded, 60 s distributed). */
  timeoutMs?: number;
}

/**
 * Command budgets (PARLEY_RATE_*) out of the way, for processes under test
 * load: functional suites give one user bursts no person would (100 messages
 * in a moment in ws.e2e, a room per test for the same owner), and the fault
 * suites and benchmarks send steadily above a person's rate. The budgets
 * themselves are tested in command-rate-limits.e2e.spec.ts, which sets its own.
 */
export const unthrottledCommands: Record<string, string> = Object.fromEntries(
  ['MESSAGES', 'EDITS', 'REACTIONS', 'ROOMS', 'FRIEND_REQUESTS', 'OTHER'].map((rateClass) => [
    `PARLEY_RATE_${rateClass}_MAX`,
    '1000000',
  ]),
);

export function tempDataDir(prefix = 'parley-e2e-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startParley(options: StartOptions = {}): Promise<ParleyProcess> {
  const dataDir = options.dataDir ?? tempDataDir();
  const root = options.root ?? repoRoot;
  // A caller that names its own Kafka (the cluster suites) has chosen its adapters.
  const adapters = options.env?.KAFKA_BROKERS === undefined ? await modeEnv(dataDir) : {};
  const child = spawn(process.execPath, [path.join(root, 'src/main.ts'), 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(options.port ?? 0),
      HOST: '127.0.0.1',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_BCRYPT_COST: '4',
      LOG_LEVEL: 'info',
      ...unthrottledCommands,
      ...adapters,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`parley did not start in time\nstderr: ${stderr}`)),
      options.timeoutMs ?? (e2eMode === 'distributed' ? 60_000 : 20_000),
    );
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'parley started') {
          clearTimeout(timer);
          resolve(entry.port as number);
        }
      } catch {
        logs.push({ raw: line });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`parley exited with ${code} before starting\nstderr: ${stderr}`));
    });
  });

  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    dataDir,
    child,
    logs,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
