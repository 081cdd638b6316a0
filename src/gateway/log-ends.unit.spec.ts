// Where the events log ends, for sockets that connect in bursts: a socket's
// answer comes from a query that began after it asked, sockets that ask while
// one runs share the next, and a log that fails or does not answer in time
// gives "unknown" (empty) rather than holding the socket up.

import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogEnds } from './log-ends.ts';

/** A log whose end-offset queries the test answers one by one. */
function scriptedLog() {
  const pending: { resolve: (ends: number[]) => void; reject: (error: Error) => void }[] = [];
  let ends = [0, 0];
  return {
    queries: () => pending.length,
    append(partition: number) {
      ends = ends.map((end, i) => (i === partition ? end + 1 : end));
    },
    /** The oldest query in flight reads the log as it is now. */
    answer() {
      pending.shift()!.resolve([...ends]);
    },
    fail() {
      pending.shift()!.reject(new Error('broker unreachable'));
    },
    read: () => new Promise<number[]>((resolve, reject) => pending.push({ resolve, reject })),
  };
}

const logger = pino({ level: 'silent' });
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('log ends for connecting sockets', () => {
  it('answers a socket from a query that began after it asked; sockets asking meanwhile share the next one', async () => {
    const log = scriptedLog();
    const ends = createLogEnds({ read: log.read, timeoutMs: 60_000, logger });
    const first = ends.afterNow();
    expect(log.queries()).toBe(1);
    // Asked while the first query runs: that query may already have read the log.
    log.append(0);
    const second = ends.afterNow();
    const third = ends.afterNow();
    expect(log.queries()).toBe(1);
    log.answer(); // whether it saw the append or not, it began before the others asked: only `first` takes it
    expect(await first).toEqual([1, 0]);
    await settle();
    expect(log.queries()).toBe(1); // the next one, for both sockets that waited
    log.append(1);
    log.answer();
    expect(await second).toEqual([1, 1]);
    expect(await third).toEqual([1, 1]);
    await settle();
    expect(log.queries()).toBe(0);
  });

  it('answers empty (unknown) when the log fails, and asks it again for the next socket', async () => {
    const log = scriptedLog();
    const ends = createLogEnds({ read: log.read, timeoutMs: 60_000, logger });
    const failed = ends.afterNow();
    log.fail();
    expect(await failed).toEqual([]);
    await settle();
    const next = ends.afterNow();
    expect(log.queries()).toBe(1);
    log.append(0);
    log.answer();
    expect(await next).toEqual([1, 0]);
  });

  it('answers empty (unknown) when the log does not answer within the timeout', async () => {
    const log = scriptedLog();
    const ends = createLogEnds({ read: log.read, timeoutMs: 20, logger });
    expect(await ends.afterNow()).toEqual([]);
  });
});
