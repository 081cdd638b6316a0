// Uploads as a client does them with the local storage adapter: sign, send the
// bytes to the signed URL, and use the ready upload's url as an attachment.

import { request, type TestUser } from './client.ts';

/** The smallest valid PNG (1×1), so content checks see a real image. */
export const tinyPng = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

export interface ReadyUpload {
  upload_id: string;
  url: string;
  mime_type: string;
  bytes: number;
}

/** An attachment upload of `user` for `roomId`, made ready through the local storage adapter. */
export function uploadAttachment(
  baseUrl: string,
  user: TestUser,
  roomId: string,
  file: Buffer = tinyPng,
  mimeType = 'image/png',
): Promise<ReadyUpload> {
  return signAndUpload(baseUrl, user, { purpose: 'attachment', room_id: roomId }, file, mimeType);
}

/** An avatar upload of `user`, made ready through the local storage adapter. */
export function uploadAvatar(
  baseUrl: string,
  user: TestUser,
  file: Buffer = tinyPng,
  mimeType = 'image/png',
): Promise<ReadyUpload> {
  return signAndUpload(baseUrl, user, { purpose: 'avatar' }, file, mimeType);
}

async function signAndUpload(
  baseUrl: string,
  user: TestUser,
  purpose: { purpose: 'attachment'; room_id: string } | { purpose: 'avatar' },
  file: Buffer,
  mimeType: string,
): Promise<ReadyUpload> {
  const signed = await request(baseUrl, 'POST', '/api/v1/uploads/sign', {
    token: user.token,
    body: { ...purpose, mime_type: mimeType, bytes: file.length },
  });
  if (signed.status !== 200) throw new Error(`sign failed: ${signed.status} ${JSON.stringify(signed.body)}`);
  const { upload_url, fields } = signed.body as { upload_url: string; fields: Record<string, string> };
  const response = await fetch(`${upload_url}?${new URLSearchParams(fields).toString()}`, {
    method: 'POST',
    headers: { 'content-type': mimeType },
    body: file,
  });
  const body = (await response.json()) as ReadyUpload & { status: string };
  if (response.status !== 201 || body.status !== 'ready')
    throw new Error(`upload failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}
