// Starts an HTTP app on an ephemeral port for specs, with the pino output
// captured line by line so a spec can assert on what was logged.

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../config.ts';
import { createHttpApp, type HttpAppOptions } from '../app.ts';

export interface TestServer {
  base: string;
  port: number;
  config: Config;
  /** Every log line written so far, parsed. */
  logLines: Record<string, unknown>[];
  /** The raw text written to the log, for "never contains" checks. */
  logText: () => string;
  close: () => Promise<void>;
}

export async function startTestServer(options: {
  routers: HttpAppOptions['routers'];
  rawBodyRouters?: HttpAppOptions['rawBodyRouters'];
  env?: Record<string, string>;
  readiness?: HttpAppOptions['readiness'];
}): Promise<TestServer> {
  const config = loadConfig({ ...options.env });
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void raw.push(line) });
  const app = createHttpApp({
    config,
    logger,
    routers: options.routers,
    rawBodyRouters: options.rawBodyRouters ?? [],
    readiness: options.readiness ?? (() => Promise.resolve({ ok: true })),
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    config,
    get logLines() {
      return raw.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => raw.join(''),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
