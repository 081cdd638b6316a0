// Parley behind the shipped nginx (deploy/nginx.conf, run for real), trusting
// only nginx's address (PARLEY_TRUST_PROXY=127.0.0.1): the per-IP limits key
// on the address nginx saw, so a client that forges X-Forwarded-For cannot buy
// itself a fresh budget, and one that goes around nginx is keyed on its own
// address whatever header it sends. Clients here are told apart by the
// loopback address they connect from (127.0.0.5, .6, .7; nginx reaches
// Parley from 127.0.0.1).

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { createRoom } from '../support/chat.ts';
import { registerUser } from '../support/client.ts';
import { freePort, nginxAvailable, startShippedNginx, testShippedConf, type RunningNginx } from '../support/nginx.ts';
import { startParley, type ParleyProcess } from '../support/server.ts';
import { uploadAttachment } from '../support/uploads.ts';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request from `localAddress`, with its own X-Forwarded-For when `forwardedFor` is given. */
function requestFrom(localAddress: string, url: string, body: unknown, forwardedFor?: string): Promise<Answer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor }),
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      },
    );
    request.once('error', reject);
    request.end(payload);
  });
}

const register = (from: string, baseUrl: string, forwardedFor?: string) => {
  const name = `nginx_${randomBytes(5).toString('hex')}`;
  return requestFrom(
    from,
    `${baseUrl}/api/v1/auth/register`,
    { username: name, email: `${name}@example.com`, password: 'correct horse battery' },
    forwardedFor,
  );
};

/** Opens a socket without a token from `localAddress`: 'open', or the HTTP status it was refused with. */
function unauthenticatedSocket(localAddress: string, url: string, forwardedFor?: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      localAddress,
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
    });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    socket.once('error', reject);
  });
}

const registrationsPerIp = 3;

describe.runIf(await nginxAvailable('behind-nginx'))('behind the shipped nginx', () => {
  let parley: ParleyProcess;
  let nginx: RunningNginx;

  beforeAll(async () => {
    // Clients reach Parley at nginx's address: upload URLs point there.
    const nginxPort = await freePort();
    parley = await startParley({
      env: {
        PARLEY_PUBLIC_URL: `http://127.0.0.1:${nginxPort}`,
        PARLEY_TRUST_PROXY: '127.0.0.1',
        PARLEY_REGISTER_MAX_PER_IP: String(registrationsPerIp),
        PARLEY_WS_MAX_UNAUTHENTICATED_PER_IP: '2',
      },
    });
    nginx = await startShippedNginx([`127.0.0.1:${parley.port}`], nginxPort);
  });
  afterAll(async () => {
    await nginx.stop();
    await parley.stop();
  });

  test('nginx -t accepts the shipped configuration (its upstream pointed here)', () => {
    const { status, output } = testShippedConf([`127.0.0.1:${parley.port}`]);
    expect(output).toContain('syntax is ok');
    expect(status, output).toBe(0);
  });

  test('a forged X-Forwarded-For does not reset the registration limit: it counts the address nginx saw', async () => {
    for (let i = 1; i <= registrationsPerIp; i++) {
      expect((await register('127.0.0.5', nginx.url, `203.0.113.${i}`)).status).toBe(201);
    }
    const over = await register('127.0.0.5', nginx.url, '203.0.113.99');
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toMatchObject({ error: { code: 'rate_limited' } });
    expect(over.headers['retry-after']).toMatch(/^\d+$/);
    // Another client behind the same nginx has its own budget.
    expect((await register('127.0.0.6', nginx.url)).status).toBe(201);
  });

  test('a client that reaches Parley around nginx is keyed on its own address, whatever header it sends', async () => {
    const direct = `http://127.0.0.1:${parley.port}`;
    for (let i = 1; i <= registrationsPerIp; i++) {
      // It claims to be the nginx client that still has budget left (127.0.0.6), then others.
      expect((await register('127.0.0.7', direct, i === 1 ? '127.0.0.6' : `198.51.100.${i}`)).status).toBe(201);
    }
    expect((await register('127.0.0.7', direct, '198.51.100.77')).status).toBe(429);
    // The address it pretended to be kept its budget: one registration spent above, one left.
    expect((await register('127.0.0.6', nginx.url)).status).toBe(201);
  });

  test('WebSocket upgrades pass through nginx, and the unauthenticated-socket cap counts the client, not its header', async () => {
    const open: WebSocket[] = [];
    try {
      for (const forged of ['192.0.2.1', '192.0.2.2']) {
        const socket = await unauthenticatedSocket('127.0.0.5', nginx.wsUrl, forged);
        expect(socket).toBeInstanceOf(WebSocket);
        open.push(socket as WebSocket);
      }
      expect(await unauthenticatedSocket('127.0.0.5', nginx.wsUrl, '192.0.2.3')).toBe(429);
      const other = await unauthenticatedSocket('127.0.0.6', nginx.wsUrl);
      expect(other).toBeInstanceOf(WebSocket);
      open.push(other as WebSocket);
    } finally {
      for (const socket of open) socket.terminate();
    }
  });

  test('nginx does not serve /metrics to the internet; the scraper reaches the instance itself', async () => {
    expect((await fetch(`${nginx.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${parley.url}/metrics`)).status).toBe(200);
  });

  test('a 5 MiB attachment uploads through nginx to the URL Parley signed, and downloads whole', async () => {
    const owner = await registerUser(nginx.url, 'nginxup');
    const roomId = await createRoom(nginx.url, owner);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(5 * 1024 * 1024, 0x20)]);
    const upload = await uploadAttachment(nginx.url, owner, roomId, pdf, 'application/pdf');
    expect(upload.url.startsWith(`${nginx.url}/`)).toBe(true);
    const downloaded = await fetch(upload.url, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(downloaded.status).toBe(200);
    expect(Buffer.from(await downloaded.arrayBuffer()).equals(pdf)).toBe(true);
  });
});
