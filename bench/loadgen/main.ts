// The load generator: one process, pinned to its own CPU by the harness. It
// opens every socket of the job on raw TCP (raw-ws.ts), posts numbered
// messages through the rooms' senders, and times each delivery from the
// moment the message was posted to the moment its NEW_MESSAGE frame arrived,
// both on this process's performance.now() clock.
//
//   node bench/loadgen/main.ts <job.json>     → one LoadResult JSON line on stdout
//
// Per delivery it does one prefix check, one indexOf and a few typed-array
// updates; frames are never decoded to strings.

import fs from 'node:fs';
import http from 'node:http';
import { Histogram } from './histogram.ts';
import { startFixedRate } from './fixed-rate.ts';
import type { LoadJob, LoadResult, MemorySample, PhaseResult, PhaseSpec } from './job.ts';
import { protocolFor } from './protocols.ts';
import { intAfter, RawWs, startsWithAt } from './raw-ws.ts';
import { readWorkCounters, workPerMessage } from './work-counters.ts';
import { cpuBusySeconds, ownCpuSeconds, processCpuSeconds, processRss } from '../support/proc.ts';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const job = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as LoadJob;
const protocol = protocolFor(job.impl);
const log = (line: string) => process.stderr.write(`[loadgen ${job.impl}] ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- message bookkeeping: a ring of slots indexed by message number ----
const RING = 1 << 20;
const MASK = RING - 1;
// Which message a slot holds: n ≥ 0 in flight; -1 free; -(n + 2) free, and
// message n completed there (a later copy of n is a duplicate).
const numbers = new Float64Array(RING).fill(-1);
const sentAt = new Float64Array(RING);
const received = new Uint32Array(RING);
const expected = new Uint32Array(RING);
const senderOf = new Int32Array(RING);
const outstanding = new Set<number>();
let nextNumber = job.firstMessageNumber;

// ---- per-phase counters (reset by runPhase) ----
let recording = false;
let sending = false;
let closedLoop = false;
let histogram = new Histogram();
let windowDeliveries = 0;
let windowCompleted = 0;
let phaseSent = 0;
let phaseCompleted = 0;
let phaseLost = 0;
let phaseDuplicated = 0;
let phaseErrors = 0;
let phaseVia: 'ws' | 'rest' = 'ws';
let roomCursor = 0;

/** Sparse until every socket connected: a failed connection leaves its slot empty. */
const sockets: (RawWs | undefined)[] = new Array(job.sockets.length);
/** Socket indices that post (each room's members[0]); on `senderPort` when the job has one. */
const senderSockets = new Set(job.rooms.map((room) => room.members[0]!));
const ready: (() => void)[] = new Array(job.sockets.length);
let closes = 0;
const closeReasons: Record<string, number> = {};
const errorPrefix = Buffer.from('{"type":"ERROR"');
const refMarker = Buffer.from('"ref":"');
let errorSamples = 0;

function deliver(socketIndex: number, n: number) {
  const slot = n & MASK;
  if (numbers[slot] !== n) {
    // Every member had it already: a copy (a late one after a give-up is not counted).
    if (numbers[slot] === -(n + 2)) phaseDuplicated++;
    return;
  }
  if (recording) {
    // A sender's own copy comes from the instance it is connected to: not the measured server's when that is another.
    if (job.senderPort === undefined || !senderSockets.has(socketIndex)) windowDeliveries++;
    if (!(job.latencyExcludesSender && senderOf[slot] === socketIndex)) histogram.record(performance.now() - sentAt[slot]!);
  }
  if (++received[slot]! === expected[slot]!) finish(n, slot);
}

function finish(n: number, slot: number) {
  numbers[slot] = -(n + 2);
  outstanding.delete(n);
  phaseCompleted++;
  if (recording) windowCompleted++;
  if (closedLoop && sending) post();
}

function fail(n: number) {
  const slot = n & MASK;
  if (numbers[slot] !== n) return;
  numbers[slot] = -1;
  outstanding.delete(n);
  phaseLost++;
  if (closedLoop && sending) post();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** Posts the next message to the next room (round robin). Returns false when the ring is full. */
function post(): boolean {
  const n = nextNumber;
  const slot = n & MASK;
  if (numbers[slot]! >= 0) return false;
  nextNumber++;
  const room = job.rooms[roomCursor]!;
  roomCursor = (roomCursor + 1) % job.rooms.length;
  const sender = room.members[0]!;
  numbers[slot] = n;
  received[slot] = 0;
  expected[slot] = room.members.length;
  senderOf[slot] = sender;
  sentAt[slot] = performance.now();
  outstanding.add(n);
  phaseSent++;
  if (phaseVia === 'ws') {
    sockets[sender]!.sendText(protocol.sendFrame(room.id, n, job.content));
  } else {
    const body = `{"client_msg_id":"${n}","content":"${job.content}"}`;
    const request = http.request(
      {
        host: job.host,
        port: job.senderPort ?? job.port,
        method: 'POST',
        path: `/api/v1/rooms/${room.id}/messages`,
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: room.restAuth ?? '',
        },
      },
      (response) => {
        if (response.statusCode !== 201) {
          phaseErrors++;
          if (errorSamples++ < 5) log(`REST ${response.statusCode}`);
          fail(n);
        }
        response.resume();
      },
    );
    request.on('error', (error) => {
      phaseErrors++;
      if (errorSamples++ < 5) log(`REST error ${error.message}`);
      fail(n);
    });
    request.end(body);
  }
  return true;
}

function onFrame(socketIndex: number, buf: Buffer, start: number, end: number) {
  const n = protocol.messageNumber(buf, start, end);
  if (n >= 0) {
    deliver(socketIndex, n);
    return;
  }
  if (startsWithAt(buf, start, errorPrefix)) {
    phaseErrors++;
    if (errorSamples++ < 5) log(`server error frame: ${buf.toString('utf8', start, Math.min(end, start + 300))}`);
    const ref = intAfter(buf, start, end, refMarker);
    if (ref >= 0) fail(ref);
    return;
  }
  if (protocol.control(sockets[socketIndex]!, buf, start, end)) ready[socketIndex]?.();
}

/** Opens sockets from…to-1, `connectConcurrency` handshakes at a time, until each is ready. */
async function connectRange(from: number, to: number): Promise<{ ms: number; failed: number }> {
  const started = performance.now();
  let next = from;
  let failed = 0;
  const connectOne = async (index: number) => {
    const isReady = new Promise<void>((resolve, reject) => {
      ready[index] = resolve;
      const port = job.senderPort !== undefined && senderSockets.has(index) ? job.senderPort : job.port;
      const ws = new RawWs(job.host, port, job.sockets[index]!, {
        onMessage: (buf, start, end) => onFrame(index, buf, start, end),
        onClose: (reason) => {
          closes++;
          const key = reason.slice(0, 60);
          closeReasons[key] = (closeReasons[key] ?? 0) + 1;
          reject(new Error(reason));
        },
      });
      sockets[index] = ws;
      ws.opened.catch(reject);
    });
    const timeout = sleep(30_000).then(() => {
      throw new Error('not ready within 30 s');
    });
    try {
      await Promise.race([isReady, timeout]);
    } catch (error) {
      failed++;
      if (failed <= 3) log(`socket ${index}: ${(error as Error).message}`);
    }
  };
  const worker = async () => {
    while (next < to) await connectOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(job.connectConcurrency, to - from) }, worker));
  return { ms: performance.now() - started, failed };
}

async function memorySample(): Promise<MemorySample> {
  if (job.statsFile === undefined) throw new Error('memory needs statsFile');
  const read = () => {
    try {
      return JSON.parse(fs.readFileSync(job.statsFile!, 'utf8')) as MemorySample & { n: number };
    } catch {
      return null;
    }
  };
  const before = read()?.n ?? 0;
  process.kill(job.serverPid, 'SIGUSR2');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stats = read();
    if (stats !== null && stats.n > before) return stats;
    if (Date.now() > deadline) throw new Error('server did not answer the GC request');
    await sleep(10);
  }
}

async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  histogram = new Histogram();
  windowDeliveries = windowCompleted = phaseSent = phaseCompleted = phaseLost = phaseDuplicated = phaseErrors = 0;
  phaseVia = spec.via;
  closedLoop = spec.kind === 'closed';
  sending = true;
  const avgMembers = job.rooms.reduce((sum, room) => sum + room.members.length, 0) / job.rooms.length;
  // Deliveries counted per message: a sender's own copy is not when it comes from another instance (see deliver()).
  const countedPerMessage = avgMembers - (job.senderPort === undefined ? 0 : 1);

  // Give up on messages older than 10 s (a dropped socket, a refused command).
  const sweeper = setInterval(() => {
    const limit = performance.now() - 10_000;
    for (const n of outstanding) if (sentAt[n & MASK]! < limit) fail(n);
  }, 250);

  let stopTicking = () => {};
  // Set by the ticker; `as boolean` keeps TypeScript from narrowing it to
  // `false` for the rest of this function (it does not see the callback's writes).
  let ringFull = false as boolean;
  if (spec.kind === 'closed') {
    for (let i = 0; i < spec.inFlight; i++) post();
  } else {
    const maxOutstanding = Math.min(RING / 2, Math.max(2_000, spec.messagesPerS * 10));
    stopTicking = startFixedRate(
      spec.messagesPerS,
      () => {
        if (outstanding.size >= maxOutstanding || !post()) ringFull = true;
      },
      1,
    );
  }

  await sleep(spec.warmupS * 1000);
  // The write path's work counters of the server that writes (distributed: instance A).
  const workUrl = `http://${job.host}:${job.senderPort ?? job.port}`;
  const work0 = await readWorkCounters(workUrl);
  const cpu0 = processCpuSeconds(job.serverPid);
  const core0 = job.corePid === undefined ? 0 : processCpuSeconds(job.corePid);
  const own0 = ownCpuSeconds();
  const busy0 = cpuBusySeconds();
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  const mono0 = process.hrtime.bigint();
  const t0 = performance.now();
  recording = true;
  await sleep(spec.durationS * 1000);
  recording = false;
  const t1 = performance.now();
  const cpu1 = processCpuSeconds(job.serverPid);
  const core1 = job.corePid === undefined ? 0 : processCpuSeconds(job.corePid);
  const own1 = ownCpuSeconds();
  const busy1 = cpuBusySeconds();
  const work1 = await readWorkCounters(workUrl);
  lag.disable();
  const mono1 = process.hrtime.bigint();
  const { rss } = processRss(job.serverPid);
  sending = false;
  stopTicking();

  // Drain: let what is in flight arrive (bounded), so the next phase starts clean.
  const drainUntil = performance.now() + (spec.durationS < 2 ? 1_000 : 5_000);
  while (outstanding.size > 0 && performance.now() < drainUntil) await sleep(20);
  const unfinished = outstanding.size;
  for (const n of outstanding) numbers[n & MASK] = -1;
  outstanding.clear();
  clearInterval(sweeper);

  const windowS = (t1 - t0) / 1000;
  const serverCpuS = cpu1 - cpu0;
  const loadgenCpuS = own1 - own0;
  const deliveriesPerS = windowDeliveries / windowS;
  const latency = histogram.summary();
  const result: PhaseResult = {
    name: spec.name,
    kind: spec.kind,
    via: spec.via,
    windowS: round(windowS, 3),
    sent: phaseSent,
    completed: phaseCompleted,
    lost: phaseLost,
    duplicated: phaseDuplicated,
    unfinished,
    errors: phaseErrors,
    deliveries: windowDeliveries,
    deliveriesPerS: Math.round(deliveriesPerS),
    messagesPerS: Math.round(windowCompleted / windowS),
    serverCpuS: round(serverCpuS, 3),
    loadgenCpuS: round(loadgenCpuS, 3),
    serverCpuPct: round((100 * serverCpuS) / windowS, 1),
    loadgenCpuPct: round((100 * loadgenCpuS) / windowS, 1),
    deliveriesPerServerCpuS: serverCpuS > 0 ? Math.round(windowDeliveries / serverCpuS) : 0,
    serverCpuMsPerMessage: windowCompleted > 0 ? round((1000 * serverCpuS) / windowCompleted, 4) : 0,
    coreCpuMsPerMessage:
      job.corePid === undefined || windowCompleted === 0 ? null : round((1000 * (core1 - core0)) / windowCompleted, 4),
    latency,
    work: workPerMessage(work0, work1, windowCompleted),
    overloaded: false,
    serverRssMB: round(rss / 2 ** 20, 1),
    // What else ran on the two pinned CPUs during the window (other processes
    // on a shared machine): busy time of the CPU minus our process on it.
    otherServerCpuPct: round((100 * (busy1[job.serverCpu]! - busy0[job.serverCpu]! - serverCpuS)) / windowS, 1),
    otherLoadgenCpuPct: round((100 * (busy1[job.loadgenCpu]! - busy0[job.loadgenCpu]! - loadgenCpuS)) / windowS, 1),
    loadAverage: round(os.loadavg()[0]!, 2),
    monotonicUs: [Number(mono0 / 1000n), Number(mono1 / 1000n)],
    loadgenLagMs: { p99: round(lag.percentile(99) / 1e6, 2), max: round(lag.max / 1e6, 2) },
  };
  if (spec.kind === 'closed') result.inFlight = spec.inFlight;
  else {
    result.offeredMessagesPerS = spec.messagesPerS;
    result.offeredDeliveriesPerS = Math.round(spec.messagesPerS * countedPerMessage);
    result.overloaded =
      ringFull || deliveriesPerS < 0.97 * spec.messagesPerS * countedPerMessage || unfinished > 0 || phaseLost > 0;
  }
  return result;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main() {
  // Memory: the first `warmSockets` connect before the "before" sample, so
  // one-time costs (compiled code, pools, first-use allocations) are not
  // charged to the connections measured.
  const warm = job.memory === undefined ? 0 : Math.min(job.memory.warmSockets, job.sockets.length - 1);
  const first = await connectRange(0, warm);
  let memoryBefore: MemorySample | undefined;
  if (job.memory !== undefined) {
    await sleep(job.memory.settleS * 1000);
    memoryBefore = await memorySample();
  }
  const rest = await connectRange(warm, job.sockets.length);
  const connect = { ms: first.ms + rest.ms, failed: first.failed + rest.failed };
  log(`${job.sockets.length} sockets ready in ${Math.round(connect.ms)} ms (${connect.failed} failed)`);
  const result: LoadResult = {
    impl: job.impl,
    connect: { sockets: job.sockets.length, ms: Math.round(connect.ms), failed: connect.failed },
    phases: [],
    serverPeakRssMB: 0,
    closes: 0,
    closeReasons: {},
  };
  if (job.memory !== undefined && memoryBefore !== undefined) {
    await sleep(job.memory.settleS * 1000);
    const after = await memorySample();
    const measured = job.sockets.length - warm - rest.failed;
    const perConn = (a: number, b: number) => round((b - a) / measured / 1024, 2);
    result.memory = {
      measuredSockets: measured,
      before: memoryBefore,
      after,
      rssPerConnKB: perConn(memoryBefore.rss, after.rss),
      heapPerConnKB: perConn(memoryBefore.heapUsed, after.heapUsed),
      externalPerConnKB: perConn(memoryBefore.external, after.external),
    };
  }
  const failedLadders = new Set<string>();
  for (const spec of job.phases) {
    if (spec.ladder !== undefined && failedLadders.has(spec.ladder.group)) {
      result.phases.push({ ...emptyPhase(spec), skipped: 'a lower rate of this ladder already missed' });
      continue;
    }
    const phase = await runPhase(spec);
    log(
      `${spec.name}: ${phase.deliveriesPerS} deliveries/s, p99 ${phase.latency.p99} ms, server ${phase.serverCpuPct}% loadgen ${phase.loadgenCpuPct}%` +
        (phase.overloaded ? ' OVERLOADED' : ''),
    );
    result.phases.push(phase);
    if (
      spec.ladder !== undefined &&
      (phase.overloaded || (spec.ladder.p99LimitMs !== undefined && (phase.latency.p99 ?? Infinity) > spec.ladder.p99LimitMs))
    ) {
      failedLadders.add(spec.ladder.group);
    }
  }
  result.serverPeakRssMB = round(processRss(job.serverPid).peakRss / 2 ** 20, 1);
  result.closes = closes;
  result.closeReasons = closeReasons;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  for (const socket of sockets) socket?.socket.resetAndDestroy();
  agent.destroy();
  setTimeout(() => process.exit(0), 100).unref();
}

function emptyPhase(spec: PhaseSpec): PhaseResult {
  return {
    name: spec.name,
    kind: spec.kind,
    via: spec.via,
    windowS: 0,
    sent: 0,
    completed: 0,
    lost: 0,
    duplicated: 0,
    unfinished: 0,
    errors: 0,
    deliveries: 0,
    deliveriesPerS: 0,
    messagesPerS: 0,
    serverCpuS: 0,
    loadgenCpuS: 0,
    serverCpuPct: 0,
    loadgenCpuPct: 0,
    deliveriesPerServerCpuS: 0,
    serverCpuMsPerMessage: 0,
    coreCpuMsPerMessage: null,
    latency: { count: 0, p50: null, p99: null, p999: null, max: null },
    work: null,
    overloaded: true,
    serverRssMB: 0,
    otherServerCpuPct: 0,
    otherLoadgenCpuPct: 0,
    loadAverage: 0,
    monotonicUs: [0, 0],
    loadgenLagMs: { p99: 0, max: 0 },
    ...(spec.kind === 'open' ? { offeredMessagesPerS: spec.messagesPerS } : {}),
  };
}

main().catch((error: unknown) => {
  log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
  process.exit(1);
});
