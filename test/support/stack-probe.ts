// Whether the distributed stack's servers accept TCP connections, asked once
// when vitest loads its configuration: the e2e-distributed project runs only
// when they do (or fails the run under PARLEY_REQUIRE_INFRA=1). Each suite
// still probes what it uses properly (infra.ts); this only decides whether a
// whole project is worth starting.

import net from 'node:net';
import { testMysqlUrl } from './engines.ts';
import { testKafkaBrokers, testRedisUrl } from './infra.ts';

function accepts(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const hostPort = (url: string, defaultPort: number): [string, number] => {
  const { hostname, port } = new URL(url);
  return [hostname, port === '' ? defaultPort : Number(port)];
};

/** The servers of the stack that do not accept connections, by name (empty: all up). */
export async function unreachableStackServers(): Promise<string[]> {
  const [kafkaHost = '127.0.0.1', kafkaPort = '9092'] = testKafkaBrokers[0]!.split(':');
  const servers: [string, [string, number]][] = [
    [`Kafka at ${testKafkaBrokers[0]}`, [kafkaHost, Number(kafkaPort)]],
    [`MySQL/MariaDB at ${testMysqlUrl}`, hostPort(testMysqlUrl, 3306)],
    [`Redis at ${testRedisUrl}`, hostPort(testRedisUrl, 6379)],
  ];
  const up = await Promise.all(servers.map(([, [host, port]]) => accepts(host, port)));
  return servers.filter((_, i) => !up[i]).map(([name]) => name);
}
