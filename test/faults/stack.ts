// Stopping and starting the shared servers of the local stack, for the fault
// suites. Every wait is bounded. `restoreStack()` brings back whatever is down
// and waits until it answers: fault suites call it in afterAll/finally, since
// other suites run on the same servers after them.

import { execFile } from 'node:child_process';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { testMysqlUrl } from '../support/cluster.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const redisPort = process.env.PARLEY_REDIS_PORT ?? '6379';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded); never rejects, the caller reads the code. */
export function run(command: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({
          code,
          stdout,
          stderr: stderr + (error !== null && code === -1 ? `\n${error.message}` : ''),
        });
      },
    );
  });
}

async function mustRun(command: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const result = await run(command, args, timeoutMs);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 250 ms until it returns `want`; throws after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, want: boolean, what: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await check().catch(() => false)) === want) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------- MariaDB

export async function mariadbAnswers(): Promise<boolean> {
  const connection = await mysql.createConnection({ uri: testMysqlUrl, connectTimeout: 1500 });
  try {
    await connection.query('select 1');
    return true;
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/** Clean shutdown (mariadb-admin shutdown); resolves once it no longer answers. */
export async function stopMariadb(): Promise<void> {
  await mustRun('mariadb-admin', ['-uroot', '-h127.0.0.1', 'shutdown'], 60_000);
  await waitUntil(mariadbAnswers, false, 'MariaDB to stop', 60_000);
}

/** Starts mariadbd (as the stack does) unless it answers; resolves once it answers. Returns ms waited. */
export async function startMariadb(): Promise<number> {
  if (await mariadbAnswers().catch(() => false)) return 0;
  const started = Date.now();
  await mustRun('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], 30_000);
  await waitUntil(mariadbAnswers, true, 'MariaDB to answer', 120_000);
  return Date.now() - started;
}

// ---------------------------------------------------------------- Redis

export async function redisAnswers(): Promise<boolean> {
  const result = await run('redis-cli', ['-h', '127.0.0.1', '-p', redisPort, 'ping'], 3_000);
  return result.code === 0 && result.stdout.trim() === 'PONG';
}

/** `redis-cli shutdown nosave`; resolves once it no longer answers. */
export async function stopRedis(): Promise<void> {
  // redis-cli reports the connection the server closed; the probe below decides.
  await run('redis-cli', ['-h', '127.0.0.1', '-p', redisPort, 'shutdown', 'nosave'], 15_000);
  await waitUntil(redisAnswers, false, 'Redis to stop', 30_000);
}

/** Starts redis-server as the stack does unless it answers; resolves once it answers. */
export async function startRedis(): Promise<number> {
  if (await redisAnswers()) return 0;
  const started = Date.now();
  await mustRun(
    'redis-server',
    [
      '--daemonize',
      'yes',
      '--bind',
      '127.0.0.1',
      '-::1',
      '--port',
      redisPort,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      '/var/lib/redis',
      '--logfile',
      '/var/log/redis/ci.log',
    ],
    15_000,
  );
  await waitUntil(redisAnswers, true, 'Redis to answer', 60_000);
  return Date.now() - started;
}

// ---------------------------------------------------------------- Kafka

export async function kafkaAnswers(): Promise<boolean> {
  return (await run('bash', ['scripts/stack.sh', 'status', 'kafka'], 30_000)).code === 0;
}

/** `scripts/stack.sh restart-kafka [--kill]` (keeps Kafka's data); resolves once the broker answers again. */
export async function restartKafka(how: 'term' | 'kill'): Promise<RunResult> {
  return mustRun('bash', ['scripts/stack.sh', 'restart-kafka', ...(how === 'kill' ? ['--kill'] : [])], 300_000);
}

export async function startKafka(): Promise<void> {
  await mustRun('bash', ['scripts/stack.sh', 'up', 'kafka'], 300_000);
}

// ---------------------------------------------------------------- all

/**
 * Brings every server back that is not answering (MariaDB, Redis, Kafka) and
 * waits until each answers. Safe to call when everything is up.
 */
export async function restoreStack(): Promise<void> {
  const problems: unknown[] = [];
  for (const [name, up, start] of [
    ['MariaDB', mariadbAnswers, startMariadb],
    ['Redis', redisAnswers, startRedis],
    ['Kafka', kafkaAnswers, startKafka],
  ] as const) {
    try {
      if (!(await up().catch(() => false))) {
        console.warn(`[faults] ${name} is down after the suite; starting it again`);
        await start();
      }
    } catch (error) {
      problems.push(error);
    }
  }
  if (problems.length > 0) throw new AggregateError(problems, 'restoring the stack failed');
}
