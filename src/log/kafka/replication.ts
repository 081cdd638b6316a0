// Is the log as durable as it was asked to be? Parley checks its topics at
// start: an acknowledged message must survive the loss of a broker, which
// takes enough replicas, all of them in sync, and a min.insync.replicas that
// acks=all writes can meet. Pure: the adapter (kafka-log.ts) reads the
// metadata and the topic configs, this decides.
//
// The rule, per topic:
//  1. replicas   every partition has at least PARLEY_KAFKA_REPLICATION_FACTOR
//                replicas (when it names one; -1, the broker's default, asks
//                for nothing, so a single-broker development stack with
//                replication factor 1 passes without any flag);
//  2. in sync    every partition has a leader and all its replicas in sync
//                (ISR = replicas): starting on a partition that already lost
//                a copy means the next broker failure may lose acknowledged
//                messages, or stop the writes (below min.insync.replicas);
//  3. min.insync the topic's min.insync.replicas is at least
//                PARLEY_KAFKA_MIN_INSYNC_REPLICAS (when set), and no more than
//                its replicas (else no acks=all write can ever succeed).
// PARLEY_KAFKA_ALLOW_UNDER_REPLICATED=true (development, or an operator
// starting Parley on purpose during a broker outage) turns the refusal into
// warnings.

export interface PartitionReplicas {
  partition: number;
  /** Broker id of the leader; negative when the partition has none. */
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface TopicReplicas {
  name: string;
  partitions: PartitionReplicas[];
  /** The topic's effective min.insync.replicas (its own or the broker's default). */
  minInsyncReplicas: number;
}

export interface ReplicationExpectation {
  /** PARLEY_KAFKA_REPLICATION_FACTOR; -1 = the broker's default (no minimum). */
  replicationFactor: number;
  /** PARLEY_KAFKA_MIN_INSYNC_REPLICAS, when set. */
  minInsyncReplicas?: number;
}

/** Why the topics fall short of the expectation, one readable line per problem (empty: they do not). */
export function replicationProblems(topics: TopicReplicas[], expected: ReplicationExpectation): string[] {
  const problems: string[] = [];
  for (const topic of topics) {
    const sorted = [...topic.partitions].sort((a, b) => a.partition - b.partition);
    const fewest = Math.min(...sorted.map((p) => p.replicas.length));
    if (expected.replicationFactor >= 1 && fewest < expected.replicationFactor) {
      const short = sorted.filter((p) => p.replicas.length < expected.replicationFactor).map((p) => p.partition);
      problems.push(
        `topic ${topic.name}: ${fewest} replica(s) on partition(s) ${short.join(',')}, ` +
          `below PARLEY_KAFKA_REPLICATION_FACTOR=${expected.replicationFactor}`,
      );
    }
    for (const p of sorted) {
      if (p.leader < 0) {
        problems.push(
          `topic ${topic.name} partition ${p.partition}: no leader (replicas ${p.replicas.join(',')} all unavailable)`,
        );
        continue;
      }
      const missing = p.replicas.filter((broker) => !p.isr.includes(broker));
      if (missing.length > 0) {
        problems.push(
          `topic ${topic.name} partition ${p.partition}: under-replicated, ${p.isr.length} of ${p.replicas.length} replicas in sync ` +
            `(broker(s) ${missing.join(',')} out of sync)`,
        );
      }
    }
    if (expected.minInsyncReplicas !== undefined && topic.minInsyncReplicas < expected.minInsyncReplicas) {
      problems.push(
        `topic ${topic.name}: min.insync.replicas=${topic.minInsyncReplicas}, below PARLEY_KAFKA_MIN_INSYNC_REPLICAS=${expected.minInsyncReplicas}`,
      );
    }
    if (sorted.length > 0 && topic.minInsyncReplicas > fewest) {
      problems.push(
        `topic ${topic.name}: min.insync.replicas=${topic.minInsyncReplicas} but only ${fewest} replica(s): no write could be acknowledged`,
      );
    }
  }
  return problems;
}

/** Parley's topics fall short of the durability asked for; start-up stops with this. */
export class UnderReplicatedError extends Error {
  /** Stable, for scripts and log searches. */
  readonly code = 'kafka_under_replicated';
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(
      `kafka_under_replicated: Parley's topics are not replicated as required, refusing to start:\n  ${problems.join('\n  ')}\n` +
        'Wait for the brokers to be back in sync (kafka-topics --describe --under-replicated-partitions), fix the topics, ' +
        'or set PARLEY_KAFKA_ALLOW_UNDER_REPLICATED=true (development; or to start knowingly during a broker outage).',
    );
    this.name = 'UnderReplicatedError';
    this.problems = problems;
  }
}
