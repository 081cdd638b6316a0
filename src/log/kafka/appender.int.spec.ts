// A producer whose send failed is replaced, not reused (issue 17, item 3):
// the appender's Kafka connections go through a fault proxy; a send lost on a
// blackholed network fails once its retry budget is spent, and the next
// append, after the network heals, is written by a new producer (a new
// producer id in the log's record batches), while the old one is disconnected.
// Reusing it would reuse the failed batch's sequence numbers, which the broker
// may take for a duplicate of a batch that did land, and silently drop.
// Also: appends made within the linger after a send share the next one.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import kafkajs, { type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kafkaAvailable, testKafkaBrokers } from '../../../test/support/cluster.ts';
import { startFaultProxy, type FaultProxy } from '../../../test/support/fault-proxy.ts';
import { Appender } from './appender.ts';

const available = await kafkaAvailable('appender: producer replaced after a failed send');
const topic = `it.appender.${randomBytes(4).toString('hex')}.events`;

describe.runIf(available)('Kafka appender: a producer whose send failed is replaced', () => {
  let proxy: FaultProxy;
  const direct = new kafkajs.Kafka({ clientId: 'appender-it', brokers: testKafkaBrokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = direct.admin();

  beforeAll(async () => {
    const [host, port] = testKafkaBrokers[0]!.split(':') as [string, string];
    proxy = await startFaultProxy({ upstream: { host, port: Number(port) } });
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    await proxy.close();
  });

  test('a send that failed on a broken network leaves its producer disconnected; the next append gets a new producer id', async () => {
    // Every connection of this client, to the bootstrap and to the advertised
    // broker alike, goes through the proxy.
    const viaProxy = new kafkajs.Kafka({
      clientId: 'appender-it-proxied',
      brokers: [`127.0.0.1:${proxy.port}`],
      connectionTimeout: 1_000,
      requestTimeout: 2_000,
      retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 },
      logLevel: kafkajs.logLevel.NOTHING,
      socketFactory: ({ onConnect }) => net.connect({ host: '127.0.0.1', port: proxy.port }, onConnect),
    });
    const producers: Producer[] = [];
    const disconnected: Producer[] = [];
    const kafka = {
      producer(config?: kafkajs.ProducerConfig) {
        const producer = viaProxy.producer(config);
        producer.on(producer.events.DISCONNECT, () => disconnected.push(producer));
        producers.push(producer);
        return producer;
      },
    } as unknown as kafkajs.Kafka;
    const errors: string[] = [];
    const appender = new Appender({
      kafka,
      producer: { idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 300 } },
      ackTimeoutMs: 2_000,
      maxBatchRecords: 100,
      maxBatchBytes: 1_000_000,
      lingerMs: 0,
      onError: (error, context) => errors.push(`${context}: ${String(error)}`),
    });
    const record = (n: number) => ({ key: 'k', value: Buffer.from(`v${n}`), partition: 0 });
    try {
      const [first] = await appender.append(topic, [record(1)]);
      proxy.blackhole(true);
      const failed = await appender.append(topic, [record(2)]).then(
        () => 'acknowledged',
        (error: unknown) => `rejected: ${String(error)}`,
      );
      proxy.heal();
      // What the blackhole held is delivered now; the failed producer's requests may still land.
      proxy.resetAll();
      const [after] = await appender.append(topic, [record(3)]);

      expect(failed).toMatch(/^rejected/);
      expect(producers).toHaveLength(2);
      expect(disconnected).toContain(producers[0]);
      expect(disconnected).not.toContain(producers[1]);

      // The log: record 1 and record 3 come from different producer ids.
      const consumer = direct.consumer({ groupId: `appender-it-${randomBytes(4).toString('hex')}` });
      const seen = new Map<string, string>();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          const context = (message as unknown as { batchContext: { producerId: string } }).batchContext;
          seen.set(message.value!.toString(), context.producerId);
          return Promise.resolve();
        },
      });
      const started = Date.now();
      while (!(seen.has('v1') && seen.has('v3')) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
      await consumer.disconnect();
      console.info(
        `[appender] positions ${first!.offset} → ${after!.offset}; producer ids by record: ${JSON.stringify(Object.fromEntries(seen))}; failed send: ${failed}`,
      );
      expect(seen.get('v1')).toBeDefined();
      expect(seen.get('v3')).toBeDefined();
      expect(seen.get('v3')).not.toBe(seen.get('v1'));
    } finally {
      proxy.heal();
      await appender.close();
    }
  });
});

describe.runIf(available)('Kafka appender: linger', () => {
  const lingerTopic = `it.appender.${randomBytes(4).toString('hex')}.linger`;
  const direct = new kafkajs.Kafka({
    clientId: 'appender-it-linger',
    brokers: testKafkaBrokers,
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = direct.admin();

  beforeAll(async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: lingerTopic, numPartitions: 2 }], waitForLeaders: true });
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [lingerTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  test('appends made within the linger after a send wait for it to end and share one send, at the positions they asked for', async () => {
    // Counts the produce requests the appender makes.
    const sends: number[] = [];
    const kafka = {
      producer(config?: kafkajs.ProducerConfig) {
        const producer = direct.producer(config);
        const sendBatch = producer.sendBatch.bind(producer);
        producer.sendBatch = (batch) => {
          sends.push(batch.topicMessages!.reduce((n, { messages }) => n + messages.length, 0));
          return sendBatch(batch);
        };
        return producer;
      },
    } as unknown as kafkajs.Kafka;
    // What the metrics hear: each acknowledged produce request, with its records.
    const writes: number[] = [];
    const appender = new Appender({
      kafka,
      producer: { idempotent: true, maxInFlightRequests: 1 },
      ackTimeoutMs: 5_000,
      maxBatchRecords: 100,
      maxBatchBytes: 1_000_000,
      lingerMs: 2_000,
      onError: () => undefined,
      onWrite: ({ records }) => writes.push(records),
    });
    const record = (partition: number, n: number) => ({ key: 'k', value: Buffer.from(`v${n}`), partition });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await appender.append(lingerTopic, [record(0, 1)]);
      // Without a linger the first of these would go alone, at once (nothing in flight).
      const second = appender.append(lingerTopic, [record(0, 2)]);
      await pause(5);
      const third = appender.append(lingerTopic, [record(1, 3), record(0, 4)]);
      await pause(5);
      const fourth = appender.append(lingerTopic, [record(0, 5)]);
      const positions = await Promise.all([second, third, fourth]);

      expect(sends).toEqual([1, 4]);
      expect(writes).toEqual([1, 4]);
      expect(positions.map((call) => call.map(({ partition, offset }) => [partition, offset]))).toEqual([
        [[0, 1]],
        [
          [1, 0],
          [0, 2],
        ],
        [[0, 3]],
      ]);
    } finally {
      await appender.close();
    }
  });
});
