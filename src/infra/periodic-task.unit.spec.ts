import pino from 'pino';
import { describe, expect, test } from 'vitest';
import { startPeriodicTask } from './periodic-task.ts';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('periodic task', () => {
  test('runs every interval, one round at a time, and keeps going after a failed round', async () => {
    let rounds = 0;
    let concurrent = 0;
    let mostAtOnce = 0;
    const task = startPeriodicTask(
      async () => {
        rounds++;
        concurrent++;
        mostAtOnce = Math.max(mostAtOnce, concurrent);
        await pause(30); // longer than the interval
        concurrent--;
        if (rounds === 1) throw new Error('first round fails');
        return rounds;
      },
      { intervalMs: 5, logger: pino({ level: 'silent' }), what: 'test task' },
    );
    while (rounds < 3) await pause(5);
    await task.stop();
    expect(mostAtOnce).toBe(1);
  });

  test('runOnce joins the round in flight; stop waits for it', async () => {
    let finished = false;
    const task = startPeriodicTask(
      async () => {
        await pause(20);
        finished = true;
        return 'done';
      },
      { intervalMs: 60_000, logger: pino({ level: 'silent' }), what: 'test task' },
    );
    const first = task.runOnce();
    expect(task.runOnce()).toBe(first);
    await task.stop();
    expect(finished).toBe(true);
    expect(await first).toBe('done');
  });
});
