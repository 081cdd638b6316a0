// The reads client of scenario 9: a closed loop of `concurrency` requests in
// flight over keep-alive connections, for a warm-up and then a measured
// window, round-robin over the rooms: `room` — a member's `GET /rooms/:id`
// and `GET /rooms/:id/messages?limit=20`, alternating; `list` — the member's
// `GET /rooms`. With `writes`, messages are posted meanwhile at a fixed rate
// (to another instance), so the answers cached go void as in a live chat.
// Reads the instance's read-cache counters around the window. Pinned to the
// load generator's CPU by the harness.
//
//   node bench/loadgen/reads.ts <job.json>   → one ReadsResult JSON line on stdout

import fs from 'node:fs';
import http from 'node:http';
import { Histogram } from './histogram.ts';
import { startFixedRate } from './fixed-rate.ts';
import { processCpuSeconds } from '../support/proc.ts';

export interface ReadsJob {
  host: string;
  port: number;
  /** The server under test, whose CPU the window measures. */
  serverPid: number;
  /** A member of each room and their token. */
  pairs: { roomId: string; token: string }[];
  workload: 'room' | 'list';
  /** Messages posted during the run, round-robin over `senders`' rooms. */
  writes?: { host: string; port: number; perS: number; senders: { roomId: string; token: string }[] };
  concurrency: number;
  warmupS: number;
  durationS: number;
}

export interface ReadsResult {
  requestsPerS: number;
  p50: number | null;
  p99: number | null;
  serverCpuMsPerRequest: number;
  /** Read-cache misses per request in the window (a request makes one or two cache reads). */
  cacheMissesPerRequest: number;
  /** Messages the writer had accepted per second in the window (0 without writes). */
  writesPerS: number;
  /** Reads not answered 200. */
  errors: number;
  /** Messages not accepted (201). */
  writeErrors: number;
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

/** The instance's read-cache counters, by result. */
async function cacheReads(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${job.host}:${job.port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^parley_read_cache_reads_total\{result="(\w+)"\} (\d+)/gm)) {
    counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

let written = 0;
let writeErrors = 0;
/** A write not accepted: counted, and said on stderr (the harness shows it). */
function refusedWrite(why: string): void {
  writeErrors++;
  process.stderr.write(`write refused: ${why}\n`);
}
/** Starts posting; the function it returns stops, once the posts in flight are answered. */
function startWriter(writes: NonNullable<ReadsJob['writes']>): () => Promise<void> {
  const writeAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  let inFlight = 0;
  let drained = () => {};
  const settled = () => {
    if (--inFlight === 0) drained();
  };
  const post = (sender: { roomId: string; token: string }, n: number) => {
    inFlight++;
    const body = JSON.stringify({ client_msg_id: `reads-${process.pid}-${n}`, content: `write ${n}` });
    const request = http.request(
      {
        host: writes.host,
        port: writes.port,
        method: 'POST',
        path: `/api/v1/rooms/${sender.roomId}/messages`,
        agent: writeAgent,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sender.token}` },
      },
      (response) => {
        response.resume();
        if (response.statusCode === 201) written++;
        else refusedWrite(String(response.statusCode));
        settled();
      },
    );
    request.once('error', (error) => {
      refusedWrite(error.message);
      settled();
    });
    request.end(body);
  };
  const stopPosting = startFixedRate(writes.perS, (n) => post(writes.senders[n % writes.senders.length]!, n), 10);
  return async () => {
    stopPosting();
    if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
    writeAgent.destroy();
  };
}

let cursor = 0;
let recording = false;
let running = true;
let histogram = new Histogram();
let completed = 0;
let errors = 0;

/** The n-th request: its path and the member's token. */
function requestOf(n: number): { path: string; token: string } {
  if (job.workload === 'list') return { path: '/api/v1/rooms', token: job.pairs[n % job.pairs.length]!.token };
  const { roomId, token } = job.pairs[(n >> 1) % job.pairs.length]!;
  return { path: n % 2 === 0 ? `/api/v1/rooms/${roomId}` : `/api/v1/rooms/${roomId}/messages?limit=20`, token };
}

async function worker(): Promise<void> {
  while (running) {
    const n = cursor++;
    const { path, token } = requestOf(n);
    const started = performance.now();
    const status = await get(path, token).catch(() => 0);
    if (!recording) continue;
    if (status !== 200) errors++;
    histogram.record(performance.now() - started);
    completed++;
  }
}

const stopWriter = job.writes === undefined ? () => Promise.resolve() : startWriter(job.writes);
const workers = Array.from({ length: job.concurrency }, () => worker());
await new Promise((resolve) => setTimeout(resolve, job.warmupS * 1000));
histogram = new Histogram();
const cache0 = await cacheReads();
const written0 = written;
const cpu0 = processCpuSeconds(job.serverPid);
const t0 = performance.now();
recording = true;
await new Promise((resolve) => setTimeout(resolve, job.durationS * 1000));
recording = false;
const windowS = (performance.now() - t0) / 1000;
const cpuS = processCpuSeconds(job.serverPid) - cpu0;
const writtenInWindow = written - written0;
const cache1 = await cacheReads();
running = false;
await stopWriter();
await Promise.all(workers);
agent.destroy();
const misses = (cache1.get('miss') ?? 0) - (cache0.get('miss') ?? 0);
const summary = histogram.summary();
const result: ReadsResult = {
  requestsPerS: completed / windowS,
  p50: summary.p50,
  p99: summary.p99,
  serverCpuMsPerRequest: (cpuS * 1000) / Math.max(1, completed),
  cacheMissesPerRequest: misses / Math.max(1, completed),
  writesPerS: writtenInWindow / windowS,
  errors,
  writeErrors,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
