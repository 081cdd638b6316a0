// Parley on Kafka with a Confluent-compatible schema registry: events go to
// the log in the Confluent wire format (magic byte, schema id, Avro body) and
// everything downstream — projections, gateway, replay — reads them.

import { beforeAll, describe, expect, test } from 'vitest';
import { createKafkaLog } from '../../src/log/kafka-log.ts';
import { namespacedLog } from '../../src/log/namespaced-log.ts';
import { headers, topicSpecs, topics } from '../../src/log/topics.ts';
import { acceptInvitations } from '../support/chat.ts';
import { registerUser, request, WsClient } from '../support/client.ts';
import { stackAvailable, startCluster, testKafkaBrokers, type Cluster } from '../support/cluster.ts';
import { schemaRegistryAvailable } from '../support/infra.ts';
import type { Room } from '../support/wire.ts';

const registryUrl = await schemaRegistryAvailable('registry end to end');
const available = registryUrl !== undefined && (await stackAvailable('registry end to end'));

describe.runIf(available)('with SCHEMA_REGISTRY_URL', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('registry', 1, { SCHEMA_REGISTRY_URL: registryUrl! });
    return () => cluster.stop();
  }, 180_000);

  test('events are Confluent-framed on Kafka and still flow to queries and sockets', async () => {
    const node = cluster.nodes[0]!;
    const [alice, bob] = [await registerUser(node.url, 'reg'), await registerUser(node.url, 'reg')];
    const room = await request<Room>(node.url, 'POST', '/api/v1/rooms', {
      token: alice.token,
      body: { name: 'r', member_ids: [bob.id] },
    });
    expect(room.status).toBe(201);
    await acceptInvitations(node.url, room.body.id, [bob]);
    const bobWs = await WsClient.connect(node.wsUrl, bob.token);
    const posted = await request(node.url, 'POST', `/api/v1/rooms/${room.body.id}/messages`, {
      token: alice.token,
      body: { client_msg_id: 'c1', content: 'framed ✓' },
    });
    expect(posted.status).toBe(201);
    expect((await bobWs.next((f) => f.type === 'NEW_MESSAGE')).data.content).toBe('framed ✓');
    await bobWs.close();

    const log = namespacedLog(
      createKafkaLog({ brokers: testKafkaBrokers, clientId: 'parley-test-reader' }),
      cluster.env.PARLEY_LOG_NAMESPACE!,
    );
    try {
      const key = `room:${room.body.id}`;
      // Existing topics are left as they are; this loads their metadata.
      await log.ensureTopics(
        topicSpecs({ partitions: Number(cluster.env.PARLEY_PARTITIONS), commandsRetentionMs: 1, signalsRetentionMs: 1 }),
      );
      const partition = log.partitionForKey(topics.events, key);
      const records = (await log.read(topics.events, partition, 0, 10_000)).filter((r) => r.key === key);
      const sent = records.find((r) => r.headers[headers.eventType] === 'message_sent');
      expect(sent, 'the message_sent event on Kafka').toBeDefined();
      // Confluent wire format: magic byte 0, then a 4-byte schema id.
      expect(sent!.value[0]).toBe(0);
      expect(sent!.value.readUInt32BE(1)).toBeGreaterThan(0);
    } finally {
      await log.close();
    }
  });
});
