// What Parley measures, in Prometheus form (prom-client). compose.ts makes one
// registry per running Parley (never prom-client's global one, so two apps in
// one process — tests — keep their own counts) and hands each module the narrow
// interface it reports through: the HTTP kit its request histogram, the
// command executor its latencies, the gateway its sockets and deliveries, the
// log its writes and its consumers' batches (through compose.ts). The
// lags are read at scrape time from sources compose.ts registers, cached
// briefly so several scrapers cost one read. Modules that get no metrics use
// `noMetrics`; nothing here reaches the domain.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LogWrite } from '../log/port.ts';

/** Every metric Parley defines itself starts with this; Node's process metrics keep their standard names. */
export const METRIC_PREFIX = 'parley_';

// Latencies from a millisecond (a cached read) to the command timeout's order (10 s).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface HttpMetrics {
  /** One finished request: `route` is the matched route's template (`/api/v1/rooms/:id`), never the raw path. */
  requestFinished(request: { method: string; route: string; status: number }, seconds: number): void;
}

/** accepted: the processor appended its events; rejected: refused by a rule; timeout: no outcome in time; error: anything else. */
export type AcceptOutcome = 'accepted' | 'rejected' | 'timeout' | 'error';
/** caught_up: the read model shows it; lagging: it did not within the read-your-writes timeout. */
export type ReadableOutcome = 'caught_up' | 'lagging';

export interface CommandMetrics {
  /** From intake until the processor's outcome (the events are in the log, or refused). */
  accepted(command: string, outcome: AcceptOutcome, seconds: number): void;
  /** From intake until the read model shows the command's effect (read-your-writes), for answers that wait for it. */
  readable(command: string, outcome: ReadableOutcome, seconds: number): void;
}

export interface SocketCounts {
  authenticated: number;
  /** Upgraded, no AUTH frame yet. */
  unauthenticated: number;
}

export interface GatewayMetrics {
  /** A frame written to a socket. */
  delivered(): void;
  /** A socket closed (1013) because it could not keep up with what it was sent. */
  droppedSlowSocket(): void;
  /** A socket refused (503, or close 1013 after AUTH) because too many were being set up: load shed. */
  shedConnection(): void;
  /** Where the sockets gauge reads the gateway's counts at each scrape. */
  countSockets(read: () => SocketCounts): void;
}

/** hit: answered from the cache; miss: loaded from the database; unavailable: Redis did not answer (loaded too). */
export type ReadCacheResult = 'hit' | 'miss' | 'unavailable';

/** The write path's batching: how many writes and wake-ups the log's records cost. */
export interface LogMetrics {
  /** One write of the log to its storage (log/port.ts LogWrite). */
  wrote: (write: LogWrite) => void;
  /**
   * The counter of one consumer of this process: told the size of each batch
   * it handled. Its label values are bound once, not hashed per batch.
   */
  consumer: (group: string, topic: string) => (records: number) => void;
}

export interface ReadCacheMetrics {
  /** One read through the read cache (infra/read-cache.ts). */
  read(result: ReadCacheResult): void;
}

/** How far a projection's stored offsets are behind the end of the log it follows, per partition. */
export interface ProjectionLag {
  projection: string;
  partition: number;
  lag: number;
}

/** How far a consumer of this process is behind the end of a partition it reads. */
export interface ConsumerLag {
  /** The consumer group; `none` for a consumer that reads every partition (gateway streams, outcome listener). */
  group: string;
  topic: string;
  partition: number;
  lag: number;
}

/** Poison events parked and not yet retried or skipped (dead_letters), per projection and partition. */
export interface OpenDeadLetters {
  projection: string;
  partition: number;
  count: number;
}

export interface Metrics {
  http: HttpMetrics;
  commands: CommandMetrics;
  gateway: GatewayMetrics;
  log: LogMetrics;
  readCache: ReadCacheMetrics;
  /** Where the projection-lag gauge reads at scrape time (the projections' offsets, any instance). */
  readProjectionLag(read: () => Promise<ProjectionLag[]>): void;
  /** Where the consumer-lag gauge reads at scrape time (this process's consumers). */
  readConsumerLag(read: () => Promise<ConsumerLag[]>): void;
  /** Where the dead-letters gauge reads at scrape time (the deployment's dead_letters table). */
  readOpenDeadLetters(read: () => Promise<OpenDeadLetters[]>): void;
  /** The exposition text, and its media type. */
  render: () => Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** How long a lag reading is reused, so several scrapers in a row cost one read of the log's end offsets. */
  lagCacheMs: number;
  /** A lag source that failed: its series are left out of that scrape (absent, not stale). */
  onLagError: (what: string, error: unknown) => void;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  const registers = [registry];
  // Process CPU, memory, handles, GC and the event-loop delay (nodejs_eventloop_lag_seconds, _p99…).
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: `${METRIC_PREFIX}http_request_duration_seconds`,
    help: 'REST requests: time to the response, by method, route template and status class (2xx, 4xx …).',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const commandAccepted = new Histogram({
    name: `${METRIC_PREFIX}command_accept_duration_seconds`,
    help: "Commands: intake until the processor's outcome (events appended, or refused), by command type and outcome.",
    labelNames: ['command', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const commandReadable = new Histogram({
    name: `${METRIC_PREFIX}command_readable_duration_seconds`,
    help: 'Commands answered from the read model: intake until the read model shows them (read-your-writes), by command type and outcome.',
    labelNames: ['command', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  let socketCounts: () => SocketCounts = () => ({ authenticated: 0, unauthenticated: 0 });
  new Gauge({
    name: `${METRIC_PREFIX}ws_sockets`,
    help: 'WebSocket connections open on this gateway, authenticated or still waiting for AUTH.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const counts = socketCounts();
      this.set({ state: 'authenticated' }, counts.authenticated);
      this.set({ state: 'unauthenticated' }, counts.unauthenticated);
    },
  });
  const deliveries = new Counter({
    name: `${METRIC_PREFIX}ws_deliveries_total`,
    help: 'Frames written to WebSocket connections (one per socket a frame goes to).',
    registers,
  });
  const slowDrops = new Counter({
    name: `${METRIC_PREFIX}ws_slow_socket_drops_total`,
    help: 'Sockets closed (1013) because more than PARLEY_WS_MAX_BUFFERED_BYTES waited for them.',
    registers,
  });
  const shedConnections = new Counter({
    name: `${METRIC_PREFIX}ws_shed_connections_total`,
    help: 'Sockets refused (503 with Retry-After, or close 1013) because PARLEY_WS_MAX_CONNECTING were being set up: a reconnect storm shed.',
    registers,
  });

  const logWrites = new Counter({
    name: `${METRIC_PREFIX}log_writes_total`,
    help: 'Writes of the log to its storage: transactions of the embedded log (appends and offset commits; one fsync for those holding appends), produce requests on Kafka.',
    registers,
  });
  const logRecordsWritten = new Counter({
    name: `${METRIC_PREFIX}log_records_written_total`,
    help: 'Records appended by those writes; records per write is how well appends share a write (PARLEY_LOG_LINGER_MS).',
    registers,
  });
  const consumerBatches = new Counter({
    name: `${METRIC_PREFIX}consumer_batches_total`,
    help: "Batches this process's consumers handled, per consumer group (none: a consumer that reads every partition) and topic: each a wake-up, a read or fetch, and a commit.",
    labelNames: ['group', 'topic'] as const,
    registers,
  });
  const consumerRecords = new Counter({
    name: `${METRIC_PREFIX}consumer_records_total`,
    help: 'Records in those batches, per consumer group and topic.',
    labelNames: ['group', 'topic'] as const,
    registers,
  });

  const cacheReads = new Counter({
    name: `${METRIC_PREFIX}read_cache_reads_total`,
    help: 'Reads of membership, members, room details and users’ room lists through the Redis read cache, by result: hit, miss (loaded from the database), unavailable (Redis did not answer).',
    labelNames: ['result'] as const,
    registers,
  });

  /**
   * A gauge read from the database or the log when scraped (cached for
   * lagCacheMs): one series per row. Returns how the composition root gives
   * it its reading.
   */
  const scrapedGauge = <Row, Label extends string>(gauge: {
    name: string;
    help: string;
    labelNames: readonly Label[];
    what: string;
    labels: (row: Row) => Record<Label, string>;
    value: (row: Row) => number;
  }): ((read: () => Promise<Row[]>) => void) => {
    let reading = cachedReading<Row>(() => Promise.resolve([]), options.lagCacheMs);
    new Gauge({
      name: `${METRIC_PREFIX}${gauge.name}`,
      help: gauge.help,
      labelNames: gauge.labelNames,
      registers,
      async collect() {
        this.reset();
        try {
          for (const row of await reading()) this.set(gauge.labels(row), gauge.value(row));
        } catch (error) {
          options.onLagError(gauge.what, error);
        }
      },
    });
    return (read) => {
      reading = cachedReading(read, options.lagCacheMs);
    };
  };
  const readProjectionLag = scrapedGauge({
    name: 'projection_lag_events',
    help: 'Records of the log a projection has not applied yet, per partition (from the stored offsets: the same on every instance; take max by projection, partition).',
    labelNames: ['projection', 'partition'] as const,
    what: 'projection lag',
    labels: (row: ProjectionLag) => ({ projection: row.projection, partition: String(row.partition) }),
    value: (row) => row.lag,
  });
  const readConsumerLag = scrapedGauge({
    name: 'consumer_lag_records',
    help: "Records past this process's consumers' position, per consumer group, topic and partition (partitions it reads now).",
    labelNames: ['group', 'topic', 'partition'] as const,
    what: 'consumer lag',
    labels: (row: ConsumerLag) => ({ group: row.group, topic: row.topic, partition: String(row.partition) }),
    value: (row) => row.lag,
  });
  const readOpenDeadLetters = scrapedGauge({
    name: 'dead_letters_open',
    help: 'Poison events parked, not yet retried or skipped: each halts its partition of the projection (parley dlq list). Alert on > 0.',
    labelNames: ['projection', 'partition'] as const,
    what: 'dead letters',
    labels: (row: OpenDeadLetters) => ({ projection: row.projection, partition: String(row.partition) }),
    value: (row) => row.count,
  });

  return {
    http: {
      requestFinished({ method, route, status }, seconds) {
        httpDuration.observe({ method, route, status_class: `${Math.floor(status / 100)}xx` }, seconds);
      },
    },
    commands: {
      accepted: (command, outcome, seconds) => commandAccepted.observe({ command, outcome }, seconds),
      readable: (command, outcome, seconds) => commandReadable.observe({ command, outcome }, seconds),
    },
    gateway: {
      delivered: () => deliveries.inc(),
      droppedSlowSocket: () => slowDrops.inc(),
      shedConnection: () => shedConnections.inc(),
      countSockets(read) {
        socketCounts = read;
      },
    },
    log: {
      wrote: ({ records }) => {
        logWrites.inc();
        if (records > 0) logRecordsWritten.inc(records);
      },
      consumer: (group, topic) => {
        const batches = consumerBatches.labels({ group, topic });
        const records = consumerRecords.labels({ group, topic });
        return (size) => {
          batches.inc();
          if (size > 0) records.inc(size);
        };
      },
    },
    readCache: { read: (result) => cacheReads.inc({ result }) },
    readProjectionLag,
    readConsumerLag,
    readOpenDeadLetters,
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** `read`, reused for `ttlMs` after it resolved; concurrent scrapes share one read in flight. */
function cachedReading<T>(read: () => Promise<T[]>, ttlMs: number): () => Promise<T[]> {
  let last: { at: number; rows: Promise<T[]> } | undefined;
  return () => {
    const now = Date.now();
    if (last !== undefined && now - last.at < ttlMs) return last.rows;
    const rows = read();
    last = { at: now, rows };
    // A failed read is not reused: the next scrape tries again.
    rows.catch(() => {
      if (last?.rows === rows) last = undefined;
    });
    return rows;
  };
}

/** For modules run without metrics (tests, operator commands): every report goes nowhere. */
export const noMetrics: { http: HttpMetrics; commands: CommandMetrics; gateway: GatewayMetrics } = {
  http: { requestFinished: () => undefined },
  commands: { accepted: () => undefined, readable: () => undefined },
  gateway: {
    delivered: () => undefined,
    droppedSlowSocket: () => undefined,
    shedConnection: () => undefined,
    countSockets: () => undefined,
  },
};
