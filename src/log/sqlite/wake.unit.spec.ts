// The wake hub's memory of where this process's appends ended each partition:
// a partition worker skips its read when it is there, so the memory must never
// claim an end that another connection may have moved.

import { describe, expect, test } from 'vitest';
import { WakeHub } from './wake.ts';

describe('WakeHub', () => {
  test('wakes the listeners of the partitions appended to, and remembers their ends', () => {
    const hub = new WakeHub();
    const woken: string[] = [];
    hub.listen(1, 0, () => woken.push('t1p0'));
    hub.listen(1, 1, () => woken.push('t1p1'));
    hub.listen(2, 0, () => woken.push('t2p0'));
    expect(hub.knownEnd(1, 0)).toBeUndefined();

    hub.notify(
      1,
      new Map([
        [0, 5],
        [1, 2],
      ]),
    );
    expect(woken).toEqual(['t1p0', 't1p1']);
    expect(hub.knownEnd(1, 0)).toBe(5);
    expect(hub.knownEnd(1, 1)).toBe(2);
    expect(hub.knownEnd(2, 0)).toBeUndefined();
  });

  test('an end never moves back (a late notice of an older append)', () => {
    const hub = new WakeHub();
    hub.notify(1, new Map([[0, 9]]));
    hub.notify(1, new Map([[0, 4]]));
    expect(hub.knownEnd(1, 0)).toBe(9);
  });

  test("another connection's commit makes every end unknown and wakes everyone", () => {
    const hub = new WakeHub();
    const woken: number[] = [];
    hub.listen(1, 0, () => woken.push(0));
    hub.listen(3, 7, () => woken.push(7));
    hub.notify(1, new Map([[0, 3]]));
    woken.length = 0;

    hub.notifyAll();
    expect(woken.sort()).toEqual([0, 7]);
    expect(hub.knownEnd(1, 0)).toBeUndefined();
  });

  test('a removed listener is not woken', () => {
    const hub = new WakeHub();
    let woken = 0;
    const unlisten = hub.listen(1, 0, () => woken++);
    unlisten();
    hub.notify(1, new Map([[0, 1]]));
    hub.notifyAll();
    expect(woken).toBe(0);
  });
});
