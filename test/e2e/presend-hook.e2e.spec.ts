// The pre-send hook (API.md "Pre-send hook"; issue 15): before a message is
// sent or edited, Parley asks an HTTP endpoint, which lets it through, refuses
// it or rewrites its text; calls are signed; a hook that fails lets messages
// through (open) or refuses them with 503 (closed). Against a local hook.

import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Sockets } from '../support/chat.ts';
import { isErrorFrame } from '../support/social.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { apiOf, expectError, expectStatus, groupRoom, messagesOf, postMessage, say, type Api } from '../support/social.ts';

const SECRET = 'hook-secret-for-tests';

interface HookCall {
  body: { action: string; room_id: string; sender_id: string; message_id?: string; content: string; attachments: unknown[] };
  signature: string | undefined;
  raw: string;
}

/** The deployment's hook: what it answers depends on the words in the message. */
async function startHook(): Promise<{ url: string; calls: HookCall[]; close: () => Promise<void> }> {
  const calls: HookCall[] = [];
  const server = http.createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    request.on('end', () => {
      const body = JSON.parse(raw) as HookCall['body'];
      calls.push({ body, raw, signature: request.headers['x-parley-signature'] as string | undefined });
      const answer = (status: number, json?: unknown) =>
        response.writeHead(status, { 'Content-Type': 'application/json' }).end(json === undefined ? '' : JSON.stringify(json));
      const text = body.content;
      if (text.includes('forbidden')) return answer(200, { action: 'reject', reason: 'no forbidden words here' });
      if (text.includes('rewrite-me'))
        return answer(200, { action: 'rewrite', content: text.replaceAll('rewrite-me', '[redacted]') });
      if (text.includes('overlong')) return answer(200, { action: 'rewrite', content: 'x'.repeat(5000) });
      if (text.includes('broken')) return answer(500);
      if (text.includes('gibberish')) return answer(200, { verdict: 'ok' });
      if (text.includes('slow')) {
        setTimeout(() => answer(200, { action: 'allow' }), 2_000);
        return;
      }
      return answer(200, { action: 'allow' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let hook: Awaited<ReturnType<typeof startHook>> | undefined;
/** Two servers on one hook: one fails open (the default), one closed. */
let servers: { open: ParleyProcess; closed: ParleyProcess } | undefined;
const open = () => servers!.open;
const closed = () => servers!.closed;
const sockets = new Sockets();
beforeAll(async () => {
  hook = await startHook();
  const { url } = hook;
  const env = {
    PARLEY_PRESEND_HOOK_URL: url,
    PARLEY_PRESEND_HOOK_SECRET: SECRET,
    PARLEY_PRESEND_HOOK_TIMEOUT_MS: '300',
    PARLEY_REGISTER_MAX_PER_IP: '1000',
  };
  const [failingOpen, failingClosed] = await Promise.all([
    startParley({ env }),
    startParley({ env: { ...env, PARLEY_PRESEND_HOOK_ON_FAILURE: 'closed' } }),
  ]);
  servers = { open: failingOpen, closed: failingClosed };
});
afterAll(async () => {
  sockets.closeAll();
  await Promise.all([servers?.open.stop(), servers?.closed.stop()]);
  await hook?.close();
});

async function pair(api: Api) {
  const [alice, bob] = await api.users(2, 'hook');
  const room = await groupRoom(api, alice!, [bob!]);
  return { alice: alice!, bob: bob!, room };
}

describe('a pre-send hook, failing open', () => {
  test('is asked about every message, signed; lets through what it allows; refuses and rewrites as it says', async () => {
    const api = apiOf(open().url);
    const { alice, room } = await pair(api);
    const kept = await say(api, alice, room.id, 'hello there');
    const call = hook!.calls.find((c) => c.body.content === 'hello there')!;
    expect(call.body).toEqual({
      action: 'message.send',
      room_id: room.id,
      sender_id: alice.id,
      content: 'hello there',
      attachments: [],
    });
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(call.signature ?? '') ?? [];
    expect(v1).toBe(crypto.createHmac('sha256', SECRET).update(`${t}.${call.raw}`).digest('hex'));
    expect(Math.abs(Number(t) - Date.now() / 1000)).toBeLessThan(60);

    const refused = await postMessage(api, alice, room.id, { client_msg_id: crypto.randomUUID(), content: 'a forbidden word' });
    expectError(refused, 403, 'message_rejected');
    expect((refused.body as { error: { details: unknown } }).error.details).toEqual({ reason: 'no forbidden words here' });
    const rewritten = await say(api, alice, room.id, 'please rewrite-me now');
    expect(rewritten.content).toBe('please [redacted] now');
    expect((await messagesOf(api, alice, room.id)).map((m) => m.content)).toEqual([kept.content, 'please [redacted] now']);
  });

  test('is asked about edits too', async () => {
    const api = apiOf(open().url);
    const { alice, room } = await pair(api);
    const message = await say(api, alice, room.id, 'first draft');
    const path = `/rooms/${room.id}/messages/${message.id}`;
    expectError(await api.patch(alice, path, { content: 'now forbidden' }), 403, 'message_rejected');
    const edited = expectStatus(await api.patch<{ content: string }>(alice, path, { content: 'rewrite-me please' }), 200);
    expect(edited.content).toBe('[redacted] please');
    expect(hook!.calls.some((c) => c.body.action === 'message.edit' && c.body.message_id === message.id)).toBe(true);
  });

  test('a socket’s SEND_MESSAGE is refused with an ERROR frame', async () => {
    const api = apiOf(open().url);
    const { alice, room } = await pair(api);
    const socket = await sockets.connect(open().wsUrl, alice);
    socket.send({
      type: 'SEND_MESSAGE',
      ref: 'r1',
      timestamp: Date.now(),
      data: { chat_room_id: room.id, client_msg_id: crypto.randomUUID(), content: 'forbidden over ws' },
    });
    const error = await socket.next(isErrorFrame('message_rejected'));
    expect(error.data).toMatchObject({ code: 'message_rejected', details: { reason: 'no forbidden words here' } });
  });

  test('a hook that times out, fails or answers nonsense lets the message through as written', async () => {
    const api = apiOf(open().url);
    const { alice, room } = await pair(api);
    for (const content of ['slow hook', 'broken hook', 'gibberish answer', 'overlong rewrite']) {
      expect((await say(api, alice, room.id, content)).content).toBe(content);
    }
  });
});

describe('a pre-send hook, failing closed', () => {
  test('a failing hook refuses the message with 503; a working one lets it through', async () => {
    const api = apiOf(closed().url);
    const { alice, room } = await pair(api);
    for (const content of ['slow hook', 'broken hook']) {
      expectError(await postMessage(api, alice, room.id, { client_msg_id: crypto.randomUUID(), content }), 503, 'unavailable');
    }
    await say(api, alice, room.id, 'all good');
    expect((await messagesOf(api, alice, room.id)).map((m) => m.content)).toEqual(['all good']);
  });
});
