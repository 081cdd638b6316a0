// What the harness asks one load-generator process to do, and what it answers.
// The harness writes a LoadJob as JSON, runs `node bench/loadgen/main.ts <file>`
// pinned to its own CPU, and reads one LoadResult line from its stdout.

import type { Impl } from './protocols.ts';

export interface LoadJob {
  impl: Impl;
  host: string;
  port: number;
  /**
   * Distributed end to end (and fan-out with --senders-on-core): the senders'
   * sockets and REST posts go to this port (instance A) while every other
   * socket is on `port` (instance B). Deliveries per server CPU-s then count
   * only the deliveries instance B made.
   */
  senderPort?: number;
  /** The server process, for its CPU time and memory from /proc. */
  serverPid: number;
  /** Distributed: instance A (every role but serving no receiver), whose CPU per message is reported too. */
  corePid?: number;
  /** The CPUs the server and this load generator are pinned to (indices into /proc/stat). */
  serverCpu: number;
  loadgenCpu: number;
  /** Where the server's hook writes memory after a forced GC (bench/support/server-hooks.ts). */
  statsFile?: string;
  /** URL path (with query) of every socket to open. */
  sockets: string[];
  /** Rooms that receive messages; members are socket indices, members[0] sends. */
  rooms: { id: string; members: number[]; restAuth?: string }[];
  /**
   * The first message number (numbers travel as client_msg_id). Parley takes a
   * repeated client_msg_id from the same sender in the same room for a retry
   * of the first message, and the distributed population outlives a run, so
   * every run starts past the previous ones.
   */
  firstMessageNumber: number;
  /** Message text (plain ASCII, no escaping needed). */
  content: string;
  connectConcurrency: number;
  /**
   * Measure memory per connection: open `warmSockets` first, then GC + stats,
   * open the rest, wait `settleS`, GC + stats again; the difference over the
   * sockets opened in between is the cost of one.
   */
  memory?: { settleS: number; warmSockets: number };
  /** Latency is taken at the other members only (the sender's own copy is counted, not timed). */
  latencyExcludesSender: boolean;
  phases: PhaseSpec[];
}

export type PhaseSpec = ClosedPhase | OpenPhase;

interface PhaseBase {
  name: string;
  warmupS: number;
  durationS: number;
  /** How messages are posted: a SEND_MESSAGE frame on the sender's socket, or REST. */
  via: 'ws' | 'rest';
  /**
   * Phases sharing a ladder stop climbing once one misses (overloaded, or p99
   * above the limit): the rest of the ladder is skipped.
   */
  ladder?: { group: string; p99LimitMs?: number };
}

/** Closed loop: keep `inFlight` messages outstanding; one completes when every member has it. */
export interface ClosedPhase extends PhaseBase {
  kind: 'closed';
  inFlight: number;
}

/** Open loop: post at a fixed rate whatever happens (1 ms ticks with catch-up). */
export interface OpenPhase extends PhaseBase {
  kind: 'open';
  messagesPerS: number;
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

export interface PhaseResult {
  name: string;
  kind: 'closed' | 'open';
  via: 'ws' | 'rest';
  skipped?: string;
  inFlight?: number;
  offeredMessagesPerS?: number;
  offeredDeliveriesPerS?: number;
  windowS: number;
  sent: number;
  /** Messages every member received (whole phase). */
  completed: number;
  /** Given up after 10 s, or refused by the server. */
  lost: number;
  /** Deliveries of a message after every member had it (a socket got it twice). */
  duplicated: number;
  /** Still incomplete when the phase drained. */
  unfinished: number;
  errors: number;
  deliveries: number;
  deliveriesPerS: number;
  messagesPerS: number;
  serverCpuS: number;
  loadgenCpuS: number;
  serverCpuPct: number;
  loadgenCpuPct: number;
  deliveriesPerServerCpuS: number;
  serverCpuMsPerMessage: number;
  /** Distributed: instance A's CPU (processor, projector, api) per message delivered; null when there is none. */
  coreCpuMsPerMessage: number | null;
  latency: LatencySummary;
  /**
   * Parley: what the write path did per message completed in the window, from
   * its /metrics (loadgen/work-counters.ts); null for other servers.
   */
  work: { logWritesPerMessage: number; consumerBatchesPerMessage: number; recordsPerLogWrite: number } | null;
  /** Open loop: the offered rate was not delivered (or the in-flight bound was hit). */
  overloaded: boolean;
  serverRssMB: number;
  /** Busy % of the server's CPU not spent by the server (other processes), over the window. */
  otherServerCpuPct: number;
  /** Busy % of the load generator's CPU not spent by it. */
  otherLoadgenCpuPct: number;
  /** 1-minute load average at the end of the window. */
  loadAverage: number;
  /**
   * The window on CLOCK_MONOTONIC in µs (the clock V8 CPU profiles use), so a
   * server profile can be cut to it: bench/profile-summary.ts --results … --phase ….
   */
  monotonicUs: [number, number];
  /** The load generator's own event-loop delay over the window: when it stalls, latencies are its own. */
  loadgenLagMs: { p99: number; max: number };
}

export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  gc: boolean;
}

export interface LoadResult {
  impl: Impl;
  connect: { sockets: number; ms: number; failed: number };
  memory?: {
    measuredSockets: number;
    before: MemorySample;
    after: MemorySample;
    rssPerConnKB: number;
    heapPerConnKB: number;
    externalPerConnKB: number;
  };
  phases: PhaseResult[];
  serverPeakRssMB: number;
  closes: number;
  closeReasons: Record<string, number>;
}
