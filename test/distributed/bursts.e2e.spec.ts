// Four instances take a burst of messages for one room at once — every
// instance a quarter, each client retrying some of its messages on another
// instance, as a client does after a timeout — and the log holds exactly one
// message event per message, seqs 1..n without a gap or a repeat, each retry
// answered with the message it first created. Checked where an analyst would
// look (`parley replay` of the events topic) and in the read model.
//
// 8,000 messages in `npm test` (about a minute here); the full 50,000 of the
// reliability plan with PARLEY_TEST_BURST_MESSAGES=50000 (about five minutes
// on two cores: `npx vitest run test/distributed/bursts.e2e.spec.ts`).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRoom, eventually } from '../support/chat.ts';
import { parleyOutput } from '../support/cli.ts';
import { registerUser, request, type TestUser } from '../support/client.ts';
import { stackAvailable, startCluster, type Cluster } from '../support/cluster.ts';

const instances = 4;
const total = instances * Math.ceil(Number(process.env.PARLEY_TEST_BURST_MESSAGES ?? 8_000) / instances);
/** Requests each instance's clients keep in flight. */
const inFlightPerInstance = 24;
/** One message in this many is sent a second time, on the next instance. */
const retryEvery = 20;

/** `parley replay` of the room's message_sent events, as JSON lines. */
async function replayedMessageEvents(env: Record<string, string>, roomId: string): Promise<{ data: { seq: number } }[]> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-bursts-')), 'events.jsonl');
  await parleyOutput(['replay', '--no-progress', '--type', 'message_sent', '--aggregate', `room:${roomId}`, '--out', out], {
    LOG_LEVEL: 'warn',
    ...env,
  });
  const lines = fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return lines.map((line) => JSON.parse(line) as { data: { seq: number } });
}

describe.runIf(await stackAvailable('bursts'))(`${instances} instances, a burst of ${total} messages for one room`, () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster('bursts', instances);
  }, 240_000);
  afterAll(() => cluster.stop());

  test('exactly one event per message, seqs gapless, retries answered with the first message', { timeout: 900_000 }, async () => {
    const url = (i: number) => cluster.nodes[i % instances]!.url;
    const senders: TestUser[] = [];
    for (let i = 0; i < instances; i++) senders.push(await registerUser(url(i), `burst${i}`));
    const roomId = await createRoom(url(0), senders[0]!, senders.slice(1), 'bursts');

    const post = (instance: number, sender: TestUser, clientMsgId: string) =>
      request<{ id: string; seq: number }>(url(instance), 'POST', `/api/v1/rooms/${roomId}/messages`, {
        token: sender.token,
        body: { client_msg_id: clientMsgId, content: `burst ${clientMsgId}` },
      });

    const failures: string[] = [];
    const retriedDifferently: string[] = [];
    const perInstance = total / instances;
    await Promise.all(
      Array.from({ length: instances }, async (_, instance) => {
        const sender = senders[instance]!;
        let next = 0;
        // A pool of clients per instance: each takes the next message until none is left.
        await Promise.all(
          Array.from({ length: inFlightPerInstance }, async () => {
            while (next < perInstance) {
              const n = next++;
              const clientMsgId = `i${instance}-m${n}`;
              const first = await post(instance, sender, clientMsgId);
              if (first.status !== 201) failures.push(`${clientMsgId}: ${first.status} ${JSON.stringify(first.body)}`);
              if (n % retryEvery === 0) {
                const again = await post(instance + 1, sender, clientMsgId);
                if (again.status !== 201 || again.body.id !== first.body.id || again.body.seq !== first.body.seq) {
                  retriedDifferently.push(`${clientMsgId}: ${first.body.seq} then ${again.status} ${JSON.stringify(again.body)}`);
                }
              }
            }
          }),
        );
      }),
    );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(retriedDifferently.slice(0, 5)).toEqual([]);

    // The log: exactly one message_sent per message, seqs 1..total.
    const events = await replayedMessageEvents(cluster.env, roomId);
    expect(events).toHaveLength(total);
    const seqs = events.map((event) => event.data.seq).sort((a, b) => a - b);
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)).toBe(total);
    expect(new Set(seqs).size).toBe(total);

    // The read model agrees, once the projectors have applied the burst.
    const counted = async () =>
      (
        await cluster.query<{ n: number; distinct_seqs: number; max_seq: number }>(
          'select count(*) as n, count(distinct seq) as distinct_seqs, max(seq) as max_seq from messages where room_id = ?',
          [roomId],
        )
      )[0]!;
    await eventually(async () => (await counted()).n >= total, 'the read model to hold the burst', 60_000);
    expect(await counted()).toEqual({ n: total, distinct_seqs: total, max_seq: total });
  });
});
