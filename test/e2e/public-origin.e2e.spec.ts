// The origin in URLs Parley stores or mails comes from its configuration —
// PARLEY_PUBLIC_URL, else the address it listens on — never from a request's
// Host header, which the client chooses. With a forged Host an attacker would
// otherwise get upload and file URLs on their own host stored in messages, and
// password-reset links pointing at a server that collects the token.

import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, eventually } from '../support/chat.ts';
import { registerUser, type TestUser } from '../support/client.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { tinyPng } from '../support/uploads.ts';
import type { JsonObject } from '../support/wire.ts';

const FORGED_HOST = 'evil.example';

/** One request sent with a Host header of our choosing (fetch always sends the real one). */
function requestWithHost(
  url: string,
  method: string,
  options: { host: string; token?: string; body?: Buffer | JsonObject; contentType?: string },
): Promise<{ status: number; body: JsonObject }> {
  const payload = Buffer.isBuffer(options.body) ? options.body : Buffer.from(JSON.stringify(options.body ?? {}));
  const headers: Record<string, string> = {
    host: options.host,
    'content-type': options.contentType ?? 'application/json',
    'content-length': String(payload.length),
  };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const outgoing = http.request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: response.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as JsonObject) });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

/** Signs an attachment upload and sends the file, both with `host` as the Host header. */
async function uploadWithHost(server: ParleyProcess, user: TestUser, roomId: string, host: string) {
  const signed = await requestWithHost(`${server.url}/api/v1/uploads/sign`, 'POST', {
    host,
    token: user.token,
    body: { purpose: 'attachment', room_id: roomId, mime_type: 'image/png', bytes: tinyPng.length },
  });
  expect(signed.status, JSON.stringify(signed.body)).toBe(200);
  const uploadUrl = signed.body.upload_url as string;
  const fields = new URLSearchParams(signed.body.fields as Record<string, string>).toString();
  // The bytes go to this server whatever the URL says, as a client behind a forging proxy would send them.
  const target = `${server.url}${new URL(uploadUrl).pathname}?${fields}`;
  const uploaded = await requestWithHost(target, 'POST', { host, body: tinyPng, contentType: 'image/png' });
  expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
  return { uploadUrl, fileUrl: uploaded.body.url as string };
}

/** The text of the mails in a server's outbox for an address. */
const outboxMailTo = (server: ParleyProcess, address: string): string[] => {
  const outbox = path.join(server.dataDir, 'mail');
  return (fs.existsSync(outbox) ? fs.readdirSync(outbox) : [])
    .map((file) => fs.readFileSync(path.join(outbox, file), 'utf8'))
    .filter((text) => text.startsWith(`To: ${address}\n`));
};

/** Asks for a password reset with a forged Host; answers the link mailed. */
async function resetLinkAskedWithHost(server: ParleyProcess, host: string): Promise<string> {
  const user = await registerUser(server.url, 'reset');
  const asked = await requestWithHost(`${server.url}/api/v1/auth/password-reset`, 'POST', { host, body: { email: user.email } });
  expect(asked.status).toBe(202);
  const links = () =>
    outboxMailTo(server, user.email).flatMap((mail) => /(\S+)\/reset-password\?token=/.exec(mail)?.slice(1, 2) ?? []);
  await eventually(() => links().length === 1, 'the reset mail');
  return links()[0]!;
}

describe('PARLEY_PUBLIC_URL unset: the listening address, whatever the Host header says', () => {
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley();
  });
  afterAll(() => server.stop());

  it('an upload signed and sent with a forged Host gets its URLs on the listening origin', async () => {
    const alice = await registerUser(server.url, 'alice');
    const roomId = await createRoom(server.url, alice);
    const { uploadUrl, fileUrl } = await uploadWithHost(server, alice, roomId, FORGED_HOST);
    expect(new URL(uploadUrl).origin).toBe(server.url); // http://127.0.0.1:<port>
    expect(new URL(fileUrl).origin).toBe(server.url);
  });

  it('a message takes the attachment at the URL issued, and refuses it on another host as attachment_not_found', async () => {
    const alice = await registerUser(server.url, 'alice');
    const roomId = await createRoom(server.url, alice);
    const { fileUrl } = await uploadWithHost(server, alice, roomId, FORGED_HOST);
    const send = (url: string) =>
      requestWithHost(`${server.url}/api/v1/rooms/${roomId}/messages`, 'POST', {
        host: server.url.slice('http://'.length),
        token: alice.token,
        body: {
          client_msg_id: randomUUID(),
          content: 'a picture',
          attachments: [{ url, mime_type: 'image/png', bytes: tinyPng.length }],
        },
      });

    const elsewhere = new URL(fileUrl);
    elsewhere.host = FORGED_HOST;
    const refused = await send(elsewhere.toString());
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ error: { code: 'attachment_not_found' } });

    const accepted = await send(fileUrl);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.attachments).toMatchObject([{ url: fileUrl }]);
  });

  it('a password reset asked with a forged Host mails a link on the listening origin', async () => {
    expect(await resetLinkAskedWithHost(server, FORGED_HOST)).toBe(server.url);
  });
});

describe('PARLEY_PUBLIC_URL set: that origin, whatever the Host header says', () => {
  const publicUrl = 'https://chat.example.com';
  let server: ParleyProcess;
  beforeAll(async () => {
    server = await startParley({ env: { PARLEY_PUBLIC_URL: publicUrl } });
  });
  afterAll(() => server.stop());

  it('upload and file URLs and mailed links are on PARLEY_PUBLIC_URL', async () => {
    const alice = await registerUser(server.url, 'alice');
    const roomId = await createRoom(server.url, alice);
    const { uploadUrl, fileUrl } = await uploadWithHost(server, alice, roomId, FORGED_HOST);
    expect(new URL(uploadUrl).origin).toBe(publicUrl);
    expect(new URL(fileUrl).origin).toBe(publicUrl);
    expect(await resetLinkAskedWithHost(server, FORGED_HOST)).toBe(publicUrl);
  });
});
