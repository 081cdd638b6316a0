// Where the events log ends "now", for sockets that connect in bursts.
//
// A socket's live stream of room messages starts at the log's end when it
// connected (room-stream.ts): what was appended before is history, which its
// client may already hold from another socket and asks for with JOIN_ROOM's
// since_seq. The end must be read by a query that began after the socket
// registered, or a message appended in between would count as history and
// never reach it live. Sockets that connect while a query runs share the next
// one, so a reconnect storm costs two queries in flight, not one per socket.

import type { Logger } from 'pino';

export interface LogEnds {
  /**
   * Every partition's end offset, read by a query that began after this call.
   * Empty when the log did not answer within the timeout (then nothing counts
   * as history: the socket may hear again a message it got on another socket).
   */
  afterNow(): Promise<readonly number[]>;
}

export function createLogEnds(options: { read: () => Promise<number[]>; timeoutMs: number; logger: Logger }): LogEnds {
  const { read, timeoutMs, logger } = options;
  let running: Promise<readonly number[]> | null = null;
  let next: Promise<readonly number[]> | null = null;
  let failing = false;

  function start(): Promise<readonly number[]> {
    const query: Promise<readonly number[]> = read().then(
      (ends) => {
        if (failing) logger.info('the events log tells its end again');
        failing = false;
        return ends;
      },
      (error: unknown) => {
        if (!failing)
          logger.warn({ err: error }, 'the events log did not tell its end: new sockets hear from where this gateway is');
        failing = true;
        return [];
      },
    );
    running = query;
    void query.then(() => {
      if (running === query) running = null;
    });
    return query;
  }

  function withTimeout(query: Promise<readonly number[]>): Promise<readonly number[]> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<readonly number[]>((resolve) => {
      timer = setTimeout(() => resolve([]), timeoutMs);
      timer.unref();
    });
    return Promise.race([query, timedOut]).finally(() => clearTimeout(timer));
  }

  return {
    afterNow() {
      if (running === null) return withTimeout(start());
      // The query in flight began before this call: it may not see what was appended since.
      next ??= running.then(() => {
        next = null;
        return start();
      });
      return withTimeout(next);
    },
  };
}
