// Fault: MariaDB (the read models) stops for a few seconds while messages
// flow, then starts again. Kafka is the log, so commands are still decided and
// appended. A WebSocket ACK is answered from the event stream, so sockets keep
// chatting; a REST response waits for the read model (read-your-writes) and
// fails (5xx) while it is gone. Clients retry with the same client_msg_id;
// a retry of a message that was already appended finds the first one. After
// the restart every acknowledged message is in the read model exactly once.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { ChatLoad, chatSetup, checkInvariants, stopCluster } from './harness.ts';
import { restoreStack, startMariadb, stopMariadb } from './stack.ts';

const available = await stackAvailable('faults: MariaDB outage');
const outageMs = 5_000;

describe.runIf(available)('fault: MariaDB stops mid-flow and starts again', () => {
  let cluster: Cluster | undefined;
  let load: ChatLoad | undefined;

  beforeAll(async () => {
    cluster = await startCluster('fault_mariadb', 3);
  });
  afterAll(async () => {
    await load?.close();
    await restoreStack();
    await stopCluster(cluster);
  });

  test('every acknowledged message is stored once, seqs gapless, members get 1..N once', async () => {
    const c = cluster!;
    const setup = await chatSetup(c);
    load = new ChatLoad(c, { users: setup.plan });
    await load.start();
    await load.progress(60, 60_000, 'acks before the fault');

    load.mark('MariaDB shutdown');
    let back: number;
    try {
      await stopMariadb();
      load.mark('MariaDB down');
      const before = load.acks.length;
      await new Promise((resolve) => setTimeout(resolve, outageMs));
      const whileDown = load.acks.slice(before);
      console.info(
        `[faults] acks while MariaDB was down: ${whileDown.length} ` +
          `(ws ${whileDown.filter((ack) => ack.via === 'ws').length}, rest ${whileDown.filter((ack) => ack.via === 'rest').length})`,
      );
      // A WebSocket ACK comes from the event stream, not the read model: chat
      // goes on over sockets while the read models are down.
      expect(
        whileDown.some((ack) => ack.via === 'ws'),
        'WS messages acknowledged while MariaDB was down',
      ).toBe(true);
      load.mark('MariaDB start');
    } finally {
      await startMariadb();
      back = Date.now();
      load.mark('MariaDB answers');
    }
    await load.progress(60, 180_000, 'acks after MariaDB is back');
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    console.info(
      `[faults] MariaDB outage\n${load.summary()}\nfirst ack after MariaDB answered: +${load.firstAckAfter(back)} ms\n` +
        `violations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(problems).toEqual([]);
  });
});
