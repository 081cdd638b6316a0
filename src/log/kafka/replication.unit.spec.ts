// The start-up replication rule: which topic metadata Parley refuses, and why.

import { describe, expect, test } from 'vitest';
import { replicationProblems, UnderReplicatedError, type PartitionReplicas, type TopicReplicas } from './replication.ts';

const healthy = (partition: number, replicas = [1, 2, 3]): PartitionReplicas => ({
  partition,
  leader: replicas[0]!,
  replicas,
  isr: replicas,
});

const topic = (partitions: PartitionReplicas[], minInsyncReplicas = 2, name = 'events'): TopicReplicas => ({
  name,
  partitions,
  minInsyncReplicas,
});

const production = { replicationFactor: 3, minInsyncReplicas: 2 };

describe('replicationProblems', () => {
  test('three replicas all in sync with min.insync 2 pass the production expectation', () => {
    expect(replicationProblems([topic([healthy(0), healthy(1)]), topic([healthy(0)], 2, 'commands')], production)).toEqual([]);
  });

  test('a single-broker development stack (replication factor 1, the broker default asked) passes without a flag', () => {
    expect(replicationProblems([topic([healthy(0, [1]), healthy(1, [1])], 1)], { replicationFactor: -1 })).toEqual([]);
    expect(replicationProblems([topic([healthy(0, [1])], 1)], { replicationFactor: 1 })).toEqual([]);
  });

  test('fewer replicas than PARLEY_KAFKA_REPLICATION_FACTOR asks: one line naming the partitions', () => {
    const problems = replicationProblems([topic([healthy(0, [1]), healthy(1, [1])], 1)], { replicationFactor: 3 });
    expect(problems).toEqual(['topic events: 1 replica(s) on partition(s) 0,1, below PARLEY_KAFKA_REPLICATION_FACTOR=3']);
  });

  test('a partition whose ISR is smaller than its replicas is under-replicated, naming the broker out of sync', () => {
    const lagging: PartitionReplicas = { partition: 1, leader: 1, replicas: [1, 2, 3], isr: [1, 3] };
    expect(replicationProblems([topic([healthy(0), lagging])], production)).toEqual([
      'topic events partition 1: under-replicated, 2 of 3 replicas in sync (broker(s) 2 out of sync)',
    ]);
    // With the broker's default replication factor asked, an out-of-sync replica still counts.
    expect(replicationProblems([topic([lagging])], { replicationFactor: -1 })).toHaveLength(1);
  });

  test('a partition without a leader is refused', () => {
    const leaderless: PartitionReplicas = { partition: 0, leader: -1, replicas: [2], isr: [2] };
    expect(replicationProblems([topic([leaderless], 1)], { replicationFactor: -1 })).toEqual([
      'topic events partition 0: no leader (replicas 2 all unavailable)',
    ]);
  });

  test('min.insync.replicas below the one asked, or above the replicas, is refused', () => {
    expect(replicationProblems([topic([healthy(0)], 1)], production)).toEqual([
      'topic events: min.insync.replicas=1, below PARLEY_KAFKA_MIN_INSYNC_REPLICAS=2',
    ]);
    expect(replicationProblems([topic([healthy(0, [1])], 2)], { replicationFactor: -1 })).toEqual([
      'topic events: min.insync.replicas=2 but only 1 replica(s): no write could be acknowledged',
    ]);
    // Unset PARLEY_KAFKA_MIN_INSYNC_REPLICAS asks for no minimum.
    expect(replicationProblems([topic([healthy(0)], 1)], { replicationFactor: 3 })).toEqual([]);
  });

  test('the error carries a stable code, every problem, and the way out', () => {
    const error = new UnderReplicatedError(['topic events partition 1: under-replicated']);
    expect(error.code).toBe('kafka_under_replicated');
    expect(error.problems).toEqual(['topic events partition 1: under-replicated']);
    expect(error.message).toMatch(/^kafka_under_replicated: /);
    expect(error.message).toContain('topic events partition 1: under-replicated');
    expect(error.message).toContain('PARLEY_KAFKA_ALLOW_UNDER_REPLICATED=true');
  });
});
