// The write path's work in counts, read from a Parley server's /metrics at the
// edges of a measured window: writes of the log (embedded transactions, Kafka
// produce requests), the records in them, and the batches its consumers
// handled. Per message they say how well the write path batches — and, unlike
// CPU time on a shared virtual machine (whose speed drifts by a third within
// an hour here), they do not move with the neighbours: a change that makes a
// write or a wake-up serve more messages shows in them at once.

/** Cumulative counters of one server at one moment. */
export interface WorkCounters {
  logWrites: number;
  logRecordsWritten: number;
  consumerBatches: number;
}

/** The counters of the server at `baseUrl`, or null when it has none (not Parley, or metrics off). */
export async function readWorkCounters(baseUrl: string): Promise<WorkCounters | null> {
  let text: string;
  try {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    if (!response.ok) return null;
    text = await response.text();
  } catch {
    return null;
  }
  const logWrites = sumOf(text, 'parley_log_writes_total');
  if (logWrites === null) return null;
  return {
    logWrites,
    logRecordsWritten: sumOf(text, 'parley_log_records_written_total') ?? 0,
    consumerBatches: sumOf(text, 'parley_consumer_batches_total') ?? 0,
  };
}

/** Per message completed in the window: what the counters grew by, divided. */
export function workPerMessage(
  before: WorkCounters | null,
  after: WorkCounters | null,
  messages: number,
): { logWritesPerMessage: number; consumerBatchesPerMessage: number; recordsPerLogWrite: number } | null {
  if (before === null || after === null || messages === 0) return null;
  const writes = after.logWrites - before.logWrites;
  return {
    logWritesPerMessage: writes / messages,
    consumerBatchesPerMessage: (after.consumerBatches - before.consumerBatches) / messages,
    recordsPerLogWrite: writes > 0 ? (after.logRecordsWritten - before.logRecordsWritten) / writes : 0,
  };
}

/** The sum of every sample of a metric (all label sets) in Prometheus text; null when it has none. */
function sumOf(text: string, name: string): number | null {
  let sum: number | null = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
