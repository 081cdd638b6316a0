// Processor snapshots on both read-model engines, with the embedded log: a
// processor taking a partition over starts from the snapshot and reads only
// the events after it, and decides exactly as one that folded the whole
// history — also about old messages it no longer holds in memory (their
// sender, reactions, deletion and expiry come back from the snapshot).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testEngines } from '../../test/support/engines.ts';
import { schemasDir } from '../compose.ts';
import { initialStates } from '../domain/aggregates.ts';
import { Rejection } from '../domain/decider.ts';
import { roomDecider, type RoomCommand, type RoomState } from '../domain/room.ts';
import { createAvroCodec } from '../log/avro-codec.ts';
import type { Log } from '../log/port.ts';
import { openSqliteLog } from '../log/sqlite-log.ts';
import { headers, topicSpecs, topics } from '../log/topics.ts';
import { newDataKey, seal } from '../privacy/sealing.ts';
import type { Store } from '../store/store.ts';
import { createCommandBus, type CommandBus } from './command-bus.ts';
import type { Outcome } from './envelope.ts';
import { startProcessor, type Processor } from './processor.ts';
import { snapshotFormat, sqlSnapshotStore, type SnapshotStore } from './snapshots.ts';

const logger = pino({ level: 'silent' });
const codec = createAvroCodec({ schemasDir });
const format = snapshotFormat(initialStates());
const alice = '01900000-0000-7000-8000-00000000a11c';
const bob = '01900000-0000-7000-8000-0000000000b0';
const roomId = '01900000-0000-7000-8000-0000000000aa';
const dataKey = newDataKey();
let counter = 0;

for (const engine of await testEngines('snapshots'))
  describe.runIf(engine.available)(`processor snapshots on ${engine.name}`, () => {
    let store: Store;
    const opened: { bus: CommandBus; processor: Processor; log: Log }[] = [];

    beforeEach(async () => {
      store = await engine.open();
    });
    afterEach(async () => {
      for (const { bus, processor, log } of opened.splice(0)) {
        await bus.stop();
        await processor.stop();
        await log.close();
      }
      await store.close();
      await engine.dispose();
    });

    /** A log in `dir`, a bus, and a processor snapshotting into the store every `everyEvents`. */
    async function start(dir: string, everyEvents: number, scope = 'test', snapshotStore?: SnapshotStore, hotEntries = 5) {
      const log = openSqliteLog({ path: path.join(dir, 'log.sqlite'), onError: () => undefined, retryBackoffMs: 5 });
      await log.ensureTopics(topicSpecs({ partitions: 2, commandsRetentionMs: 3_600_000, signalsRetentionMs: 3_600_000 }));
      const bus = await createCommandBus({ log, instanceId: 'intake', timeoutMs: 10_000 });
      const processor = await startProcessor({
        log,
        codec,
        logger,
        instanceId: `writer-${++counter}`,
        recentCommands: 1000,
        // One group per log, as in production: a restarted processor goes on
        // from the commands its predecessor committed.
        group: `writers-${scope}`,
        snapshots: { store: snapshotStore ?? sqlSnapshotStore(store.db, scope, format), everyEvents, hotEntries },
      });
      const rig = { bus, processor, log };
      opened.push(rig);
      return rig;
    }

    /** The test store, recording in `asked` the ids of every lookup of cold entries. */
    function askingStore(asked: string[][]): SnapshotStore {
      const snapshots = sqlSnapshotStore(store.db, 'test', format);
      return {
        ...snapshots,
        loadEntries: (key, ids) => {
          asked.push([...ids]);
          return snapshots.loadEntries(key, ids);
        },
      };
    }

    async function stop(rig: { bus: CommandBus; processor: Processor; log: Log }) {
      opened.splice(opened.indexOf(rig), 1);
      await rig.bus.stop();
      await rig.processor.stop();
      await rig.log.close();
    }

    const command = (user: string | null, type: RoomCommand['type'], data: object): RoomCommand =>
      ({
        type,
        data: { room_id: roomId, ...data },
        metadata: { command_id: `cmd-${++counter}-${Math.random()}`, user_id: user, at: Date.now() },
      }) as RoomCommand;
    const message = (n: number, replyTo: string | null = null) =>
      command(alice, 'send_message', {
        message_id: `message-${n}`,
        client_msg_id: `client-${n}`,
        content: seal(`message:message-${n}`, dataKey, `hello ${n}`),
        mime_type: 'text/plain',
        reply_to: replyTo,
        attachments: [],
      });
    const react = (user: string, n: number, add: boolean) =>
      command(user, 'react', { message_id: `message-${n}`, emoji: '👍', add });
    const edit = (user: string, n: number) =>
      command(user, 'edit_message', { message_id: `message-${n}`, content: seal(`message:message-${n}`, dataKey, 'edited') });

    const outcome = (o: Outcome) => (o.status === 'accepted' ? { events: o.events } : { code: o.code });

    it('a new processor starts from the snapshot, reads only the events after it, and decides as before about old messages', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-'));
      const first = await start(dir, 20);
      const send = (c: RoomCommand) => first.bus.send(c);
      expect(outcome(await send(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [bob] })))).toEqual({
        events: 3,
      });
      for (let n = 1; n <= 60; n++) expect(outcome(await send(message(n)))).toEqual({ events: 1 });
      // Messages 1–55 are no longer in memory (5 kept hot): the rules read them back.
      expect(outcome(await send(react(bob, 13, true)))).toEqual({ events: 1 });
      expect(outcome(await send(react(bob, 13, true)))).toEqual({ events: 0 });
      expect(outcome(await send(edit(bob, 2)))).toEqual({ code: 'forbidden' });
      expect(outcome(await send(command(alice, 'delete_message', { message_id: 'message-14' })))).toEqual({ events: 1 });
      expect(outcome(await send(message(61, 'message-1')))).toEqual({ events: 1 });
      expect(outcome(await send(command(null, 'expire_messages', { up_to_seq: 10 })))).toEqual({ events: 1 });
      const pin = (n: number, pinned: boolean) =>
        command(alice, 'pin_message', { message_id: `message-${n}`, pinned, max_pins: 3 });
      expect(outcome(await send(pin(15, true)))).toEqual({ events: 1 });
      // 60 more, so the events above are inside a snapshot and their messages evicted again.
      for (let n = 62; n <= 121; n++) expect(outcome(await send(message(n)))).toEqual({ events: 1 });
      await stop(first);

      const second = await start(dir, 1_000_000);
      const again = (c: RoomCommand) => second.bus.send(c);
      const partition = second.log.partitionForKey(topics.events, `room:${roomId}`);
      const end = await second.log.endOffset(topics.events, partition);
      const restored = second.processor.restores().find((r) => r.partition === partition)!;
      expect(restored.snapshotOffset).not.toBeNull();
      expect(restored.eventsRead).toBeLessThan(20);
      expect(restored.snapshotOffset! + restored.eventsRead).toBe(end);

      expect(outcome(await again(react(bob, 13, true)))).toEqual({ events: 0 });
      expect(outcome(await again(react(bob, 13, false)))).toEqual({ events: 1 });
      expect(outcome(await again(edit(bob, 2)))).toEqual({ code: 'forbidden' });
      expect(outcome(await again(edit(alice, 14)))).toEqual({ code: 'invalid_state' });
      // Expired by retention while out of memory: deleted all the same.
      expect(outcome(await again(react(bob, 7, true)))).toEqual({ code: 'invalid_state' });
      expect(outcome(await again(edit(alice, 11)))).toEqual({ events: 1 });
      expect(outcome(await again(message(122, 'message-12')))).toEqual({ events: 1 });
      expect(outcome(await again(command(alice, 'react', { message_id: 'message-none', emoji: '👍', add: true })))).toEqual({
        code: 'message_not_found',
      });
      // Retention unpins what it erases, though the pinned message was never loaded here.
      expect(outcome(await again(command(null, 'expire_messages', { up_to_seq: 15 })))).toEqual({ events: 1 });
      expect(outcome(await again(pin(15, false)))).toEqual({ events: 0 });
      // A retry of a message sent before the snapshot is recognised; the next seq follows on.
      expect(outcome(await again(message(1)))).toEqual({ events: 0 });
      const records = await second.log.read(topics.events, partition, end, 100);
      const seqs = records
        .filter((r) => r.headers[headers.eventType] === 'message_sent')
        .map((r) => (codec.decode('message_sent', r.value) as { seq: number }).seq);
      expect(seqs).toEqual([122]);
    });

    it('decides every command as a fold of the whole history would, across restarts, snapshots and evictions', async () => {
      // Steps on one room with few messages kept hot: sends (client_msg_ids
      // reused, so retries happen; replies), reactions, edits, deletions,
      // pins, retention, and restarts of the processor in between.
      const step = fc.oneof(
        {
          arbitrary: fc.record({
            kind: fc.constant('send' as const),
            client: fc.nat(30),
            replyTo: fc.oneof(fc.constant(null), fc.constant(null), fc.nat(40)),
          }),
          weight: 4,
        },
        {
          arbitrary: fc.record({
            kind: fc.constant('react' as const),
            user: fc.boolean(),
            target: fc.nat(40),
            add: fc.boolean(),
          }),
          weight: 1,
        },
        { arbitrary: fc.record({ kind: fc.constant('edit' as const), user: fc.boolean(), target: fc.nat(40) }), weight: 1 },
        { arbitrary: fc.record({ kind: fc.constant('delete' as const), user: fc.boolean(), target: fc.nat(40) }), weight: 1 },
        { arbitrary: fc.record({ kind: fc.constant('pin' as const), target: fc.nat(40), pinned: fc.boolean() }), weight: 1 },
        { arbitrary: fc.record({ kind: fc.constant('expire' as const), upTo: fc.nat(40) }), weight: 1 },
        { arbitrary: fc.record({ kind: fc.constant('restart' as const) }), weight: 1 },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 60 }), async (steps) => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-'));
          const scope = `run-${++counter}`;
          let rig = await start(dir, 4, scope, undefined, 2);
          let reference: RoomState = roomDecider.initialState();
          const at = Date.now();
          const sent: string[] = [];
          /** What a fold of the whole history decides (and the reference state moves on). */
          const decideByFold = (c: RoomCommand): { events: number } | { code: string } => {
            try {
              const events = roomDecider.decide(c, reference);
              reference = events.reduce(roomDecider.evolve, reference);
              return { events: events.length };
            } catch (error) {
              if (!(error instanceof Rejection)) throw error;
              return { code: error.code };
            }
          };
          const run = async (c: RoomCommand) => {
            const expected = decideByFold(c);
            expect(outcome(await rig.bus.send(c))).toEqual(expected);
            return expected;
          };
          await run(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [bob] }));
          for (const [index, s] of steps.entries()) {
            const who = (isBob: boolean) => (isBob ? bob : alice);
            const target = (n: number) => sent[n % Math.max(1, sent.length)] ?? 'message-none';
            const withTime = (c: RoomCommand): RoomCommand => ({ ...c, metadata: { ...c.metadata, at: at + index } });
            if (s.kind === 'restart') {
              await stop(rig);
              rig = await start(dir, 4, scope, undefined, 2);
            } else if (s.kind === 'send') {
              const c = message(1000 + index, s.replyTo === null ? null : target(s.replyTo));
              const retried = { ...c, data: { ...c.data, client_msg_id: `client-${s.client}` } } as RoomCommand;
              const accepted = await run(withTime(retried));
              if ('events' in accepted && accepted.events === 1) sent.push((retried.data as { message_id: string }).message_id);
            } else if (s.kind === 'react') {
              await run(withTime(command(who(s.user), 'react', { message_id: target(s.target), emoji: '👍', add: s.add })));
            } else if (s.kind === 'edit') {
              const id = target(s.target);
              await run(
                withTime(command(who(s.user), 'edit_message', { message_id: id, content: seal(`message:${id}`, dataKey, 'e') })),
              );
            } else if (s.kind === 'delete') {
              await run(withTime(command(who(s.user), 'delete_message', { message_id: target(s.target) })));
            } else if (s.kind === 'pin') {
              await run(withTime(command(alice, 'pin_message', { message_id: target(s.target), pinned: s.pinned, max_pins: 3 })));
            } else {
              await run(withTime(command(null, 'expire_messages', { up_to_seq: s.upTo })));
            }
          }
          await stop(rig);
        }),
        {
          numRuns: 25,
          // Found by this property in CI: a pin replayed after a snapshot left
          // its message out of memory, so retention could not unpin it.
          examples: [
            [
              [
                { kind: 'send', client: 1, replyTo: null },
                { kind: 'react', user: false, target: 0, add: true },
                { kind: 'react', user: true, target: 0, add: true },
                { kind: 'send', client: 0, replyTo: null },
                { kind: 'send', client: 2, replyTo: null },
                { kind: 'pin', target: 23, pinned: true },
                { kind: 'restart' },
                { kind: 'send', client: 0, replyTo: null },
                { kind: 'expire', upTo: 0 },
                { kind: 'pin', target: 0, pinned: false },
                { kind: 'expire', upTo: 3 },
                { kind: 'pin', target: 11, pinned: false },
              ],
            ],
          ],
        },
      );
    }, 120_000);

    it('a new message to a spilled room costs no query of the store (the filter knows its client_msg_id is new); a retry costs one', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-'));
      const first = await start(dir, 10);
      await first.bus.send(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [bob] }));
      for (let n = 1; n <= 40; n++) await first.bus.send(message(n));
      await stop(first);

      const asked: string[][] = [];
      const second = await start(dir, 1_000_000, 'test', askingStore(asked));
      for (let n = 41; n <= 60; n++) expect(outcome(await second.bus.send(message(n)))).toEqual({ events: 1 });
      // Filters answer "maybe" for ~1 % of new ids: a stray query is allowed, not one per message.
      expect(asked.length).toBeLessThanOrEqual(1);
      asked.length = 0;
      expect(outcome(await second.bus.send(message(2)))).toEqual({ events: 0 });
      expect(asked).toEqual([[`c:${alice}:client-2`]]);
    });

    /** A room of 10 messages in a log of its own, snapshotted into the shared store; the log is then dropped. */
    async function snapshotOfAnotherLog() {
      const first = await start(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-')), 5);
      await first.bus.send(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [bob] }));
      for (let n = 1; n <= 10; n++) await first.bus.send(message(n));
      await stop(first);
    }

    it('a snapshot of another log is discarded: the processor folds the log it has', async () => {
      await snapshotOfAnotherLog();

      // Another log (a data dir wiped, a topic recreated), the same database and scope.
      const other = await start(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-')), 5);
      expect(other.processor.restores().every((r) => r.snapshotOffset === null)).toBe(true);
      expect(outcome(await other.bus.send(message(1)))).toEqual({ code: 'room_not_found' });
      expect(outcome(await other.bus.send(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [] })))).toEqual({
        events: 2,
      });
    });

    it('a snapshot of another log that cannot be discarded (the database refuses) leaves the log in charge all the same', async () => {
      await snapshotOfAnotherLog();

      const refusing: SnapshotStore = {
        ...sqlSnapshotStore(store.db, 'test', format),
        discard: () => Promise.reject(new Error('the database refused')),
      };
      const other = await start(fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-')), 5, 'test', refusing);
      expect(other.processor.restores().every((r) => r.snapshotOffset === null)).toBe(true);
      expect(outcome(await other.bus.send(message(1)))).toEqual({ code: 'room_not_found' });
    });

    it('a stale writer does not overwrite a newer snapshot of the partition, nor its entries', async () => {
      const snapshots: SnapshotStore = sqlSnapshotStore(store.db, 'test', format);
      const memory = { head: null, recent: [], spilled: ['room:x'] };
      const entries = (seq: number) =>
        new Map([['room:x', new Map([['m:one', { seq, reactions: new Map([['👍', new Set(['u'])]]) }]])]]);
      const newer = {
        nextOffset: 100,
        lastRecord: 'room:x new',
        memory,
        aggregates: new Map([['room:x', { n: 2 }]]),
        entries: new Map(),
        spills: entries(2),
      };
      const older = {
        nextOffset: 50,
        lastRecord: 'room:x old',
        memory,
        aggregates: new Map([['room:x', { n: 1 }]]),
        entries: entries(1),
        spills: entries(1),
      };
      expect(await snapshots.save(0, newer)).toBe(true);
      expect(await snapshots.save(0, older)).toBe(false);
      const loaded = await snapshots.load(0);
      expect(loaded).toMatchObject({ nextOffset: 100, lastRecord: 'room:x new', memory: { spilled: ['room:x'] } });
      expect(loaded!.aggregates.get('room:x')).toEqual({ n: 2 });
      expect(await snapshots.loadEntries('room:x', ['m:one', 'm:two'])).toEqual(
        new Map([['m:one', { seq: 2, reactions: new Map([['👍', new Set(['u'])]]) }]]),
      );
      // Another format (the code's state changed shape) is not used.
      expect(await sqlSnapshotStore(store.db, 'test', 'other-format').load(0)).toBeNull();
    });

    it('a small room is snapshotted whole: restored, it never reads the store', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-snapshots-'));
      const first = await start(dir, 3);
      await first.bus.send(command(alice, 'create_room', { type: 'group', name: 'r', member_ids: [bob] }));
      for (let n = 1; n <= 4; n++) await first.bus.send(message(n));
      await stop(first);

      const asked: string[][] = [];
      const second = await start(dir, 3, 'test', askingStore(asked));
      expect(second.processor.restores().some((r) => r.snapshotOffset !== null)).toBe(true);
      expect(outcome(await second.bus.send(message(1)))).toEqual({ events: 0 });
      expect(outcome(await second.bus.send(react(bob, 2, true)))).toEqual({ events: 1 });
      expect(outcome(await second.bus.send(edit(bob, 3)))).toEqual({ code: 'forbidden' });
      expect(outcome(await second.bus.send(message(5)))).toEqual({ events: 1 });
      expect(asked.length).toBe(0);
    });
  });
