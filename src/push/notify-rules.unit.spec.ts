import { describe, expect, it } from 'vitest';
import { encodePayload, MAX_PAYLOAD_BYTES, previewOf, pushReason, truncate, type PushPayload } from './notify-rules.ts';

const now = 1_700_000_000_000;
const member = (notify_level: 'all' | 'mentions' | 'none', notify_muted_until: number | null = null) => ({
  user_id: 'bob',
  notify_level,
  notify_muted_until,
});

describe('who a message is pushed to', () => {
  it('level all: every message, a mention said so', () => {
    expect(pushReason(member('all'), { sender_id: 'alice', mentions: [] }, now)).toBe('message');
    expect(pushReason(member('all'), { sender_id: 'alice', mentions: ['bob'] }, now)).toBe('mention');
  });

  it('level mentions: only messages naming the member', () => {
    expect(pushReason(member('mentions'), { sender_id: 'alice', mentions: ['carol'] }, now)).toBeNull();
    expect(pushReason(member('mentions'), { sender_id: 'alice', mentions: ['carol', 'bob'] }, now)).toBe('mention');
  });

  it('level none, or muted until a time still ahead: nothing, mentions included; a mute past its time is no mute', () => {
    expect(pushReason(member('none'), { sender_id: 'alice', mentions: ['bob'] }, now)).toBeNull();
    expect(pushReason(member('all', now + 1), { sender_id: 'alice', mentions: ['bob'] }, now)).toBeNull();
    expect(pushReason(member('all', now), { sender_id: 'alice', mentions: [] }, now)).toBe('message');
  });

  it('nobody is pushed their own message', () => {
    expect(pushReason(member('all'), { sender_id: 'bob', mentions: ['bob'] }, now)).toBeNull();
  });
});

describe('what a push says', () => {
  it('cuts long text at a character boundary with an ellipsis, emoji whole', () => {
    expect(truncate('hello', 5)).toBe('hello');
    expect(truncate('hello world', 5)).toBe('hell…');
    expect(truncate('😀😀😀😀', 3)).toBe('😀😀…');
  });

  it('previews text with its whitespace folded, else the attachments, else nothing', () => {
    expect(previewOf('  lunch\n\nat   noon? ', 0, 140)).toBe('lunch at noon?');
    expect(previewOf('', 1, 140)).toBe('📎 1 attachment');
    expect(previewOf(null, 3, 140)).toBe('📎 3 attachments');
    expect(previewOf('', 0, 140)).toBe('');
  });

  it('fits any payload in a push, cutting the preview further when names and text are long', () => {
    const payload: PushPayload = {
      type: 'NEW_MESSAGE',
      chat_room_id: 'r',
      room: { type: 'group', name: 'ř'.repeat(100) },
      message_id: 'm',
      seq: 1,
      sender: { id: 's', username: 'alice', display_name: '名'.repeat(100) },
      preview: '𝄞'.repeat(2000),
      mention: false,
      created_at: now,
    };
    const encoded = encodePayload(payload);
    expect(encoded.length).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
    const decoded = JSON.parse(encoded.toString('utf8')) as PushPayload;
    expect(decoded.sender.display_name).toBe(payload.sender.display_name);
    expect(decoded.preview.endsWith('…')).toBe(true);
    expect(decoded.preview.length).toBeGreaterThan(100);
    // A small payload goes as it is.
    const small = { ...payload, room: { type: 'direct' as const, name: '' }, preview: 'hi' };
    expect(JSON.parse(encodePayload(small).toString('utf8'))).toEqual(small);
  });
});
