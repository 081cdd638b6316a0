// An avatar as the local store keeps it: a square of PARLEY_AVATAR_SIZE_PX
// around the picture's centre, turned as its EXIF orientation says, in the
// format it was uploaded in, and without its metadata (a phone's photo carries
// where it was taken). Cloudinary does the same through a transformation URL
// (cloudinary-storage.ts). sharp (libvips) does the image work.

import sharp from 'sharp';
import type { MediaTypeName } from '../media-types.ts';

const formats = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' } as const;

/** Whether the local store optimises an upload of this type as an avatar. */
export const isAvatarImage = (mimeType: MediaTypeName): mimeType is keyof typeof formats => mimeType in formats;

/**
 * The optimised avatar. Throws when the bytes are not a readable image of that
 * type (the caller refuses the upload then). A picture already smaller than
 * the square is not enlarged.
 */
export async function optimiseAvatar(body: Buffer, mimeType: keyof typeof formats, sizePx: number): Promise<Buffer> {
  return sharp(body, { failOn: 'error' })
    .rotate()
    .resize(sizePx, sizePx, { fit: 'cover', withoutEnlargement: true })
    .toFormat(formats[mimeType])
    .toBuffer();
}
