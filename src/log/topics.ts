// The topics Parley uses and how they are configured (ARCHITECTURE.md's table).
// Commands, events and outcomes share one partition count, so a partition's
// commands and its aggregates' events move together (co-partitioning).

import type { TopicSpec } from './port.ts';

export const topics = {
  commands: 'parley.commands',
  events: 'parley.events',
  signals: 'parley.signals',
  outcomes: 'parley.outcomes',
} as const;

export interface TopicSettings {
  partitions: number;
  commandsRetentionMs: number;
  signalsRetentionMs: number;
}

export function topicSpecs(settings: TopicSettings): TopicSpec[] {
  const { partitions } = settings;
  return [
    { name: topics.commands, partitions, retentionMs: settings.commandsRetentionMs },
    // The source of truth: kept forever, replayed by analysts and rebuilds.
    { name: topics.events, partitions, retentionMs: null },
    // Best effort by design (typing, presence, views).
    { name: topics.signals, partitions, retentionMs: settings.signalsRetentionMs, ephemeral: true },
    // A command's outcome only matters to the instance waiting for it (a lost
    // one: the client times out and retries, the processor answers again).
    { name: topics.outcomes, partitions, retentionMs: settings.commandsRetentionMs, ephemeral: true },
  ];
}

/** Header names on log records (values are strings). */
export const headers = {
  eventType: 'event_type',
  commandType: 'command_type',
  commandId: 'command_id',
  aggregateId: 'aggregate_id',
  correlationId: 'correlation_id',
  at: 'at',
  /** The instance waiting for a command's outcome. */
  replyTo: 'reply_to',
  /** The processor instance and assignment generation that wrote an event. */
  writer: 'writer',
  /** The offset the writer expected the event to get (see log/fencing.ts). */
  expectedOffset: 'expected_offset',
} as const;
