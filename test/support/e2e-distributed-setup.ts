// Global setup of the e2e-distributed project (vitest.config.ts): after the
// run, removes every deployment the distributed mode created (modes.ts) — its
// databases, topics and Redis keys — so runs do not pile up on the stack.

import { Kafka, logLevel } from 'kafkajs';
import '../../src/log/kafka/kafkajs-patches.ts';
import mysql from 'mysql2/promise';
import { testMysqlUrl } from './engines.ts';
import { deleteRedisPrefix, testKafkaBrokers, testRedisClient } from './infra.ts';
import { distributedE2eNames } from './modes.ts';

export default function setup(): () => Promise<void> {
  return async function teardown() {
    await Promise.all([dropDatabases(), deleteTopics(), deleteRedisKeys()]);
  };
}

async function dropDatabases(): Promise<void> {
  const connection = await mysql.createConnection({ uri: testMysqlUrl });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SHOW DATABASES LIKE ?', [
      `${distributedE2eNames.databasePrefix.replace(/_/g, '\\_')}%`,
    ]);
    for (const row of rows) await connection.query(`DROP DATABASE \`${String(Object.values(row)[0])}\``);
  } finally {
    await connection.end();
  }
}

async function deleteTopics(): Promise<void> {
  const admin = new Kafka({ clientId: 'parley-e2e-teardown', brokers: testKafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(distributedE2eNames.namespacePrefix));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 60_000 });
  } finally {
    await admin.disconnect();
  }
}

async function deleteRedisKeys(): Promise<void> {
  const redis = testRedisClient();
  try {
    await deleteRedisPrefix(redis, distributedE2eNames.redisKeyPrefix);
  } finally {
    redis.disconnect();
  }
}
