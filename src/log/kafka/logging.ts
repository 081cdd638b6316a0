// kafkajs logs through a `logCreator`; this one hands its entries to a
// pino-compatible logger (when the adapter is given one) or to the console,
// and drops what is only noise for Parley.

import kafkajs, { type LogEntry, type logCreator, type logLevel as LogLevel } from 'kafkajs';

const { logLevel } = kafkajs;

/** The part of pino the adapter uses: `logger.warn({ ...fields }, 'message')`. */
export interface LoggerLike {
  error(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export type KafkaLogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

export function kafkajsLevel(level: KafkaLogLevel): LogLevel {
  switch (level) {
    case 'nothing':
      return logLevel.NOTHING;
    case 'error':
      return logLevel.ERROR;
    case 'warn':
      return logLevel.WARN;
    case 'info':
      return logLevel.INFO;
    case 'debug':
      return logLevel.DEBUG;
  }
}

/**
 * Entries that say nothing actionable here:
 * - the idempotent producer's warning about bounded retries: bounded on
 *   purpose (an append must fail eventually), and after a failed send the
 *   adapter replaces the producer, so no sequence number is ever reused — the
 *   hazard that warning is about;
 * - the v2 partitioner notice: every record carries an explicit partition.
 */
function isNoise(entry: LogEntry): boolean {
  const message = entry.log.message;
  return (
    message.startsWith('Limiting retries for the idempotent producer') ||
    message.startsWith('KafkaJS v2.0.0 switched default partitioner')
  );
}

/**
 * kafkajs logs every error response and socket error at its connection layer
 * as an error, before the layer that sent the request retries it (a leader
 * that moved, a topic just created, a broker restarting) or reports it (a
 * crash, a failed append). Those first copies are debug here, and each retry
 * of an unreachable bootstrap broker a warning: errors are what failed for
 * good.
 */
function levelOf(entry: LogEntry): LogLevel {
  if (entry.level !== logLevel.ERROR) return entry.level;
  if (entry.namespace === 'Connection') return logLevel.DEBUG;
  if (entry.namespace === 'BrokerPool' && entry.log.message.startsWith('Failed to connect to seed broker')) {
    return logLevel.WARN;
  }
  return entry.level;
}

/** A kafkajs logCreator writing to `logger` (or console.warn/error when absent). */
export function createLogCreator(logger: LoggerLike | undefined): logCreator {
  return () => (entry: LogEntry) => {
    if (isNoise(entry)) return;
    const level = levelOf(entry);
    const { message, timestamp: _timestamp, ...fields } = entry.log;
    const context = { kafkajs: entry.namespace, ...fields };
    if (logger) {
      switch (level) {
        case logLevel.ERROR:
          logger.error(context, message);
          break;
        case logLevel.WARN:
          logger.warn(context, message);
          break;
        case logLevel.INFO:
          logger.info(context, message);
          break;
        default:
          logger.debug(context, message);
      }
      return;
    }
    if (level === logLevel.ERROR) console.error(`[kafkajs] ${entry.namespace}: ${message}`, fields);
    else if (level === logLevel.WARN) console.warn(`[kafkajs] ${entry.namespace}: ${message}`, fields);
  };
}
