import { describe, expect, test } from 'vitest';
import type { RoomViewEnded, RoomViewStarted } from '../log/signals.ts';
import { createRoomViews } from './room-views.ts';

type ViewSignal = RoomViewStarted | RoomViewEnded;

/** Room views whose published signals queue up until the test delivers them, as the log would. */
function roomViews(applyTimeoutMs = 60_000) {
  const published: ViewSignal[] = [];
  const changes: string[] = [];
  const views = createRoomViews({
    publish: (signal) => published.push(signal),
    onChange: (roomId, userId, active) => changes.push(`${roomId} ${userId} ${active ? 'joined' : 'left'}`),
    applyTimeoutMs,
  });
  const deliverAll = () => {
    for (const signal of published.splice(0)) views.apply(signal);
  };
  return { views, published, changes, deliverAll };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('room views: who is looking at a room, as the signals log tells it', () => {
  test('a join settles only once its own signal came back, so views announced before it are counted', async () => {
    const { views, deliverAll } = roomViews();
    const bobJoined = views.join('room-1', 'bob', 'bob-socket');
    deliverAll();
    await bobJoined;

    const aliceJoined = views.join('room-1', 'alice', 'alice-socket');
    expect(await settled(aliceJoined)).toBe(false);
    deliverAll();
    expect(await settled(aliceJoined)).toBe(true);
    expect(views.activeIn('room-1').sort()).toEqual(['alice', 'bob']);
  });

  test('a join whose signal is lost settles after the timeout', async () => {
    const { views, published } = roomViews(20);
    const joined = views.join('room-1', 'alice', 'alice-socket');
    published.splice(0);
    await joined;
    expect(views.activeIn('room-1')).toEqual([]);
  });

  test('a user stays active until the last of their sockets leaves; changes are announced once', () => {
    const { views, changes, deliverAll } = roomViews();
    void views.join('room-1', 'alice', 'tab-1');
    void views.join('room-1', 'alice', 'tab-2');
    deliverAll();
    views.leave('room-1', 'alice', 'tab-1');
    deliverAll();
    expect(views.activeIn('room-1')).toEqual(['alice']);
    views.leave('room-1', 'alice', 'tab-2');
    deliverAll();
    expect(views.activeIn('room-1')).toEqual([]);
    expect(changes).toEqual(['room-1 alice joined', 'room-1 alice left']);
  });
});
