// The transport's defences, end to end against real Parley processes (issue 11's
// probe, SECURITY.md "Transport"): which origins may call the API and open
// sockets, the server's heartbeat, the caps on unauthenticated sockets and on
// connections per address, bounded request times, and files only the service's
// user can read.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { barrier, eventually } from '../support/chat.ts';
import { registerUser, request, WsClient } from '../support/client.ts';
import { befriend, apiOf } from '../support/social.ts';
import { e2eMode } from '../support/modes.ts';
import { startParley, tempDataDir, type ParleyProcess } from '../support/server.ts';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example';

/** Opens a socket with these headers; resolves with the handshake's outcome. */
function handshake(
  url: string,
  headers: Record<string, string>,
): Promise<{ opened: true; socket: WebSocket } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve({ opened: true, socket }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => reject(error));
  });
}

describe('origins (CORS and the WebSocket Origin check)', () => {
  let parley: ParleyProcess;
  let token: string;
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_CORS_ORIGINS: APP } });
    token = (await registerUser(parley.url, 'cors')).token;
    return () => parley.stop();
  });

  test('an allowed origin gets its preflight answered and may read answers; others get no CORS headers', async () => {
    const preflight = await fetch(`${parley.url}/api/v1/rooms`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(APP);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
    expect(Number(preflight.headers.get('access-control-max-age'))).toBeGreaterThan(0);

    const allowed = await request(parley.url, 'GET', '/api/v1/users/me', { token, headers: { origin: APP } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP);
    expect(allowed.headers.get('vary')).toMatch(/origin/i);

    const foreign = await request(parley.url, 'GET', '/api/v1/users/me', { token, headers: { origin: EVIL } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const foreignPreflight = await fetch(`${parley.url}/api/v1/rooms`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST' },
    });
    expect(foreignPreflight.status).toBe(403);
    expect(((await foreignPreflight.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
  });

  test('errors carry the CORS headers too, so an allowed page can read why', async () => {
    const refused = await request(parley.url, 'GET', '/api/v1/users/me', { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
  });

  test("another site's page cannot open a socket (403); the allowed origin, the server's own and native clients can", async () => {
    const url = `${parley.wsUrl}?token=${token}`;
    const evil = await handshake(url, { origin: EVIL });
    expect(evil).toMatchObject({ status: 403 });
    expect(JSON.parse((evil as { body: string }).body)).toMatchObject({ error: { code: 'origin_not_allowed' } });
    for (const origin of [APP, parley.url, undefined]) {
      const outcome = await handshake(url, origin === undefined ? {} : { origin });
      expect(outcome, String(origin)).toMatchObject({ opened: true });
      (outcome as { socket: WebSocket }).socket.close();
    }
  });

  test('without PARLEY_CORS_ORIGINS nothing is allowed cross-origin', async () => {
    const plain = await startParley();
    try {
      const answer = await request(plain.url, 'GET', '/healthz', { headers: { origin: APP } });
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      const socket = await handshake(plain.wsUrl, { origin: APP });
      expect(socket).toMatchObject({ status: 403 });
    } finally {
      await plain.stop();
    }
  });

  test("with PARLEY_PUBLIC_URL set, only that origin is the server's own: a page on the Host it was reached by is refused", async () => {
    const PUBLIC = 'https://chat.example.com';
    const named = await startParley({ env: { PARLEY_PUBLIC_URL: PUBLIC } });
    try {
      // The Host header is the listening address here: a page served from it
      // (or from a name rebound to it) is not the public origin.
      const reached = await handshake(named.wsUrl, { origin: named.url });
      expect(reached).toMatchObject({ status: 403 });
      expect(JSON.parse((reached as { body: string }).body)).toMatchObject({ error: { code: 'origin_not_allowed' } });
      for (const headers of [{ origin: PUBLIC }, {}] as Record<string, string>[]) {
        const outcome = await handshake(named.wsUrl, headers);
        expect(outcome, JSON.stringify(headers)).toMatchObject({ opened: true });
        (outcome as { socket: WebSocket }).socket.close();
      }
    } finally {
      await named.stop();
    }
  });
});

describe('the heartbeat', () => {
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({ env: { PARLEY_WS_PING_INTERVAL_MS: '200', PARLEY_WS_MAX_MISSED_PONGS: '2' } });
    return () => parley.stop();
  });

  test('a socket that stops answering pings is dropped and its user goes offline; one that answers stays', async () => {
    const api = apiOf(parley.url);
    const [watcher, silent] = await api.users(2, 'beat');
    await befriend(api, watcher!, silent!);
    const watcherWs = await WsClient.connect(parley.wsUrl, watcher!.token);

    // A client whose network vanished: it never answers a ping.
    const mute = new WebSocket(`${parley.wsUrl}?token=${silent!.token}`, { autoPong: false });
    const closed = new Promise<number>((resolve) => mute.once('close', (code) => resolve(code)));
    await watcherWs.next((f) => f.type === 'PRESENCE' && f.data.user_id === silent!.id && f.data.online === true);
    // Dropped without a close frame: the peer is presumed gone (API.md: 1006).
    expect(await closed).toBe(1006);
    const offline = await watcherWs.next(
      (f) => f.type === 'PRESENCE' && f.data.user_id === silent!.id && f.data.online === false,
    );
    expect(offline.data.last_seen_at).toEqual(expect.any(Number));

    // The watcher's own socket answers (ws does by default) and outlives several intervals.
    let pings = 0;
    const raw = watcherWs.socket;
    raw.on('ping', () => pings++);
    await eventually(() => pings >= 5, 'five pings answered');
    expect(raw.readyState).toBe(WebSocket.OPEN);
    await watcherWs.close();
  });
});

describe('caps and timeouts', () => {
  let parley: ParleyProcess;
  beforeAll(async () => {
    parley = await startParley({
      env: {
        PARLEY_WS_MAX_UNAUTHENTICATED_PER_IP: '3',
        PARLEY_MAX_CONNECTIONS_PER_IP: '12',
        PARLEY_HTTP_HEADERS_TIMEOUT_MS: '1000',
        PARLEY_HTTP_REQUEST_TIMEOUT_MS: '1500',
        PARLEY_HTTP_KEEPALIVE_TIMEOUT_MS: '1000',
        PARLEY_HTTP_LISTEN_BACKLOG: '77',
      },
    });
    return () => parley.stop();
  });

  test("the kernel queues PARLEY_HTTP_LISTEN_BACKLOG connections for the server (a reconnect storm's burst), not Node's 511", () => {
    // For a listening socket, `ss` reports the backlog the server asked for as Send-Q.
    const port = new URL(parley.url).port;
    const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim();
    const [, , sendQ] = line.split(/\s+/);
    expect(Number(sendQ)).toBe(77);
  });

  test('an address holds at most the cap of sockets that have not authenticated; one that authenticates frees its place', async () => {
    const waiting: WebSocket[] = [];
    for (let i = 0; i < 3; i++) {
      const outcome = await handshake(parley.wsUrl, {});
      expect(outcome).toMatchObject({ opened: true });
      waiting.push((outcome as { socket: WebSocket }).socket);
    }
    const fourth = await handshake(parley.wsUrl, {});
    expect(fourth).toMatchObject({ status: 429 });
    expect(JSON.parse((fourth as { body: string }).body)).toMatchObject({ error: { code: 'too_many_connections' } });

    const user = await registerUser(parley.url, 'capauth');
    const authed = new Promise<void>((resolve) =>
      waiting[0]!.on('message', (raw: Buffer) => {
        if ((JSON.parse(raw.toString()) as { type: string }).type === 'AUTH_SUCCESS') resolve();
      }),
    );
    waiting[0]!.send(JSON.stringify({ type: 'AUTH', data: { token: user.token } }));
    await authed;
    const next = await handshake(parley.wsUrl, {});
    expect(next).toMatchObject({ opened: true });
    for (const socket of [...waiting, (next as { socket: WebSocket }).socket]) socket.close();
  });

  /**
   * Opens a raw connection, sends `start`, then one more byte of `trickle`
   * every 200 ms; resolves with all the server answered once it closes.
   */
  async function trickled(start: string, trickle: string): Promise<string> {
    const socket = net.connect(Number(new URL(parley.url).port), '127.0.0.1');
    // The server cutting the connection is the point: a byte sent after its
    // close earns a reset, which is no failure here ('close' follows).
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(start);
    let sent = 0;
    const timer = setInterval(() => socket.write(trickle[sent++ % trickle.length]!), 200);
    await ended;
    clearInterval(timer);
    return answer;
  }

  test('a body trickled slower than the request timeout is cut off (408), not held', async () => {
    const answer = await trickled(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
      '{',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  test('headers trickled slower than the headers timeout are cut off (408), not held', async () => {
    const answer = await trickled('GET /healthz HTTP/1.1\r\nHost: x\r\n', 'X-Slow: a\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  test('an idle keep-alive connection is closed by the server after the advertised keep-alive timeout', async () => {
    const socket = net.connect(Number(new URL(parley.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await eventually(() => answer.includes('{"status":"ok"}'), 'the answer');
    // Clients size their connection reuse by this header (whole seconds).
    expect(answer).toMatch(/^keep-alive: timeout=1\r$/im);
    await ended; // the client never closes it: the server does
  });

  test('an open WebSocket is not cut by the HTTP timeouts: it outlives a request they cut off', async () => {
    const user = await registerUser(parley.url, 'outlive');
    const client = await WsClient.connect(parley.wsUrl, user.token);
    // This request is cut only after the request timeout, counted from after the socket opened.
    const cut = await trickled(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
      '{',
    );
    expect(cut).toMatch(/^HTTP\/1\.1 408/);
    expect(client.closeCode).toBeNull();
    await barrier(client); // a PING still gets its PONG
    await client.close();
  });

  test('connections beyond the cap per address are cut at once; the server still answers the others', async () => {
    const port = Number(new URL(parley.url).port);
    const open: net.Socket[] = [];
    const connect = () =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
        socket.on('error', () => undefined); // the server cuts the extra one: a reset is expected
      });
    for (let i = 0; i < 12; i++) open.push(await connect());
    const extra = await connect();
    await new Promise<void>((resolve) => extra.once('close', () => resolve()));
    open.pop()!.destroy();
    await eventually(
      async () =>
        (await fetch(`${parley.url}/healthz`).then(
          (r) => r.status,
          () => 0,
        )) === 200,
      'a free place',
    );
    for (const socket of open) socket.destroy();
  });
});

test('behind the trusted proxy, a forged X-Forwarded-For does not escape a per-IP limit; another client is not held by it', async () => {
  const parley = await startParley({ env: { PARLEY_TRUST_PROXY: 'true', PARLEY_REGISTER_MAX_PER_IP: '3' } });
  try {
    // What nginx sends: the client's own header, then the address nginx saw.
    const register = (forged: string, client: string) =>
      request(parley.url, 'POST', '/api/v1/auth/register', {
        headers: { 'x-forwarded-for': `${forged}, ${client}` },
        body: {
          username: `xff_${forged.replaceAll('.', '_')}`,
          email: `${forged}@example.com`,
          password: 'correct horse battery',
        },
      });
    for (let i = 1; i <= 3; i++) expect((await register(`1.1.1.${i}`, '198.51.100.7')).status).toBe(201);
    const fourth = await register('1.1.1.4', '198.51.100.7');
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await register('1.1.1.5', '198.51.100.8')).status).toBe(201);
  } finally {
    await parley.stop();
  }
});

test('the data dir and every file Parley writes in it are for its own user only (0700 / 0600)', async () => {
  const dataDir = tempDataDir('parley-perms-');
  fs.chmodSync(dataDir, 0o755); // as an older version, or a careless operator, made it
  const parley = await startParley({ dataDir });
  try {
    await registerUser(parley.url, 'perms');
    expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
    const entries = fs.readdirSync(dataDir, { recursive: true, withFileTypes: true });
    const modeOf = (entry: fs.Dirent) => (fs.statSync(path.join(entry.parentPath, entry.name)).mode & 0o777).toString(8);
    const files = entries.filter((entry) => entry.isFile());
    // Both signing keys, the registration's mail, and (embedded) the event log and read models.
    const embeddedStores = e2eMode === 'embedded' ? ['log.sqlite', 'read-models.sqlite'] : [];
    expect(files.map((f) => f.name)).toEqual(
      expect.arrayContaining([...embeddedStores, 'jwt-signing-key.json', 'upload-signing-key']),
    );
    for (const file of files) expect(`${file.name} ${modeOf(file)}`).toBe(`${file.name} 600`);
    const dirs = entries.filter((entry) => entry.isDirectory());
    expect(dirs.map((d) => d.name)).toContain('mail');
    for (const dir of dirs) expect(`${dir.name} ${modeOf(dir)}`).toBe(`${dir.name} 700`);
  } finally {
    await parley.stop();
  }
});
