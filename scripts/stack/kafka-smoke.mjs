// Compatibility smoke test for kafkajs against the local broker.
// Exercises what Parley's Kafka adapter relies on: admin createTopics,
// an idempotent producer (acks=-1), a consumer group that joins, fetches
// and commits, then fetching the committed offsets back. It uses a throwaway
// topic (never a Parley topic) and deletes it at the end.
//
// Usage: node scripts/stack/kafka-smoke.mjs [brokers]   (default 127.0.0.1:9092)
// Exit code 0 = everything worked; otherwise the failing step is printed.
import { Kafka, Partitioners, logLevel } from 'kafkajs';

const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = `stack-smoke-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const groupId = `${topic}-group`;
const kafka = new Kafka({ clientId: 'parley-stack-smoke', brokers, logLevel: logLevel.WARN });

let step = 'start';
const admin = kafka.admin();
const producer = kafka.producer({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
});
const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
const t0 = Date.now();
const log = (msg) => console.log(`[${String(Date.now() - t0).padStart(5)} ms] ${msg}`);

const withTimeout = (p, ms, what) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms))]);

try {
  step = 'admin.connect';
  await admin.connect();
  step = 'admin.createTopics';
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] });
  log(`created topic ${topic}`);

  step = 'producer.send (idempotent, acks=-1)';
  await producer.connect();
  const N = 30;
  const messages = Array.from({ length: N }, (_, i) => ({ key: `k${i % 5}`, value: `v${i}`, headers: { type: 'smoke' } }));
  const res = await producer.send({ topic, acks: -1, messages });
  log(`produced ${N} messages: ${JSON.stringify(res.map((r) => [r.partition, r.baseOffset]))}`);

  step = 'consumer group join + fetch';
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  const done = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic: t, partition, message }) => {
        seen += 1;
        step = 'consumer.commitOffsets';
        await consumer.commitOffsets([{ topic: t, partition, offset: String(Number(message.offset) + 1) }]);
        if (seen === N) resolve();
      },
    });
  });
  await withTimeout(done, 30000, `consuming ${N} messages (saw ${seen})`);
  log(`consumed ${seen} messages and committed each`);

  step = 'admin.fetchOffsets';
  await consumer.stop();
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
  const committed = offsets[0].partitions.reduce((a, p) => a + Number(p.offset), 0);
  if (committed !== N) throw new Error(`committed offsets sum to ${committed}, expected ${N}`);
  log(`committed offsets read back: ${JSON.stringify(offsets[0].partitions.map((p) => [p.partition, p.offset]))}`);

  step = 'admin.describeGroups';
  const groups = await admin.describeGroups([groupId]);
  log(`group state: ${groups.groups[0].state}`);

  step = 'transactions (commit, sendOffsets, abort)';
  const txProducer = kafka.producer({
    transactionalId: `${topic}-tx`,
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await txProducer.connect();
  const committedTx = await txProducer.transaction();
  await committedTx.send({ topic, acks: -1, messages: [{ key: 'tx', value: 'committed' }] });
  await committedTx.sendOffsets({
    consumerGroupId: `${groupId}-tx`,
    topics: [{ topic, partitions: [{ partition: 0, offset: '1' }] }],
  });
  await committedTx.commit();
  const abortedTx = await txProducer.transaction();
  await abortedTx.send({ topic, acks: -1, messages: [{ key: 'tx', value: 'aborted' }] });
  await abortedTx.abort();
  await txProducer.disconnect();
  log('committed one transaction (with sendOffsets) and aborted another');

  step = 'read_committed consumer';
  const txConsumer = kafka.consumer({ groupId: `${groupId}-rc`, readUncommitted: false });
  await txConsumer.connect();
  await txConsumer.subscribe({ topic, fromBeginning: true });
  const txValues = [];
  let total = 0;
  const sawAll = new Promise((resolve) => {
    txConsumer.run({
      eachMessage: async ({ message }) => {
        total += 1;
        if (message.key?.toString() === 'tx') txValues.push(message.value.toString());
        if (total === N + 1) setTimeout(resolve, 1000); // linger: an aborted record would show up now
      },
    });
  });
  await withTimeout(sawAll, 30000, `read_committed consumer (saw ${total})`);
  await txConsumer.disconnect();
  if (txValues.join() !== 'committed') throw new Error(`read_committed saw ${JSON.stringify(txValues)}, expected ["committed"]`);
  log(`read_committed consumer saw ${total} records, only the committed transaction's`);

  step = 'cleanup';
  await consumer.disconnect();
  await admin.deleteGroups([`${groupId}-tx`, `${groupId}-rc`]).catch(() => {});
  await admin.deleteGroups([groupId]).catch(() => {});
  await admin.deleteTopics({ topics: [topic] });
  log('deleted topic; kafkajs smoke test OK');
  await producer.disconnect();
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`kafkajs smoke test FAILED at step "${step}": ${err?.name}: ${err?.message}`);
  if (err?.type) console.error(`  kafka error type: ${err.type}`);
  process.exit(1);
}
