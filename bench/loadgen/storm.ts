// The reconnect storm's client (scenario `storm`): one process, pinned to the
// load generator's CPU. It opens every socket on the victim gateway and joins
// each socket's room, posts messages over REST to the core at a fixed rate,
// kills the victim (SIGKILL: no close frames, as when a machine dies), and
// reconnects every socket to the survivor the way docs/API.md asks clients to:
// a full-jitter exponential back-off (Retry-After honoured when the survivor
// sheds), then JOIN_ROOM with since_seq = the highest seq it held. It times
// the kill → every socket live again, and at the end checks every socket
// against every message posted to its room: each seq exactly once.
//
//   node bench/loadgen/storm.ts <job.json>     → one StormResult JSON line on stdout

import fs from 'node:fs';
import http from 'node:http';
import { RawWs } from './raw-ws.ts';
import { startFixedRate } from './fixed-rate.ts';
import { Histogram } from './histogram.ts';
import { processCpuSeconds, processRss } from '../support/proc.ts';

export interface StormJob {
  host: string;
  /** The gateway every socket starts on, killed mid-run. */
  victim: { port: number; pid: number };
  /** Where the sockets reconnect. */
  survivor: { port: number; pid: number };
  /** Where messages are posted (REST), an instance that is not killed. */
  corePort: number;
  /** One socket per member: its URL path (`/ws?token=…`) and its room (index into rooms). */
  sockets: { path: string; room: number }[];
  rooms: { id: string; restAuth: string }[];
  messagesPerS: number;
  /** Posting before the kill, and after the last socket is live again. */
  beforeKillS: number;
  afterResumeS: number;
  /** Sockets not live this long after the kill are counted as not resumed. */
  resumeDeadlineS: number;
  /** The client's back-off: a random wait in [0, min(capMs, baseMs · 2^attempt)]. */
  backoff: { baseMs: number; capMs: number };
  connectConcurrency: number;
  /** Makes client_msg_ids unique across runs on a reused population. */
  runId: string;
}

export interface StormResult {
  sockets: number;
  connectMs: number;
  /** Kill → the last socket live again (JOIN_SUCCESS on the survivor); null when some never were. */
  allLiveMs: number | null;
  /** Per socket, kill → live again. */
  resumeMs: { p50: number | null; p99: number | null; max: number | null };
  notResumed: number;
  /** Connection attempts on the survivor, those it shed (503 / 1013), and other failures. */
  attempts: number;
  shed: number;
  failedAttempts: number;
  joinRetries: number;
  posted: number;
  postFailed: number;
  /** Seqs posted to a socket's room that it never received, and those it received twice. */
  lost: number;
  duplicated: number;
  /** The survivor's CPU seconds from the kill to the last socket live, and its peak RSS. */
  survivorCpuS: number;
  survivorPeakRssMB: number;
  closeReasons: Record<string, number>;
  /**
   * The storm (kill → last socket live) on CLOCK_MONOTONIC in µs, as a phase, so
   * the survivor's profile can be cut to it: bench/profile-summary.ts --results … --phase storm.
   */
  phases: { name: 'storm'; monotonicUs: [number, number] }[];
}

const job = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as StormJob;
const log = (line: string) => process.stderr.write(`[storm] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Client {
  index: number;
  roomId: string;
  ws: RawWs | null;
  /** The room's last_seq when this socket first joined: older messages are not this run's. */
  baseline: number;
  /** Highest seq held: the since_seq of the next resume. */
  lastSeq: number;
  seqs: Set<number>;
  live: boolean;
  attempt: number;
  /** The since_seq this connection's JOIN_ROOM sends (null: a first join, no replay). */
  resumeFrom: number | null;
  onLive: (() => void) | null;
}

const clients: Client[] = job.sockets.map((socket, index) => ({
  index,
  roomId: job.rooms[socket.room]!.id,
  ws: null,
  baseline: 0,
  lastSeq: 0,
  seqs: new Set(),
  live: false,
  attempt: 0,
  resumeFrom: null,
  onLive: null,
}));
let duplicated = 0;
let joinRetries = 0;
let attempts = 0;
let shed = 0;
let failedAttempts = 0;
let killedAt = 0;
const resumeHistogram = new Histogram();
let resumedCount = 0;
let lastResumeAt = 0;
const closeReasons: Record<string, number> = {};

function joinFrame(client: Client): string {
  const since = client.resumeFrom === null ? '' : `,"since_seq":${client.resumeFrom}`;
  return `{"type":"JOIN_ROOM","ref":"j${client.index}","data":{"chat_room_id":"${client.roomId}"${since}}}`;
}

function onFrame(client: Client, text: string) {
  const frame = JSON.parse(text) as { type: string; data: Record<string, unknown> };
  switch (frame.type) {
    case 'AUTH_SUCCESS':
      client.ws!.sendText(joinFrame(client));
      return;
    case 'JOIN_SUCCESS': {
      if (frame.data.chat_room_id !== client.roomId || client.live) return;
      if (client.resumeFrom === null) client.baseline = client.lastSeq = Number(frame.data.last_seq);
      client.live = true;
      client.attempt = 0;
      client.onLive?.();
      return;
    }
    case 'NEW_MESSAGE': {
      if (frame.data.room_id !== client.roomId) return;
      const seq = Number(frame.data.seq);
      if (seq <= client.baseline) return;
      if (client.seqs.has(seq)) duplicated++;
      else client.seqs.add(seq);
      if (seq > client.lastSeq) client.lastSeq = seq;
      return;
    }
    case 'ERROR':
      if (frame.data.code === 'read_model_lagging') {
        joinRetries++;
        setTimeout(() => client.ws?.sendText(joinFrame(client)), 100);
      } else if (frame.data.code !== 'server_busy') {
        log(`socket ${client.index}: ${text.slice(0, 200)}`);
      }
      return;
  }
}

/** One connection attempt; resolves true when the socket is live, false when it failed (the caller backs off). */
function connect(client: Client, port: number): Promise<{ live: boolean; retryAfterMs: number }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (live: boolean, retryAfterMs = 0) => {
      if (settled) return;
      settled = true;
      client.onLive = null;
      resolve({ live, retryAfterMs });
    };
    const ws = new RawWs(job.host, port, job.sockets[client.index]!.path, {
      onMessage: (buf, start, end) => onFrame(client, buf.toString('utf8', start, end)),
      onClose: (reason) => {
        const key = reason.replace(/[0-9a-f-]{36}/g, '…').slice(0, 60);
        closeReasons[key] = (closeReasons[key] ?? 0) + 1;
        if (reason.startsWith('close 1013')) {
          shed++;
          settle(false, 1000);
        } else settle(false);
        if (client.ws === ws && client.live) {
          client.live = false;
          client.resumeFrom = client.lastSeq;
          void resume(client);
        }
      },
    });
    client.ws = ws;
    client.onLive = () => settle(true);
    ws.opened.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const busy = /^upgrade refused: HTTP\/1\.1 503/.test(message);
      if (busy) {
        shed++;
        const seconds = /Retry-After: (\d+)/i.exec(message);
        settle(false, seconds === null ? 1000 : Number(seconds[1]) * 1000);
      } else settle(false);
    });
  });
}

/** Reconnects a socket whose gateway died to the survivor, with back-off, until it is live again. */
async function resume(client: Client): Promise<void> {
  for (;;) {
    const ceiling = Math.min(job.backoff.capMs, job.backoff.baseMs * 2 ** client.attempt);
    client.attempt++;
    await sleep(Math.random() * ceiling);
    attempts++;
    const outcome = await connect(client, job.survivor.port);
    if (outcome.live) {
      const took = performance.now() - killedAt;
      resumeHistogram.record(took);
      resumedCount++;
      lastResumeAt = took;
      return;
    }
    if (outcome.retryAfterMs === 0) failedAttempts++;
    await sleep(outcome.retryAfterMs);
    if (performance.now() - killedAt > job.resumeDeadlineS * 1000) return;
  }
}

// ---- posting: round robin over the rooms, REST to the core ----
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const postedSeqs: number[][] = job.rooms.map(() => []);
let posted = 0;
let postFailed = 0;
let nextNumber = 0;
let roomCursor = 0;

function postOne(): void {
  const roomIndex = roomCursor;
  roomCursor = (roomCursor + 1) % job.rooms.length;
  const room = job.rooms[roomIndex]!;
  const body = `{"client_msg_id":"storm-${job.runId}-${nextNumber++}","content":"storm message"}`;
  posted++;
  const request = http.request(
    {
      host: job.host,
      port: job.corePort,
      method: 'POST',
      path: `/api/v1/rooms/${room.id}/messages`,
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: room.restAuth },
    },
    (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => {
        if (response.statusCode !== 201) {
          if (postFailed++ < 5) log(`REST ${response.statusCode}: ${text.slice(0, 200)}`);
          return;
        }
        postedSeqs[roomIndex]!.push((JSON.parse(text) as { seq: number }).seq);
      });
    },
  );
  request.on('error', (error) => {
    if (postFailed++ < 5) log(`REST error ${error.message}`);
  });
  request.end(body);
}

async function main() {
  const connectStarted = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const client = clients[next++]!;
      const outcome = await connect(client, job.victim.port);
      if (!outcome.live) throw new Error(`socket ${client.index} did not join on the victim`);
    }
  };
  await Promise.all(Array.from({ length: job.connectConcurrency }, worker));
  const connectMs = performance.now() - connectStarted;
  log(`${clients.length} sockets live on the victim in ${Math.round(connectMs)} ms`);

  const stopPosting = startFixedRate(job.messagesPerS, postOne, 2);
  await sleep(job.beforeKillS * 1000);
  const cpuAtKill = processCpuSeconds(job.survivor.pid);
  const monotonicAtKill = process.hrtime.bigint();
  killedAt = performance.now();
  process.kill(job.victim.pid, 'SIGKILL');
  log('victim killed');

  const deadline = killedAt + job.resumeDeadlineS * 1000;
  while (resumedCount < clients.length && performance.now() < deadline) await sleep(20);
  const cpuAtLive = processCpuSeconds(job.survivor.pid);
  const monotonicAtLive = process.hrtime.bigint();
  log(`${resumedCount}/${clients.length} sockets live on the survivor ${Math.round(lastResumeAt)} ms after the kill`);
  await sleep(job.afterResumeS * 1000);
  stopPosting();
  // Drain: posts answered, their messages delivered.
  await sleep(3_000);

  let lost = 0;
  for (const client of clients) {
    for (const seq of postedSeqs[job.sockets[client.index]!.room]!) if (!client.seqs.has(seq)) lost++;
  }
  const summary = resumeHistogram.summary();
  const result: StormResult = {
    sockets: clients.length,
    connectMs: Math.round(connectMs),
    allLiveMs: resumedCount === clients.length ? Math.round(lastResumeAt) : null,
    resumeMs: { p50: summary.p50, p99: summary.p99, max: summary.max },
    notResumed: clients.length - resumedCount,
    attempts,
    shed,
    failedAttempts,
    joinRetries,
    posted,
    postFailed,
    lost,
    duplicated,
    survivorCpuS: Math.round((cpuAtLive - cpuAtKill) * 1000) / 1000,
    survivorPeakRssMB: Math.round((processRss(job.survivor.pid).peakRss / 2 ** 20) * 10) / 10,
    closeReasons,
    phases: [{ name: 'storm', monotonicUs: [Number(monotonicAtKill / 1000n), Number(monotonicAtLive / 1000n)] }],
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const client of clients) client.ws?.destroy();
  agent.destroy();
  setTimeout(() => process.exit(0), 100).unref();
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
