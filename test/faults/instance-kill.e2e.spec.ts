// Fault: SIGKILL one Parley instance while messages flow, then start it again.
// The victim is the instance whose processor owns room 0's partition, so the
// kill also moves that partition (commands in flight included) to another
// instance. Its clients reconnect elsewhere and resume with since_seq; REST
// senders move to the next instance and retry with the same client_msg_id.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import { ChatLoad, chatSetup, checkInvariants, postOnce, stopCluster, writerOf } from './harness.ts';
import { restoreStack } from './stack.ts';

const available = await stackAvailable('faults: instance kill');

describe.runIf(available)('fault: an instance is killed (SIGKILL) mid-flow and restarted', () => {
  let cluster: Cluster | undefined;
  let load: ChatLoad | undefined;

  beforeAll(async () => {
    cluster = await startCluster('fault_kill', 3);
  });
  afterAll(async () => {
    await load?.close();
    await stopCluster(cluster);
    await restoreStack();
  });

  test('every acknowledged message is stored once, seqs stay gapless, every member gets 1..N once', async () => {
    const c = cluster!;
    const setup = await chatSetup(c);
    const probe = await postOnce(c.nodes[1]!, setup.users[0]!, setup.rooms[0]!, 'owner-probe');
    expect(probe.status).toBe(201);
    const owner = await writerOf(c, setup.rooms[0]!);
    const room1Owner = await writerOf(c, setup.rooms[1]!);

    load = new ChatLoad(c, { users: setup.plan });
    // The probe is an acknowledged message of the room like any other.
    load.attempted.set(`${setup.users[0]!.id}/owner-probe`, {
      roomId: setup.rooms[0]!,
      senderId: setup.users[0]!.id,
      clientMsgId: 'owner-probe',
    });
    load.record(probe.body, setup.users[0]!.id, 'owner-probe', probe.node, 'rest');
    await load.start();
    await load.progress(60, 60_000, 'acks before the fault');

    load.mark(`SIGKILL instance ${owner.node} (owner of room 0's partition)`);
    const killedAt = Date.now();
    await c.nodes[owner.node]!.kill();
    await load.progress(40, 120_000, 'acks while the instance is down');
    const firstAfterKill = [load.firstAckAfter(killedAt, setup.rooms[0]), load.firstAckAfter(killedAt, setup.rooms[1])];

    load.mark(`restart instance ${owner.node}`);
    await c.restart(owner.node, 'kill');
    // Two users move to whatever instance comes next (the restarted one is among them).
    for (const user of load.users.slice(0, 3)) user.dropSocket();
    await load.progress(60, 120_000, 'acks after the restart');
    await load.stop();

    const problems = await checkInvariants(load, setup.rooms, setup.reader);
    console.info(
      `[faults] instance kill\n${load.summary()}\nroom 1 owned by instance ${room1Owner.node}; first ack after the kill: room 0 +${firstAfterKill[0]} ms, room 1 +${firstAfterKill[1]} ms\nviolations: ${problems.length}\n${problems.join('\n')}`,
    );
    expect(problems).toEqual([]);
  });
});
