// The poison-events scenario (issue 17, item 4), run against a real Parley in
// both modes: test/e2e/poison-events.e2e.spec.ts (node:sqlite log, SQLite
// read models) and test/distributed/poison-events.e2e.spec.ts (Kafka,
// MariaDB). The test plays the broken writer: it appends to the server's own
// events log, through the same adapters and configuration the server uses,
// one record no codec can read and one valid event whose row the read-model
// database refuses. What it checks is what an operator and a user see:
// history over REST, /readyz, the server's log and `parley dlq`.

import type { Selectable } from 'kysely';
import pino from 'pino';
import { expect } from 'vitest';
import { openEventCodec, openLogWithTopics, openMigratedStore } from '../../src/compose.ts';
import { loadConfig } from '../../src/config.ts';
import type { Log } from '../../src/log/port.ts';
import { headers, topics } from '../../src/log/topics.ts';
import type { DeadLettersTable } from '../../src/store/schema.ts';
import { createRoom, eventually, fullHistory } from './chat.ts';
import { runParley, type CliResult } from './cli.ts';
import { registerUser, request, type TestUser } from './client.ts';

export interface PoisonTarget {
  /** The running server's base URL. */
  url: string;
  /** The environment the server runs with (PARLEY_DATA_DIR, KAFKA_BROKERS, DATABASE_URL …). */
  env: Record<string, string>;
  /** The server's structured log lines so far. */
  logs: readonly Record<string, unknown>[];
}

/** What `parley dlq list --json` prints per parked event. */
type DeadLetterRow = Pick<
  Selectable<DeadLettersTable>,
  'id' | 'projection' | 'topic' | 'partition' | 'offset' | 'event_type' | 'error_code' | 'status' | 'attempts'
>;

/** `parley …args` as an operator runs it, with the server's environment. */
export const parley = (env: Record<string, string>, args: string[]): Promise<CliResult> =>
  runParley(args, { LOG_LEVEL: 'warn', ...env });

async function dlqList(env: Record<string, string>): Promise<DeadLetterRow[]> {
  const listed = await parley(env, ['dlq', 'list', '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as DeadLetterRow[];
}

const roomKey = (roomId: string) => `room:${roomId}`;

/** Creates rooms until two sit in different partitions of the events log. */
async function twoRoomsApart(url: string, owner: TestUser, member: TestUser, log: Log): Promise<[string, string]> {
  const first = await createRoom(url, owner, [member], 'poisoned');
  const partition = log.partitionForKey(topics.events, roomKey(first));
  for (let i = 0; i < 20; i++) {
    const other = await createRoom(url, owner, [member], `healthy ${i}`);
    if (log.partitionForKey(topics.events, roomKey(other)) !== partition) return [first, other];
  }
  throw new Error('no two rooms in different partitions');
}

async function send(url: string, author: TestUser, roomId: string, content: string) {
  return request(url, 'POST', `/api/v1/rooms/${roomId}/messages`, {
    token: author.token,
    body: { content, client_msg_id: content },
  });
}

const contents = async (url: string, user: TestUser, roomId: string) =>
  (await fullHistory(url, user, roomId)).map((m) => m.content);

export async function poisonScenario(target: PoisonTarget): Promise<void> {
  const { url, env } = target;
  const config = loadConfig({ ...env });
  const logger = pino({ level: 'silent' });
  const log = await openLogWithTopics(config, logger);
  const store = await openMigratedStore(config, logger);
  const codec = await openEventCodec(config);
  try {
    const alice = await registerUser(url, 'poison');
    const bob = await registerUser(url, 'poison');
    const [poisoned, healthy] = await twoRoomsApart(url, alice, bob, log);
    const partition = log.partitionForKey(topics.events, roomKey(poisoned));
    expect((await send(url, alice, poisoned, 'before')).status).toBe(201);

    // 1. A record no codec can read, in the poisoned room's partition.
    const [undecodable] = await log.append(topics.events, [
      {
        key: roomKey(poisoned),
        value: Buffer.from('not avro at all'),
        headers: { [headers.eventType]: 'message_sent' },
      },
    ]);

    // Its partition halts there: a message sent after it is accepted but not readable…
    const stuck = await send(url, alice, poisoned, 'after undecodable');
    expect(stuck.status, JSON.stringify(stuck.body)).toBe(503);
    expect((stuck.body.error as { code: string }).code).toBe('read_model_lagging');
    // …while the other partitions keep flowing.
    expect((await send(url, bob, healthy, 'healthy 1')).status).toBe(201);
    expect(await contents(url, alice, healthy)).toEqual(['healthy 1']);
    expect(await contents(url, alice, poisoned)).toEqual(['before']);

    // Loud: an error line naming the record, /readyz degraded with the detail, `parley dlq list`.
    await eventually(
      () => target.logs.some((l) => l.msg?.toString().startsWith('poison event parked') && l.offset === undecodable!.offset),
      'the park is logged',
    );
    const parkedLine = target.logs.find((l) => l.msg?.toString().startsWith('poison event parked'))!;
    expect(parkedLine).toMatchObject({ level: 50, projection: 'chat', partition, code: 'UNDECODABLE', type: 'message_sent' });
    const ready = await request(url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'degraded',
      dead_letters: {
        open: [{ projection: 'chat', partition, offset: undecodable!.offset, error_code: 'UNDECODABLE', status: 'parked' }],
        parked_by_this_process: 1,
      },
    });
    const [letter] = await dlqList(env);
    expect(letter).toMatchObject({
      projection: 'chat',
      topic: topics.events,
      partition,
      offset: undecodable!.offset,
      event_type: 'message_sent',
      error_code: 'UNDECODABLE',
      status: 'parked',
    });
    const table = await parley(env, ['dlq', 'list']);
    expect(table.stdout).toContain(`${topics.events}[${partition}]@${undecodable!.offset}`);
    // …and the metric an alert watches.
    const openGauge = `parley_dead_letters_open{projection="chat",partition="${partition}"}`;
    expect(await metricsText(url)).toContain(`${openGauge} 1`);

    // `parley dlq skip` moves the projection past it; the waiting message appears.
    const skipped = await parley(env, ['dlq', 'skip', String(letter!.id)]);
    expect(skipped.code, skipped.stdout + skipped.stderr).toBe(0);
    await eventually(
      async () => (await contents(url, alice, poisoned)).includes('after undecodable'),
      'the halted partition goes on after the skip',
      20_000,
    );
    expect(await contents(url, alice, poisoned)).toEqual(['before', 'after undecodable']);
    await eventually(async () => !(await metricsText(url)).includes(openGauge), 'the gauge to drop the skipped record');
    // Skipping twice is refused with a stable code.
    const again = await parley(env, ['dlq', 'skip', String(letter!.id)]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('dead_letter_not_parked');

    // 2. A valid event whose row the database refuses: a second message with
    //    the client id of an existing one (the unique index on
    //    room, sender, client_msg_id) — what a buggy writer could append.
    const history = await fullHistory(url, alice, poisoned);
    const [refused] = await log.append(topics.events, [
      {
        key: roomKey(poisoned),
        value: codec.encode('message_sent', {
          room_id: poisoned,
          message_id: '0199e1c4-7000-7000-8000-0000000dead1',
          seq: 1_000,
          sender_id: alice.id,
          client_msg_id: 'before',
          content: 'a duplicate client id',
          mime_type: 'text/plain',
          reply_to: null,
          attachments: [],
          mentions: [],
          created_at: history[0]!.created_at as number,
        }),
        headers: { [headers.eventType]: 'message_sent' },
      },
    ]);
    expect((await send(url, bob, poisoned, 'after refused')).status).toBe(503);
    expect((await send(url, bob, healthy, 'healthy 2')).status).toBe(201);
    let refusedLetter: DeadLetterRow | undefined;
    await eventually(async () => {
      refusedLetter = (await dlqList(env)).find((l) => l.offset === refused!.offset);
      return refusedLetter !== undefined;
    }, 'the refused event is parked');
    expect(refusedLetter).toMatchObject({ partition, event_type: 'message_sent', status: 'parked' });
    expect(refusedLetter!.error_code).toMatch(/^(ER_DUP_ENTRY|SQLITE_CONSTRAINT)$/);
    expect(refusedLetter!.attempts).toBe(Number(env.PARLEY_POISON_MAX_ATTEMPTS ?? 3));
    expect(await contents(url, alice, poisoned)).toEqual(['before', 'after undecodable']);

    // The operator fixes the cause (here: renames the stored message's client
    // id, so the two no longer collide), then retries it.
    await store.db
      .updateTable('messages')
      .set({ client_msg_id: 'before (renamed)' })
      .where('room_id', '=', poisoned)
      .where('client_msg_id', '=', 'before')
      .execute();
    const retried = await parley(env, ['dlq', 'retry', String(refusedLetter!.id)]);
    expect(retried.code, retried.stdout + retried.stderr).toBe(0);
    await eventually(
      async () => (await contents(url, alice, poisoned)).includes('after refused'),
      'the retried event is applied and the partition goes on',
      20_000,
    );
    expect((await contents(url, alice, poisoned)).sort()).toEqual([
      'a duplicate client id',
      'after refused',
      'after undecodable',
      'before',
    ]);
    expect((await dlqList(env)).length).toBe(0);
    const all = (JSON.parse((await parley(env, ['dlq', 'list', '--all', '--json'])).stdout) as DeadLetterRow[]).map(
      (l) => l.status,
    );
    expect(all).toEqual(['skipped', 'applied']);
    const after = await request(url, 'GET', '/readyz');
    expect(after.body).toMatchObject({ status: 'ready', dead_letters: { open: [] } });
  } finally {
    await log.close();
    await store.close();
  }
}

/** GET /metrics as Prometheus scrapes it. */
async function metricsText(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  return response.text();
}
