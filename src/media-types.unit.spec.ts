// The upload media types: each recognises its own files and no other's, and
// config's allow-lists and notification window accept only what is safe.

import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { MEDIA_TYPES, mediaTypeNames, mediaTypeOfExt, type MediaTypeName } from './media-types.ts';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

const samples: Record<MediaTypeName, Buffer> = {
  'image/png': bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'IHDR'),
  'image/jpeg': bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF'),
  'image/gif': bytes('GIF89a', [1, 0, 1, 0]),
  'image/webp': bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '),
  'application/pdf': bytes('%PDF-1.7\n'),
  'audio/mpeg': bytes('ID3', [4, 0, 0]),
  'video/mp4': bytes([0, 0, 0, 0x18], 'ftypmp42'),
  'text/plain': Buffer.from('héllo wörld ✓', 'utf8'),
};

describe('media types', () => {
  const binary = mediaTypeNames.filter((name) => name !== 'text/plain');

  it.each(binary)('%s recognises its own sample and no other type’s', (name) => {
    for (const [other, sample] of Object.entries(samples)) {
      expect(MEDIA_TYPES[name].matches(sample), `${name} given ${other}`).toBe(other === name);
    }
  });

  it('text/plain accepts UTF-8 text', () => {
    expect(MEDIA_TYPES['text/plain'].matches(samples['text/plain'])).toBe(true);
  });

  it('text/plain refuses invalid UTF-8 and NUL bytes', () => {
    expect(MEDIA_TYPES['text/plain'].matches(bytes([0x68, 0xff, 0x69]))).toBe(false);
    expect(MEDIA_TYPES['text/plain'].matches(bytes('a\u0000b'))).toBe(false);
  });

  it('an extension maps back to its type', () => {
    for (const name of mediaTypeNames) expect(mediaTypeOfExt(MEDIA_TYPES[name].ext)).toBe(name);
    expect(mediaTypeOfExt('svg')).toBeUndefined();
  });
});

describe('upload config', () => {
  it('defaults: avatars are images only; attachments add documents and media', () => {
    const config = loadConfig({});
    expect(config.PARLEY_UPLOAD_AVATAR_TYPES).toEqual(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
    expect(config.PARLEY_UPLOAD_ATTACHMENT_TYPES).toContain('application/pdf');
    expect(config.PARLEY_UPLOAD_NOTIFY_MAX_AGE_S).toBeLessThanOrEqual(600);
  });

  it('a list is trimmed and lower-cased', () => {
    expect(loadConfig({ PARLEY_UPLOAD_AVATAR_TYPES: ' Image/PNG , image/gif' }).PARLEY_UPLOAD_AVATAR_TYPES).toEqual([
      'image/png',
      'image/gif',
    ]);
  });

  it.each([
    ['a type no adapter knows (SVG runs script)', { PARLEY_UPLOAD_ATTACHMENT_TYPES: 'image/png,image/svg+xml' }],
    ['an empty list', { PARLEY_UPLOAD_AVATAR_TYPES: ' , ' }],
    ['a notification window over 10 minutes (J3)', { PARLEY_UPLOAD_NOTIFY_MAX_AGE_S: '601' }],
    ['a public URL that is not http(s)', { PARLEY_PUBLIC_URL: 'ftp://chat.example.com' }],
  ])('refuses %s at start', (_name, env) => {
    expect(() => loadConfig(env)).toThrow(/invalid configuration/);
  });

  it('a public URL loses its trailing slash', () => {
    expect(loadConfig({ PARLEY_PUBLIC_URL: 'https://chat.example.com/' }).PARLEY_PUBLIC_URL).toBe('https://chat.example.com');
  });
});
