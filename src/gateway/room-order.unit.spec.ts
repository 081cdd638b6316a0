import { describe, expect, test } from 'vitest';
import { createRoomOrder } from './room-order.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("room order: a socket's frames about one room take effect in the order they came", () => {
  test('a slow task holds back the next one of the same socket and room', async () => {
    const inOrder = createRoomOrder();
    const socket = {};
    const done: number[] = [];
    // The first task is the slowest: run side by side, it would finish last.
    await Promise.all(
      [30, 10, 0].map((ms, i) =>
        inOrder(socket, 'room-1', async () => {
          await pause(ms);
          done.push(i);
        }),
      ),
    );
    expect(done).toEqual([0, 1, 2]);
  });

  test('a failing task rejects for its caller alone; the next one still runs', async () => {
    const inOrder = createRoomOrder();
    const socket = {};
    const failed = inOrder(socket, 'room-1', () => Promise.reject(new Error('no such room')));
    const next = inOrder(socket, 'room-1', async () => {});
    await expect(failed).rejects.toThrow('no such room');
    await expect(next).resolves.toBeUndefined();
  });

  test('other rooms and other sockets are not held back', async () => {
    const inOrder = createRoomOrder();
    const [socketA, socketB] = [{}, {}];
    const done: string[] = [];
    let release!: () => void;
    const slow = inOrder(socketA, 'room-1', () =>
      new Promise<void>((resolve) => (release = resolve)).then(() => void done.push('a1')),
    );
    await inOrder(socketA, 'room-2', () => Promise.resolve(void done.push('a2')));
    await inOrder(socketB, 'room-1', () => Promise.resolve(void done.push('b1')));
    expect(done).toEqual(['a2', 'b1']);
    release();
    await slow;
    expect(done).toEqual(['a2', 'b1', 'a1']);
  });
});
