// The shipped nginx configuration (deploy/nginx.conf), run for real in front
// of test instances: its upstream points at them and it listens on a free
// loopback port; everything else — the headers it sets, the WebSocket upgrade —
// is the file as it ships. Needs the `nginx` binary (Debian: apt-get install
// nginx); without it the suite skips loudly, or fails under PARLEY_REQUIRE_INFRA=1.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { infraAvailable } from './infra.ts';

const shippedConf = path.resolve(import.meta.dirname, '../../deploy/nginx.conf');
const nginxBinary =
  ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx'].find((file) => fs.existsSync(file)) ?? 'nginx';

export function nginxAvailable(suite: string): Promise<boolean> {
  return infraAvailable('nginx', nginxBinary, suite, () => {
    const result = spawnSync(nginxBinary, ['-v'], { encoding: 'utf8' });
    if (result.error !== undefined) throw result.error;
    if (result.status !== 0) throw new Error(`nginx -v exited ${result.status}: ${result.stderr}`);
    return Promise.resolve();
  });
}

export interface RunningNginx {
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

/** A loopback port nothing listens on now (for a server to take right after). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** deploy/nginx.conf with its upstream servers replaced by `upstreams` and its listen address by `port`. */
export function shippedConfFor(upstreams: readonly string[], port: number): string {
  const conf = fs.readFileSync(shippedConf, 'utf8');
  const servers = upstreams.map((upstream) => `    server ${upstream};`).join('\n');
  const pointed = conf.replace(/(upstream parley \{\n)(?:\s*server [^;]+;\n)+/, `$1${servers}\n`);
  const listening = pointed.replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  if (pointed === conf || listening === pointed)
    throw new Error('deploy/nginx.conf no longer has the upstream or listen line this test rewrites');
  return listening;
}

/** nginx with the shipped configuration in front of `upstreams`, on `port` (default: a free one). */
export async function startShippedNginx(upstreams: readonly string[], port?: number): Promise<RunningNginx> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-'));
  port ??= await freePort();
  fs.writeFileSync(path.join(dir, 'parley.conf'), shippedConfFor(upstreams, port));
  // The main file a distribution ships, minimal: everything under the temp dir.
  fs.writeFileSync(
    path.join(dir, 'nginx.conf'),
    [
      // As root, workers would otherwise run as nobody, shut out of the temp dir.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind};`),
      `  include ${dir}/parley.conf;`,
      '}',
    ].join('\n'),
  );
  const child = spawn(nginxBinary, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}${readIfExists(path.join(dir, 'error.log'))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const readIfExists = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `nginx -t` on the shipped configuration, its upstream pointed at `upstreams`: the exit code and what it said. */
export function testShippedConf(upstreams: readonly string[]): { status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-t-'));
  try {
    fs.writeFileSync(path.join(dir, 'parley.conf'), shippedConfFor(upstreams, 8089));
    fs.writeFileSync(
      path.join(dir, 'nginx.conf'),
      [
        ...(process.getuid?.() === 0 ? ['user root;'] : []),
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log warn;`,
        'events {}',
        `http { access_log off; include ${dir}/parley.conf; }`,
      ].join('\n'),
    );
    const result = spawnSync(nginxBinary, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
