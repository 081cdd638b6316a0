// The processor on the embedded log: restore after restart, retries answered
// from memory, the fencing of a second writer that believes it owns the
// same partitions (what a zombie does after a Kafka rebalance), and commands
// decided in-process (local-decisions.ts) beside those of the commands topic.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { roomAggregateId, type SendMessage } from '../domain/room.ts';
import type { AnyCommand } from '../domain/aggregates.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import { isStaleWrite } from '../log/fencing.ts';
import type { Log, LogRecord } from '../log/port.ts';
import { openSqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { schemasDir } from '../compose.ts';
import { createCommandBus, type CommandBus } from './command-bus.ts';
import type { EventCodec } from '../log/codec.ts';
import { preferLocalDecisions } from './local-decisions.ts';
import { startProcessor, type Processor } from './processor.ts';
import { newDataKey, seal } from '../privacy/sealing.ts';

const logger = pino({ level: 'silent' });
const avro = createAvroCodec({ schemasDir });
const codec: EventCodec = avro;
const partitions = 2;

interface Rig {
  log: Log;
  bus: CommandBus;
  processors: Processor[];
  close(): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.close();
});

async function rig(
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-processor-')),
  writers = 1,
  recentCommands = 1000,
): Promise<Rig & { dir: string }> {
  const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), onError: () => undefined, retryBackoffMs: 5 });
  await log.ensureTopics(topicSpecs({ partitions, commandsRetentionMs: 3_600_000, signalsRetentionMs: 3_600_000 }));
  const bus = await createCommandBus({ log, instanceId: 'test-intake', timeoutMs: 10_000 });
  const processors: Processor[] = [];
  // Writers in distinct groups each believe they own every partition.
  for (let i = 0; i < writers; i++) {
    processors.push(
      await startProcessor({ log, codec, logger, instanceId: `writer-${i}`, recentCommands, group: `writers-${i}` }),
    );
  }
  const r = {
    dir,
    log,
    bus,
    processors,
    async close() {
      await bus.stop();
      for (const processor of processors) await processor.stop();
      await log.close();
    },
  };
  rigs.push(r);
  return r;
}

const userId = '01900000-0000-7000-8000-000000000001';
const roomId = '01900000-0000-7000-8000-0000000000aa';
let commandCounter = 0;
const meta = () => ({ command_id: `cmd-${++commandCounter}-${Math.random()}`, user_id: userId, at: Date.now() });
const dataKey = newDataKey();
const send = (clientMsgId: string, sealed = true): SendMessage => ({
  type: 'send_message',
  data: {
    room_id: roomId,
    message_id: `m-${clientMsgId}-${Math.random()}`,
    client_msg_id: clientMsgId,
    content: sealed ? seal(`message:${clientMsgId}`, dataKey, `hello ${clientMsgId}`) : `hello ${clientMsgId}`,
    mime_type: 'text/plain',
    reply_to: null,
    attachments: [],
  },
  metadata: meta(),
});

async function allEvents(log: Log): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    records.push(...(await log.read(topics.events, partition, 0, 100_000)));
  }
  return records;
}

/** The seqs of message_sent events that readers accept (stale writes skipped). */
async function acceptedSeqs(log: Log): Promise<number[]> {
  return (await allEvents(log))
    .filter((r) => r.headers[headers.eventType] === 'message_sent' && !isStaleWrite(r))
    .map((r) => (codec.decode('message_sent', r.value) as { seq: number }).seq);
}

describe('command processor', () => {
  it('restores state after a restart: seq continues, retries are recognised', async () => {
    const first = await rig();
    const created = await first.bus.send({
      type: 'create_room',
      data: { room_id: roomId, type: 'group', name: 'r', member_ids: [] },
      metadata: meta(),
    });
    expect(created.status).toBe('accepted');
    const retried = send('same');
    expect((await first.bus.send(retried)).status).toBe('accepted');
    await first.close();
    rigs.splice(rigs.indexOf(first), 1);

    const second = await rig(first.dir);
    // The same command again (a client retry across the restart): no new event.
    const again = await second.bus.send(retried);
    expect(again).toMatchObject({ status: 'accepted', events: 0 });
    expect((await second.bus.send(send('next'))).status).toBe('accepted');
    expect(await acceptedSeqs(second.log)).toEqual([1, 2]);
  });

  it('remembers the last recentCommands commands of a partition: an older retry is decided again', async () => {
    const { bus } = await rig(undefined, 1, 3);
    const create: AnyCommand = {
      type: 'create_room',
      data: { room_id: roomId, type: 'group', name: 'r', member_ids: [] },
      metadata: meta(),
    };
    expect((await bus.send(create)).status).toBe('accepted');
    // Remembered: answered as accepted, nothing appended.
    expect(await bus.send(create)).toMatchObject({ status: 'accepted', events: 0 });
    // Three more commands of the room's partition push it out of a memory of three …
    for (const id of ['a', 'b', 'c']) expect((await bus.send(send(id))).status).toBe('accepted');
    // … so its retry is decided again, against a room that exists now.
    expect(await bus.send(create)).toMatchObject({ status: 'rejected' });
  });

  it('refuses a command whose event would carry personal data unsealed, and appends nothing for it', async () => {
    const { bus, log } = await rig();
    await bus.send({
      type: 'create_room',
      data: { room_id: roomId, type: 'group', name: 'r', member_ids: [] },
      metadata: meta(),
    });
    const refused = await bus.send(send('plain', false));
    expect(refused).toMatchObject({ status: 'rejected', code: 'internal' });
    expect((await bus.send(send('sealed'))).status).toBe('accepted');
    expect(await acceptedSeqs(log)).toEqual([1]);
    const logged = (await allEvents(log)).map((r) => r.value.toString('latin1')).join('');
    expect(logged).not.toContain('hello plain');
    expect(logged).not.toContain('hello sealed');
  });

  it('fences a second writer: no seq is used twice and every accepted message is in the log once', async () => {
    const { bus, log } = await rig(undefined, 2);
    await bus.send({
      type: 'create_room',
      data: { room_id: roomId, type: 'group', name: 'r', member_ids: [] },
      metadata: meta(),
    });
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => bus.send(send(`c${i}`))));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);

    const records = await allEvents(log);
    const stale = records.filter(isStaleWrite);
    const seqs = await acceptedSeqs(log);
    // Both writers raced on every batch; the log shows the losers' appends…
    expect(stale.length).toBeGreaterThan(0);
    // …but what readers accept is one gapless sequence, each client_msg_id once.
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const clientIds = records
      .filter((r) => r.headers[headers.eventType] === 'message_sent' && !isStaleWrite(r))
      .map((r) => (codec.decode('message_sent', r.value) as { client_msg_id: string }).client_msg_id);
    expect(new Set(clientIds).size).toBe(40);
    // Every accepted outcome points at an event readers accept.
    for (const outcome of outcomes) {
      if (outcome.status !== 'accepted' || outcome.position === null) continue;
      const record = records.find((r) => r.partition === outcome.position!.partition && r.offset === outcome.position!.offset);
      expect(record && isStaleWrite(record)).toBe(false);
    }
  });
});

describe('commands decided in the process that owns their partition', () => {
  const createRoom = () => ({
    type: 'create_room' as const,
    data: { room_id: roomId, type: 'group' as const, name: 'r', member_ids: [] },
    metadata: meta(),
  });
  const commandsOnTopic = async (log: Log) => {
    let count = 0;
    for (let partition = 0; partition < partitions; partition++) {
      count += (await log.read(topics.commands, partition, 0, 100_000)).length;
    }
    return count;
  };

  it('never cross the commands topic; their seqs are gapless and a retry is answered as before', async () => {
    const { bus, log, processors } = await rig();
    const local = preferLocalDecisions(bus, processors[0]!, { timeoutMs: 10_000 });
    expect((await local.send(createRoom())).status).toBe('accepted');
    const commands = Array.from({ length: 30 }, (_, i) => send(`l${i}`));
    const outcomes = await Promise.all(commands.map((command) => local.send(command)));
    expect(outcomes.every((outcome) => outcome.status === 'accepted' && outcome.events === 1)).toBe(true);
    expect(await acceptedSeqs(log)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await commandsOnTopic(log)).toBe(0);
    // Each outcome's position is its own message's event.
    const records = await allEvents(log);
    outcomes.forEach((outcome, i) => {
      if (outcome.status !== 'accepted' || outcome.position === null) throw new Error('no position');
      const record = records.find((r) => r.partition === outcome.position!.partition && r.offset === outcome.position!.offset)!;
      expect((codec.decode('message_sent', record.value) as { client_msg_id: string }).client_msg_id).toBe(`l${i}`);
    });
    const retried = await local.send(commands[7]!);
    expect(retried).toMatchObject({ status: 'accepted', events: 0 });
    expect((await acceptedSeqs(log)).length).toBe(30);
  });

  it("share the partition's single writer with the commands topic: one gapless sequence, each message once", async () => {
    const { bus, log, processors } = await rig();
    const local = preferLocalDecisions(bus, processors[0]!, { timeoutMs: 10_000 });
    expect((await bus.send(createRoom())).status).toBe('accepted');
    const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? local : bus).send(send(`mixed${i}`))));
    expect(outcomes.every((outcome) => outcome.status === 'accepted')).toBe(true);
    expect(await acceptedSeqs(log)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await allEvents(log)).filter(isStaleWrite)).toEqual([]);
    expect(await commandsOnTopic(log)).toBe(21); // create_room and the odd ones
  });

  it('after another writer appended to the partition, the command is decided again on the partition as it is now', async () => {
    const { bus, log, processors } = await rig();
    const local = preferLocalDecisions(bus, processors[0]!, { timeoutMs: 10_000 });
    expect((await local.send(createRoom())).status).toBe('accepted');
    expect((await local.send(send('first'))).status).toBe('accepted');
    // Not this processor's: its next append lands one offset later than it expects.
    await log.append(topics.events, [
      {
        key: roomAggregateId(roomId),
        value: Buffer.from('written by someone else'),
        headers: { [headers.eventType]: 'message_sent' },
      },
    ]);
    const outcome = await local.send(send('second'));
    expect(outcome).toMatchObject({ status: 'accepted', events: 1 });
    const records = await allEvents(log);
    const stale = records.filter(isStaleWrite);
    expect(stale).toHaveLength(1); // the first attempt, fenced: readers skip it
    expect(
      records
        .filter(
          (r) => r.headers[headers.eventType] === 'message_sent' && !isStaleWrite(r) && r.headers[headers.writer] !== undefined,
        )
        .map((r) => codec.decode('message_sent', r.value) as { seq: number; client_msg_id: string })
        .map(({ seq, client_msg_id }) => [seq, client_msg_id]),
    ).toEqual([
      [1, 'first'],
      [2, 'second'],
    ]);
  });

  it('go through the commands topic when the processor here does not take them (stopped, or partition elsewhere)', async () => {
    const { bus, log, processors } = await rig(undefined, 2);
    await processors[0]!.stop();
    const local = preferLocalDecisions(bus, processors[0]!, { timeoutMs: 10_000 });
    expect(processors[0]!.decideHere(createRoom(), 'c')).toBeNull();
    expect((await local.send(createRoom())).status).toBe('accepted');
    expect((await local.send(send('via topic'))).status).toBe('accepted');
    expect(await acceptedSeqs(log)).toEqual([1]);
    expect(await commandsOnTopic(log)).toBe(2);
  });
});
