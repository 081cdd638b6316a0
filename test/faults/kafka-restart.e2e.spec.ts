// Fault: the Kafka broker restarts while messages flow — cleanly
// (`scripts/stack.sh restart-kafka`, SIGTERM) and as a crash (`--kill`,
// SIGKILL: the next start runs log recovery). Kafka is the log, so nothing
// can be acknowledged while it is gone; sends wait or fail (503) and clients
// retry with the same client_msg_id. Afterwards every acknowledged message is
// in the log and the read model once and every member got each once.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { ChatLoad, chatSetup, checkInvariants, stopCluster } from './harness.ts';
import { restartKafka, restoreStack } from './stack.ts';

const available = await stackAvailable('faults: Kafka restart');

describe.runIf(available)('fault: Kafka restarts mid-flow', () => {
  let cluster: Cluster | undefined;
  const loads: ChatLoad[] = [];

  beforeAll(async () => {
    cluster = await startCluster('fault_kafka', 3);
  });
  afterAll(async () => {
    for (const load of loads) await load.close();
    await stopCluster(cluster);
    await restoreStack();
  });

  for (const how of ['term', 'kill'] as const) {
    test(`restart-kafka${how === 'kill' ? ' --kill' : ''}: every acknowledged message is stored once, seqs gapless, members get 1..N once`, async () => {
      const c = cluster!;
      const setup = await chatSetup(c);
      const load = new ChatLoad(c, { users: setup.plan });
      loads.push(load);
      await load.start();
      await load.progress(60, 60_000, 'acks before the fault');

      load.mark(`restart-kafka ${how}`);
      const restarting = Date.now();
      try {
        const result = await restartKafka(how);
        load.mark('Kafka answers again');
        console.info(`[faults] restart-kafka ${how}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      } finally {
        await restoreStack();
      }
      const back = Date.now();
      await load.progress(60, 180_000, 'acks after Kafka is back');
      await load.stop();

      const problems = await checkInvariants(load, setup.rooms, setup.reader);
      console.info(
        `[faults] Kafka restart (${how})\n${load.summary()}\n` +
          `Kafka down→up took ${back - restarting} ms; first ack after it answered: +${load.firstAckAfter(back)} ms\n` +
          `violations: ${problems.length}\n${problems.join('\n')}`,
      );
      expect(problems).toEqual([]);
    });
  }
});
