// Parley on the distributed stack (--mode distributed): Kafka, MySQL/MariaDB,
// Redis and the schema registry of `npm run stack:up`, two kinds of instance:
//
//   core        one instance with every role (api, processor, projector,
//               gateway), started once per scenario and not pinned: it takes
//               the commands, decides them and projects them. End to end posts
//               to it (instance A).
//   under test  per run, a gateway-only instance (PARLEY_ROLES=gateway) pinned
//               to the server CPU like every other server: its CPU is the
//               fan-out alone, which is what the fan-out and idle targets are
//               about. End to end's receivers connect to it (instance B).
//
// The population lives in its own Kafka topic namespace and MySQL database,
// registered over REST once and reused while the fixture key (migrations,
// schemas, domain) is unchanged and its tokens are fresh; the instances share
// an RS256 key generated with it. Kafka, MariaDB and the registry run on the
// same two CPUs as everything else, unpinned: their CPU shows in the tables'
// "other processes" column, not in the server's.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import mysql from 'mysql2/promise';
import { fixtureKey, registerPopulation, type Population } from './fixture.ts';
import type { Profiler } from './perf-record.ts';
import { profiling, repoRoot, startServer, type RunningServer, type ServerOptions } from './targets.ts';

const stateFile = path.join(repoRoot, 'bench/.distributed/state.json');
const MAX_AGE_MS = 6 * 24 * 3600 * 1000; // tokens live 7 days (parleyEnv)
const CORE_READY_TIMEOUT_MS = 90_000;
const PROBE_TIMEOUT_MS = 15_000;

/** Where the stack is; the defaults are scripts/stack.sh's. */
const stack = {
  kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  mysqlUrl: process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306',
  /** A Redis database of the benchmarks' own (presence leases, rate limits). */
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/12',
  registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
};

interface SavedState {
  key: string;
  createdAt: number;
  namespace: string;
  database: string;
  privateKeyPem: string;
  population: Population;
}

export interface DistributedParley {
  population: Population;
  core: RunningServer;
  /** Options for a gateway-only instance (hand to withServer / startServer). */
  gatewayOptions(): ServerOptions;
  stop(): Promise<void>;
}

/** Starts the core on the stack (registering the population first when there is no usable one). */
export async function startDistributedParley(options: {
  fresh: boolean;
  log: (line: string) => void;
  /** Profile the core too, into this dir. */
  profileDir?: string;
  profiler?: Profiler;
}): Promise<DistributedParley> {
  const registry = await registryUrl();
  let state = options.fresh ? undefined : await reusableState(options.log);
  const fresh = state === undefined;
  if (state === undefined) {
    const suffix = randomBytes(4).toString('hex');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    state = {
      key: fixtureKey(),
      createdAt: Date.now(),
      namespace: `bench-${suffix}`,
      database: `parley_bench_${suffix}`,
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      population: undefined as unknown as Population,
    };
    await mysqlAdmin(`CREATE DATABASE \`${state.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  }
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers,
    DATABASE_URL: `${stack.mysqlUrl.replace(/\/$/, '')}/${state.database}`,
    REDIS_URL: stack.redisUrl,
    PARLEY_LOG_NAMESPACE: state.namespace,
    PARLEY_JWT_PRIVATE_KEY: state.privateKeyPem,
    ...(registry === undefined ? {} : { SCHEMA_REGISTRY_URL: registry }),
  };
  options.log(
    `distributed: core instance on ${state.namespace} / ${state.database}${registry === undefined ? ' (no schema registry)' : ''}`,
  );
  const core = await startServer('parley', {
    env: { ...env, PARLEY_ROLES: process.env.BENCH_CORE_ROLES ?? 'api,processor,projector,gateway' },
    ...profiling(options.profileDir, options.profiler, 'core'),
  });
  try {
    if (fresh) {
      const started = Date.now();
      options.log('distributed: registering the population over REST (cached afterwards)…');
      state.population = await registerPopulation(`http://${core.host}:${core.port}`, options.log);
      fs.mkdirSync(path.dirname(stateFile), { recursive: true });
      fs.writeFileSync(stateFile, JSON.stringify(state));
      options.log(`distributed: population registered in ${Math.round((Date.now() - started) / 1000)} s`);
    }
    await untilCommandsFlow(core, state.population, options.log);
  } catch (error) {
    await core.stop();
    throw error;
  }
  const population = state.population;
  return {
    population,
    core,
    gatewayOptions: () => ({ env: { ...env, PARLEY_ROLES: 'gateway' } }),
    stop: () => core.stop(),
  };
}

/**
 * A core that just started has to join the processor's and projector's
 * consumer groups before it decides anything; until then every message would
 * wait (or time out) and the first phase would measure the rebalance. Posts a
 * probe message to a club room until one is accepted.
 */
async function untilCommandsFlow(core: RunningServer, population: Population, log: (line: string) => void): Promise<void> {
  const room = population.clubs.at(-1)!;
  const token = population.users[room.members[0]!]!.token;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`http://${core.host}:${core.port}/api/v1/rooms/${room.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ client_msg_id: `probe-${Date.now()}-${attempt}`, content: 'bench probe' }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    }).catch(() => undefined);
    if (response?.status === 201) break;
    if (Date.now() - started > CORE_READY_TIMEOUT_MS)
      throw new Error(`the core accepted no message within ${CORE_READY_TIMEOUT_MS / 1000} s`);
  }
  log(`distributed: core accepts messages (${Date.now() - started} ms after start)`);
}

/** The saved state when its key matches, its tokens are fresh, and its database and topics still exist. */
async function reusableState(log: (line: string) => void): Promise<SavedState | undefined> {
  if (!fs.existsSync(stateFile)) return undefined;
  const saved = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SavedState;
  const stale = async (why: string) => {
    log(`distributed: saved population not usable (${why}); registering a new one`);
    await Promise.all([dropDatabase(saved.database), deleteTopics(saved.namespace)]);
    return undefined;
  };
  if (saved.key !== fixtureKey()) {
    await stale('the code that decides its format changed');
    return;
  }
  if (Date.now() - saved.createdAt > MAX_AGE_MS) {
    await stale('its tokens are about to expire');
    return;
  }
  const [databases] = await mysqlAdmin(`SHOW DATABASES LIKE '${saved.database}'`);
  if ((databases as unknown[]).length === 0) {
    await stale('its database is gone');
    return;
  }
  if ((await eventsOnKafka(saved.namespace)) === 0) {
    await stale('its topics are gone');
    return;
  }
  return saved;
}

async function withKafkaAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const kafka = new Kafka({ brokers: stack.kafkaBrokers.split(','), clientId: 'parley-bench', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

const eventsOnKafka = (namespace: string): Promise<number> =>
  withKafkaAdmin(async (admin) => {
    const topic = `${namespace}.parley.events`;
    if (!(await admin.listTopics()).includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  });

const deleteTopics = (namespace: string): Promise<void> =>
  withKafkaAdmin(async (admin) => {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  }).catch(() => undefined);

async function registryUrl(): Promise<string | undefined> {
  try {
    const response = await fetch(`${stack.registryUrl}/subjects`, { signal: AbortSignal.timeout(2_000) });
    return response.ok ? stack.registryUrl : undefined;
  } catch {
    return undefined;
  }
}

async function dropDatabase(name: string): Promise<void> {
  await mysqlAdmin(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => undefined);
}

async function mysqlAdmin(statement: string) {
  const connection = await mysql.createConnection({ uri: stack.mysqlUrl, connectTimeout: 3_000 });
  try {
    return await connection.query(statement);
  } finally {
    await connection.end();
  }
}
