import { describe, expect, test } from 'vitest';
import { notificationsOf } from './rooms-queries.ts';

describe('room notifications as read back', () => {
  const now = 1_767_225_600_000;

  test('a mute still running reads as stored', () => {
    expect(notificationsOf({ notify_level: 'mentions', notify_muted_until: now + 1 }, now)).toEqual({
      level: 'mentions',
      muted_until: now + 1,
    });
  });

  test('a mute that has ended reads as none; the level stays', () => {
    for (const until of [now, now - 60_000]) {
      expect(notificationsOf({ notify_level: 'none', notify_muted_until: until }, now)).toEqual({
        level: 'none',
        muted_until: null,
      });
    }
    expect(notificationsOf({ notify_level: 'all', notify_muted_until: null }, now)).toEqual({ level: 'all', muted_until: null });
  });
});
