// Fault: the processor that owns a room's partition freezes (SIGSTOP, like a
// long GC pause) for longer than the group's session timeout. Kafka hands the
// partition to another instance, which restores the room from the log and
// goes on accepting messages for it. Then the frozen one resumes (SIGCONT)
// believing it still owns the partition: commands it had fetched before the
// freeze are decided on its stale state and appended — a zombie writer.
//
// Fencing (src/log/fencing.ts): each event carries the offset its writer
// expected; a zombie's events land elsewhere, every reader skips them, and
// the zombie answers no client. Checked on the events log itself (`parley
// replay --include-stale`): the accepted message_sent seqs of the room are
// exactly 1..N (no seq used twice), every event is flagged stale exactly when
// it landed away from its expected offset, every acknowledgement — the
// resumed instance's included — names an accepted event with the same seq,
// and the read model equals the accepted log.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';
import type { ParleyProcess } from '../support/server.ts';
import { ChatLoad, chatSetup, checkInvariants, checkRoomLog, postOnce, stopCluster, within, writerOf } from './harness.ts';
import { restoreStack } from './stack.ts';

const available = await stackAvailable('faults: fencing');
const sessionTimeoutMs = 6_000;

describe.runIf(available)(
  'fault: the owner of a partition is paused past the session timeout, then resumes (zombie writer)',
  () => {
    let cluster: Cluster | undefined;
    let load: ChatLoad | undefined;
    let paused: ParleyProcess | undefined;

    beforeAll(async () => {
      cluster = await startCluster('fault_fencing', 3, { PARLEY_KAFKA_SESSION_TIMEOUT_MS: String(sessionTimeoutMs) });
    });
    afterAll(async () => {
      if (paused !== undefined && paused.child.exitCode === null) paused.child.kill('SIGCONT');
      await load?.close();
      await stopCluster(cluster);
      await restoreStack();
    });

    test('no seq is used twice, no acknowledged message is missing, the zombie acknowledges nothing outside the accepted log', async () => {
      const c = cluster!;
      const setup = await chatSetup(c);
      const room = setup.rooms[0]!;
      const probe = await postOnce(c.nodes[0]!, setup.users[0]!, room, 'owner-probe');
      expect(probe.status).toBe(201);
      const owner = await writerOf(c, room);
      const zombie = c.nodes[owner.node]!;

      load = new ChatLoad(c, { users: setup.plan });
      load.attempted.set(`${setup.users[0]!.id}/owner-probe`, {
        roomId: room,
        senderId: setup.users[0]!.id,
        clientMsgId: 'owner-probe',
      });
      load.record(probe.body, setup.users[0]!.id, 'owner-probe', probe.node, 'rest');
      await load.start();
      await load.progress(60, 60_000, 'acks before the fault');

      // Freeze the owner while commands for the room are flowing: its fetch
      // parked at the broker is answered with them and waits in its socket.
      load.mark(`SIGSTOP instance ${owner.node} (owner of room 0's partition, writer ${owner.writer})`);
      paused = zombie;
      zombie.child.kill('SIGSTOP');
      const stoppedAt = Date.now();
      load.avoid.add(zombie);
      const extra: Promise<void>[] = [];
      // A burst for the room through the others…
      for (let i = 0; i < 8; i++) extra.push(load.users[i % 4]!.send(room, `${load.tag}-burst-${i}`, 'rest'));
      // …and requests to the frozen instance itself, which it serves once it
      // resumes (clients that do not know it froze; they retry elsewhere on failure).
      for (let i = 0; i < 4; i++) extra.push(load.users[i]!.send(room, `${load.tag}-to-zombie-${i}`, 'rest', zombie));

      // The others take over: the room keeps getting acknowledged while it is frozen.
      const roomAcks = () => load!.acks.filter((a) => a.roomId === room && a.at > stoppedAt).length;
      await within(
        90_000,
        'room 0 acknowledged by the other instances while the owner is frozen',
        () => roomAcks() >= 20,
        () => load!.summary(),
      );
      await within(
        sessionTimeoutMs + 5_000,
        'longer than the session timeout',
        () => Date.now() - stoppedAt > sessionTimeoutMs + 2_000,
      );
      const newOwner = await writerOf(c, room);
      const acksWhileFrozen = roomAcks();

      load.mark(`SIGCONT instance ${owner.node} (frozen ${Date.now() - stoppedAt} ms)`);
      zombie.child.kill('SIGCONT');
      paused = undefined;
      load.avoid.delete(zombie);
      await Promise.all(extra);
      await load.progress(60, 120_000, 'acks after the resume');
      await load.stop();

      const problems = await checkInvariants(load, setup.rooms, setup.reader);
      const logCheck = await checkRoomLog(load, room);
      const staleWarnings = zombie.logs.filter(
        (l) => typeof l.msg === 'string' && l.msg.includes('events landed at unexpected offsets'),
      ).length;
      const fromZombie = load.acks.filter((a) => a.node === zombie.url).length;
      console.info(
        `[faults] fencing\n${load.summary()}\n` +
          `owner of room 0: instance ${owner.node}; while frozen the room's writer became instance ${newOwner.node} (${newOwner.writer}); ` +
          `room 0 acks while frozen: ${acksWhileFrozen}; acks answered by the resumed instance: ${fromZombie}\n` +
          `${logCheck.account}\nStaleWriter warnings of the resumed instance: ${staleWarnings}\n` +
          `violations: ${problems.length + logCheck.problems.length}\n${[...problems, ...logCheck.problems].join('\n')}`,
      );
      expect(newOwner.node, 'another instance wrote the room while the owner was frozen').not.toBe(owner.node);
      expect(logCheck.problems).toEqual([]);
      expect(problems).toEqual([]);
    });
  },
);
