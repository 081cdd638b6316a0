// The command bus when the log is slow: an append that outlives the command
// timeout (Kafka down, the producer retrying) must end the send with
// CommandTimeout — and must never leave a rejected promise unhandled, which
// ends a Node process (found by test/faults/kafka-restart.e2e.spec.ts: every
// instance exited during a Kafka restart).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnyCommand } from '../domain/aggregates.ts';
import type { AppendRecord, Consumer, ConsumeOptions, Log, Position } from '../log/port.ts';
import { CommandTimeout, createCommandBus } from './command-bus.ts';

/** A log whose appends settle only when the test says so. */
function slowLog() {
  const appends: { resolve: (positions: Position[]) => void; reject: (error: Error) => void }[] = [];
  const log = {
    append: (_topic: string, _records: AppendRecord[]) =>
      new Promise<Position[]>((resolve, reject) => appends.push({ resolve, reject })),
    consume: (_options: ConsumeOptions): Promise<Consumer> => Promise.resolve({ stop: () => Promise.resolve() }),
    partitionForKey: () => 0,
  } as unknown as Log;
  return { log, appends };
}

const command = (): AnyCommand =>
  ({
    type: 'send_message',
    data: {
      room_id: 'r1',
      message_id: 'm1',
      client_msg_id: 'c1',
      content: 'hi',
      mime_type: 'text/plain',
      attachments: [],
      mentions: [],
    },
    metadata: { command_id: crypto.randomUUID(), user_id: 'u1', at: 0 },
  }) as unknown as AnyCommand;

describe('command bus with a slow log', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

  it('an append slower than the timeout ends the send with CommandTimeout at the timeout', async () => {
    const { log, appends } = slowLog();
    const bus = await createCommandBus({ log, instanceId: 'i1', timeoutMs: 30 });
    const started = Date.now();
    await expect(bus.send(command())).rejects.toBeInstanceOf(CommandTimeout);
    expect(Date.now() - started).toBeLessThan(5_000);
    appends[0]!.resolve([{ topic: 'commands', partition: 0, offset: 0 }]);
    await settle();
    expect(unhandled).toEqual([]);
    await bus.stop();
  });

  it('an append that fails after the timeout leaves nothing unhandled', async () => {
    const { log, appends } = slowLog();
    const bus = await createCommandBus({ log, instanceId: 'i1', timeoutMs: 30 });
    await expect(bus.send(command())).rejects.toBeInstanceOf(CommandTimeout);
    appends[0]!.reject(new Error('broker unreachable'));
    await settle();
    expect(unhandled).toEqual([]);
    await bus.stop();
  });

  it('an append that fails before the timeout rejects with its error', async () => {
    const { log, appends } = slowLog();
    const bus = await createCommandBus({ log, instanceId: 'i1', timeoutMs: 5_000 });
    const sending = bus.send(command());
    appends[0]!.reject(new Error('broker unreachable'));
    await expect(sending).rejects.toThrow('broker unreachable');
    await settle();
    expect(unhandled).toEqual([]);
    await bus.stop();
  });
});
