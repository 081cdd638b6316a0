// kafkajs-patches.ts, on a real broker. Patch 1: an idle kafkajs connection
// must not keep waking the event loop — counted as the looks kafkajs takes at
// its pending requests while nothing is sent. (Patch 2 is covered by the
// adapter suite: "reads of every partition at once … leave no connection
// behind".) Patch 3: a connection whose request timed out is dropped, so the
// next request gets a new one — through a fault proxy that leaves the
// connection half-open. Patch 4: a connection that dropped in the middle of a
// response reads its next socket from a clean start, and a response that
// cannot be read fails the request instead of crashing the process — through
// a broker stand-in that answers garbage, or half a response, before it hands
// the connection to the real broker.

import { createRequire } from 'node:module';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { kafkaAvailable, testKafkaBrokers } from '../../../test/support/cluster.ts';
import { startFaultProxy } from '../../../test/support/fault-proxy.ts';
import './kafkajs-patches.ts';

const { Kafka, logLevel } = kafkajs;
const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { checkPendingRequests: (this: unknown) => void };
};

const available = await kafkaAvailable('kafkajs request-queue patch');

describe.runIf(available)('kafkajs connections at rest', () => {
  const restore: (() => void)[] = [];
  afterEach(() => {
    for (const undo of restore.splice(0)) undo();
  });

  test('an idle connection takes no look at its (empty) queue of pending requests, and Node prints no TimeoutNegativeWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    restore.push(() => process.off('warning', onWarning));
    let looks = 0;
    const check = prototype.checkPendingRequests;
    prototype.checkPendingRequests = function counted(this: unknown) {
      looks++;
      check.call(this);
    };
    restore.push(() => (prototype.checkPendingRequests = check));

    const admin = new Kafka({ brokers: testKafkaBrokers, clientId: 'parley-patch-test', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.listTopics();
      const afterRequests = looks;
      await sleep(500); // unpatched: ~500 looks, one a millisecond
      expect(looks - afterRequests).toBe(0);
    } finally {
      await admin.disconnect();
    }
    expect(warnings).not.toContain('TimeoutNegativeWarning');
  });
});

describe.runIf(available)('a kafkajs connection that stops answering', () => {
  test('a request on a half-open connection times out, and the next request goes over a new connection', async () => {
    const [host, port] = testKafkaBrokers[0]!.split(':');
    const proxy = await startFaultProxy({ upstream: { host: host!, port: Number(port) } });
    // Every broker connection goes through the proxy, whatever address the metadata names.
    const admin = new Kafka({
      brokers: testKafkaBrokers,
      clientId: 'parley-patch-test',
      logLevel: logLevel.NOTHING,
      requestTimeout: 1_000,
      retry: { retries: 0 },
      socketFactory: ({ onConnect }) => net.connect({ host: '127.0.0.1', port: proxy.port }, onConnect),
    }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      const connections = proxy.stats.accepted;
      proxy.halfOpen();

      const lost = await admin.listTopics().then(
        () => 'answered',
        (error: unknown) => (error as Error).name,
      );
      expect(lost).toMatch(/KafkaJSRequestTimeoutError|KafkaJSNumberOfRetriesExceeded|KafkaJSNonRetriableError/);
      // Unpatched, this one goes down the dead connection too and times out.
      expect(await admin.listTopics()).toBeInstanceOf(Array);
      expect(proxy.stats.accepted).toBeGreaterThan(connections);
    } finally {
      await admin.disconnect();
      await proxy.close();
    }
  });
});

/**
 * A stand-in broker: connection i gets `answers[i]` (bytes, then the socket is
 * closed) if there is one, else it is piped to the real broker.
 */
async function brokerStandIn(
  answers: Buffer[],
): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const [host, port] = testKafkaBrokers[0]!.split(':');
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    const answer = answers[count++];
    if (answer !== undefined) {
      // Answer the first request with these bytes, then drop the connection.
      client.once('data', () => client.end(answer));
      return;
    }
    const upstream = net.connect({ host: host!, port: Number(port) });
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => count,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.runIf(available)('a kafkajs connection that breaks off mid-response', () => {
  const adminThrough = (port: number) =>
    new Kafka({
      brokers: testKafkaBrokers,
      clientId: 'parley-patch-test',
      logLevel: logLevel.NOTHING,
      requestTimeout: 2_000,
      retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 200 },
      socketFactory: ({ onConnect }) => net.connect({ host: '127.0.0.1', port }, onConnect),
    }).admin();

  // The first connection gets these bytes and is closed; the next ones reach the real broker.
  test.each([
    // A 100-byte response announced, 5 bytes of it sent: the next socket must be read from its own start.
    ['after half a response and a drop, the next socket is read from its own start', [0, 0, 0, 100, 1, 2, 3, 4, 5]],
    // A 2-byte response: kafkajs read 4 bytes of it, past its end, in the socket's data handler.
    ['a response too short to hold its correlation id fails the request; the process goes on', [0, 0, 0, 2, 0, 1]],
  ])('%s', async (_, firstAnswer) => {
    const standIn = await brokerStandIn([Buffer.from(firstAnswer)]);
    const admin = adminThrough(standIn.port);
    try {
      await admin.connect();
      expect(await admin.listTopics()).toBeInstanceOf(Array);
      expect(standIn.connections()).toBeGreaterThan(1);
    } finally {
      await admin.disconnect();
      await standIn.close();
    }
  });
});
