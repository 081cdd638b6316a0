// Readiness probe used by scripts/stack.sh: one metadata round trip with
// kafkajs (the client Parley uses), so "ready" means "kafkajs can talk to it",
// not merely "the port is open" (in KRaft the listener opens before the broker
// is unfenced and able to serve metadata).
//
// Usage: node scripts/stack/kafka-ready.mjs [brokers]
// Prints one line "cluster=<id> brokers=<n> controller=<id> topics=<n>" and
// exits 0 when the broker answers; exits 1 (with the reason on stderr) if not.
// One attempt only, no retries: the caller owns the retry loop and deadline.
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.argv[2] ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const kafka = new Kafka({
  clientId: 'parley-stack-probe',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 2000,
  requestTimeout: 5000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  if (cluster.brokers.length === 0) throw new Error('no broker registered yet');
  const topics = await admin.listTopics();
  console.log(
    `cluster=${cluster.clusterId} brokers=${cluster.brokers.length} controller=${cluster.controller} topics=${topics.length}`,
  );
  await admin.disconnect();
  process.exit(0);
} catch (err) {
  console.error(`not ready: ${err?.name ?? 'Error'}: ${err?.message ?? err}`);
  process.exit(1);
}
