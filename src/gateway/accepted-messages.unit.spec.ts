import { describe, expect, test } from 'vitest';
import type { MessageView } from '../queries/wire.ts';
import { createAcceptedMessages } from './accepted-messages.ts';

const at = (partition: number, offset: number) => ({ topic: 'parley.events', partition, offset });
const message = (seq: number) => ({ id: `m${seq}`, seq, content: `hello ${seq}` }) as unknown as MessageView;

describe('messages for ACKs, from the event stream', () => {
  test('the stream passed the command before its outcome came: answered at once', async () => {
    const accepted = createAcceptedMessages(10);
    accepted.passed(at(3, 7), { commandId: 'c1', message: message(1) });
    expect(await accepted.messageOf('c1', at(3, 7), 1_000)).toEqual(message(1));
  });

  test('the outcome came first: answered when the stream gets to the position', async () => {
    const accepted = createAcceptedMessages(10);
    const answer = accepted.messageOf('c2', at(3, 9), 10_000);
    accepted.passed(at(3, 8));
    accepted.passed(at(5, 9)); // another partition's offsets say nothing about this one
    accepted.passed(at(3, 9), { commandId: 'c2', message: message(2) });
    expect(await answer).toEqual(message(2));
  });

  test('a position the stream passed without the message (a retry of an older one): undefined, so the caller reads the model', async () => {
    const accepted = createAcceptedMessages(10);
    accepted.passed(at(0, 20));
    expect(await accepted.messageOf('retry', at(0, 4), 1_000)).toBeUndefined();
    const waiting = accepted.messageOf('other', at(0, 21), 10_000);
    accepted.passed(at(0, 21)); // an event of no sender connected here
    expect(await waiting).toBeUndefined();
  });

  test('a message known ahead of the stream (held up behind a record it cannot open yet) answers its waiter at once, and only it', async () => {
    const accepted = createAcceptedMessages(10);
    const mine = accepted.messageOf('mine', at(2, 30), 10_000);
    const other = accepted.messageOf('other', at(2, 29), 50);
    accepted.known({ commandId: 'mine', message: message(30) });
    expect(await mine).toEqual(message(30));
    expect(await other).toBeUndefined(); // still waiting for the stream: timed out
    // Asked later, before the stream passes it: known all the same.
    expect(await accepted.messageOf('mine', at(2, 30), 1)).toEqual(message(30));
  });

  test('the stream does not get there in time: undefined after the timeout, and a late record resolves nothing twice', async () => {
    const accepted = createAcceptedMessages(10);
    const answer = accepted.messageOf('slow', at(1, 50), 30);
    expect(await answer).toBeUndefined();
    accepted.passed(at(1, 50), { commandId: 'slow', message: message(50) });
    expect(await accepted.messageOf('slow', at(1, 50), 30)).toEqual(message(50));
  });

  test('keeps at most `capacity` messages, dropping the oldest', async () => {
    const accepted = createAcceptedMessages(2);
    for (let offset = 0; offset < 3; offset++)
      accepted.passed(at(0, offset), { commandId: `c${offset}`, message: message(offset) });
    expect(await accepted.messageOf('c0', at(0, 0), 10)).toBeUndefined();
    expect(await accepted.messageOf('c2', at(0, 2), 10)).toEqual(message(2));
  });
});
