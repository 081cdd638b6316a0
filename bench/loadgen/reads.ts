// The reads client of scenario 9: a closed loop of `concurrency` requests in
// flight over keep-alive connections, each a member's `GET /rooms/:id` or
// `GET /rooms/:id/messages?limit=20` (alternating, round-robin over the
// rooms), for a warm-up and then a measured window. Pinned to the load
// generator's CPU by the harness.
//
//   node bench/loadgen/reads.ts <job.json>   → one ReadsResult JSON line on stdout

import fs from 'node:fs';
import http from 'node:http';
import { Histogram } from './histogram.ts';
import { processCpuSeconds } from '../support/proc.ts';

export interface ReadsJob {
  host: string;
  port: number;
  /** The server under test, whose CPU the window measures. */
  serverPid: number;
  /** A member of each room and their token. */
  pairs: { roomId: string; token: string }[];
  concurrency: number;
  warmupS: number;
  durationS: number;
}

export interface ReadsResult {
  requestsPerS: number;
  p50: number | null;
  p99: number | null;
  serverCpuMsPerRequest: number;
  errors: number;
}

const job = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as ReadsJob;
const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });

function get(path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: job.host, port: job.port, path, agent, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.once('error', reject);
  });
}

let cursor = 0;
let recording = false;
let running = true;
let histogram = new Histogram();
let completed = 0;
let errors = 0;

async function worker(): Promise<void> {
  while (running) {
    const n = cursor++;
    const pair = job.pairs[(n >> 1) % job.pairs.length]!;
    const path = n % 2 === 0 ? `/api/v1/rooms/${pair.roomId}` : `/api/v1/rooms/${pair.roomId}/messages?limit=20`;
    const started = performance.now();
    const status = await get(path, pair.token).catch(() => 0);
    if (!recording) continue;
    if (status !== 200) errors++;
    histogram.record(performance.now() - started);
    completed++;
  }
}

const workers = Array.from({ length: job.concurrency }, () => worker());
await new Promise((resolve) => setTimeout(resolve, job.warmupS * 1000));
histogram = new Histogram();
const cpu0 = processCpuSeconds(job.serverPid);
const t0 = performance.now();
recording = true;
await new Promise((resolve) => setTimeout(resolve, job.durationS * 1000));
recording = false;
const windowS = (performance.now() - t0) / 1000;
const cpuS = processCpuSeconds(job.serverPid) - cpu0;
running = false;
await Promise.all(workers);
agent.destroy();
const summary = histogram.summary();
const result: ReadsResult = {
  requestsPerS: completed / windowS,
  p50: summary.p50,
  p99: summary.p99,
  serverCpuMsPerRequest: (cpuS * 1000) / Math.max(1, completed),
  errors,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
