import { describe, expect, it } from 'vitest';
import { encodePayload, MAX_PAYLOAD_BYTES, previewOf, pushReason, truncate, type PushPayload } from './notify-rules.ts';

const sent = 1_700_000_000_000;
const member = (
  notify_level: 'all' | 'mentions' | 'none',
  notify_muted_until: number | null = null,
  changed: { notify_set_at?: number | null; joined_at?: number } = {},
) => ({
  user_id: 'bob',
  joined_at: changed.joined_at ?? sent - 60_000,
  notify_level,
  notify_muted_until,
  notify_set_at: changed.notify_set_at ?? null,
});
const message = (mentions: string[] = [], sender_id = 'alice') => ({ sender_id, mentions, created_at: sent });

describe('who a message is pushed to', () => {
  it('level all: every message, a mention said so', () => {
    expect(pushReason(member('all'), message())).toBe('message');
    expect(pushReason(member('all'), message(['bob']))).toBe('mention');
  });

  it('level mentions: only messages naming the member', () => {
    expect(pushReason(member('mentions'), message(['carol']))).toBeNull();
    expect(pushReason(member('mentions'), message(['carol', 'bob']))).toBe('mention');
  });

  it('level none, or muted past the moment the message was sent: nothing, mentions included; a mute over by then is no mute', () => {
    expect(pushReason(member('none'), message(['bob']))).toBeNull();
    expect(pushReason(member('all', sent + 1), message(['bob']))).toBeNull();
    expect(pushReason(member('all', sent), message())).toBe('message');
    // However late the pusher gets there: a mute that had not ended when the message was sent holds.
    expect(pushReason(member('all', sent + 1), message())).toBeNull();
  });

  it('judged as the message was sent: a setting changed at or after it, or a member who joined after it, gets nothing', () => {
    // Muted, the message, unmuted: the row shows "all", set after the message.
    expect(pushReason(member('all', null, { notify_set_at: sent + 5 }), message())).toBeNull();
    expect(pushReason(member('all', null, { notify_set_at: sent }), message())).toBeNull();
    expect(pushReason(member('all', null, { notify_set_at: sent - 1 }), message())).toBe('message');
    expect(pushReason(member('all', null, { joined_at: sent + 1 }), message(['bob']))).toBeNull();
    expect(pushReason(member('all', null, { joined_at: sent }), message())).toBe('message');
  });

  it('nobody is pushed their own message', () => {
    expect(pushReason(member('all'), message(['bob'], 'bob'))).toBeNull();
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
      created_at: sent,
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
