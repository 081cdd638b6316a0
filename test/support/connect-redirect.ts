// Preloaded into a Parley process under test (`node --import`, see
// proxiedClusterEnv in network-proxies.ts) so that its TCP connections to one
// address go to another: PARLEY_TEST_CONNECT_REDIRECT="127.0.0.1:9092=127.0.0.1:40123,…".
//
// Why: a Kafka client asks the bootstrap broker for the cluster's metadata and
// then connects to the address each broker *advertises* (127.0.0.1:9092 for
// the shared broker), so a proxy given as KAFKA_BROKERS would only see the
// bootstrap. Redirecting the advertised address in the process under test
// puts every Kafka connection through the fault proxy without touching the
// shared broker or Parley's code. kafkajs opens its sockets with
// `net.connect({ host, port })` (kafkajs/src/network/socketFactory.js), looked
// up on the module object at each call, so replacing it here is enough.

import net from 'node:net';

const rules = new Map(
  (process.env.PARLEY_TEST_CONNECT_REDIRECT ?? '')
    .split(',')
    .filter((rule) => rule.includes('='))
    .map((rule) => rule.split('=') as [string, string]),
);

if (rules.size > 0) {
  const original = net.connect;
  const redirected = function (this: unknown, ...args: unknown[]) {
    const [first] = args;
    if (typeof first === 'object' && first !== null && 'port' in first) {
      const options = first as net.TcpNetConnectOpts;
      const target = rules.get(`${options.host ?? 'localhost'}:${options.port}`);
      if (target !== undefined) {
        const at = target.lastIndexOf(':');
        args[0] = { ...options, host: target.slice(0, at), port: Number(target.slice(at + 1)) };
      }
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.connect;
  net.connect = redirected;
  net.createConnection = redirected;
}
