// The fault proxy against a tiny echo server: each fault looks to a client the
// way the proxy's header promises, and heal() brings the traffic back.

import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

let echo: net.Server;
let echoPort: number;
let proxy: FaultProxy;

/** A client socket with everything it received and how it ended. */
async function connect(port: number): Promise<{
  socket: net.Socket;
  received: () => string;
  ended: Promise<string>;
}> {
  const socket = net.connect({ host: '127.0.0.1', port });
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  const ended = new Promise<string>((resolve) => {
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.on('close', () => resolve('closed'));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => data, ended };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await sleep(10);
  }
}

beforeAll(async () => {
  echo = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as net.AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});
afterEach(async () => {
  await proxy.close();
});

describe('fault proxy', () => {
  test('forwards both ways while healthy', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    const c = await connect(proxy.port);
    c.socket.write('hello');
    await until(() => c.received() === 'hello');
    expect(proxy.stats).toMatchObject({ accepted: 1, open: 1, bytesToServer: 5, bytesToClient: 5 });
    c.socket.destroy();
  });

  test('latency delays every chunk, in order', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    const c = await connect(proxy.port);
    proxy.setLatency(150);
    const sent = Date.now();
    c.socket.write('a');
    c.socket.write('b');
    await sleep(100);
    expect(c.received(), 'nothing yet within the first 100 ms (150 ms each way)').toBe('');
    await until(() => c.received() === 'ab');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(300);
    c.socket.destroy();
  });

  test('resetAll resets open connections; new ones work', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    const c = await connect(proxy.port);
    proxy.resetAll();
    expect(await c.ended).toBe('ECONNRESET');
    const d = await connect(proxy.port);
    d.socket.write('again');
    await until(() => d.received() === 'again');
    d.socket.destroy();
  });

  test('blackhole: connections stay open, nothing passes; heal delivers what was held', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    const c = await connect(proxy.port);
    proxy.blackhole(true);
    c.socket.write('lost?');
    const d = await connect(proxy.port); // accepted while blackholed
    d.socket.write('late');
    await sleep(300);
    expect([c.received(), d.received(), c.socket.destroyed, d.socket.destroyed]).toEqual(['', '', false, false]);
    proxy.heal();
    await until(() => c.received() === 'lost?' && d.received() === 'late');
    c.socket.destroy();
    d.socket.destroy();
  });

  test('halfOpen: the client side stays open and hears nothing ever again; new connections work', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    const c = await connect(proxy.port);
    proxy.halfOpen();
    c.socket.write('anyone?');
    proxy.heal();
    await sleep(300);
    expect([c.received(), c.socket.destroyed, proxy.stats.halfOpened]).toEqual(['', false, 1]);
    const d = await connect(proxy.port);
    d.socket.write('fresh');
    await until(() => d.received() === 'fresh');
    c.socket.destroy();
    d.socket.destroy();
  });

  test('refuse: new connections are reset at once until healed', async () => {
    proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort } });
    proxy.refuse(true);
    const c = await connect(proxy.port).catch((error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error));
    const outcome = typeof c === 'string' ? c : await c.ended;
    expect(outcome).toBe('ECONNRESET');
    expect(proxy.stats.refused).toBe(1);
    proxy.heal();
    const d = await connect(proxy.port);
    d.socket.write('open');
    await until(() => d.received() === 'open');
    d.socket.destroy();
  });
});
