// The media types an upload may have, and what each one means to storage: the
// file extension, Cloudinary's format and resource type, whether it is shown
// inline as an image, and how to recognise its bytes. Config's allow-lists
// (PARLEY_UPLOAD_*_TYPES) may only name types from this table, so a type with no
// known handling can never be signed.
//
// Not here on purpose: image/svg+xml and text/html (they run script when a
// browser opens them from our origin), and anything without a reliable signature
// except text/plain, which is checked for valid UTF-8 instead.

export interface MediaType {
  /** Extension of stored files and of Cloudinary's `format`. */
  ext: string;
  /** Cloudinary's resource type: PDFs are images there, audio is video. */
  resourceType: 'image' | 'video' | 'raw';
  /** Served inline (`Content-Disposition` only for the rest). */
  inlineImage: boolean;
  /** True when the file is of this type: its first bytes (all of them for text). */
  matches(file: Uint8Array): boolean;
}

const startsWith = (head: Uint8Array, bytes: readonly number[], offset = 0): boolean =>
  bytes.every((byte, i) => head[offset + i] === byte);
const ascii = (text: string): number[] => Array.from(text, (c) => c.charCodeAt(0));

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const MEDIA_TYPES = {
  'image/png': {
    ext: 'png',
    resourceType: 'image',
    inlineImage: true,
    matches: (h) => startsWith(h, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  },
  'image/jpeg': { ext: 'jpg', resourceType: 'image', inlineImage: true, matches: (h) => startsWith(h, [0xff, 0xd8, 0xff]) },
  'image/gif': {
    ext: 'gif',
    resourceType: 'image',
    inlineImage: true,
    matches: (h) => startsWith(h, ascii('GIF87a')) || startsWith(h, ascii('GIF89a')),
  },
  'image/webp': {
    ext: 'webp',
    resourceType: 'image',
    inlineImage: true,
    matches: (h) => startsWith(h, ascii('RIFF')) && startsWith(h, ascii('WEBP'), 8),
  },
  'application/pdf': { ext: 'pdf', resourceType: 'image', inlineImage: false, matches: (h) => startsWith(h, ascii('%PDF-')) },
  'audio/mpeg': {
    ext: 'mp3',
    resourceType: 'video',
    inlineImage: false,
    // An ID3 tag, or straight into an MPEG audio frame (11 sync bits).
    matches: (h) => startsWith(h, ascii('ID3')) || (h[0] === 0xff && ((h[1] ?? 0) & 0xe0) === 0xe0),
  },
  'video/mp4': { ext: 'mp4', resourceType: 'video', inlineImage: false, matches: (h) => startsWith(h, ascii('ftyp'), 4) },
  'text/plain': {
    ext: 'txt',
    resourceType: 'raw',
    inlineImage: false,
    // Valid UTF-8 without NUL, over the whole file.
    matches: (h) => {
      try {
        return !utf8.decode(h).includes('\u0000');
      } catch {
        return false;
      }
    },
  },
} as const satisfies Record<string, MediaType>;

export type MediaTypeName = keyof typeof MEDIA_TYPES;

export const mediaTypeNames = Object.keys(MEDIA_TYPES) as MediaTypeName[];

export const isMediaTypeName = (value: string): value is MediaTypeName => Object.hasOwn(MEDIA_TYPES, value);

/** The media type whose extension this is (for serving a stored file). */
export function mediaTypeOfExt(ext: string): MediaTypeName | undefined {
  return mediaTypeNames.find((name) => MEDIA_TYPES[name].ext === ext);
}
