// Frames written by socket-output.ts straight to the TCP stream, read by a real
// ws client: the bytes must be exactly the messages ws itself would send.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createFrameWriter, textFrame } from './socket-output.ts';

interface Connected {
  server: WebSocket;
  stream: Duplex;
  received: string[];
  /** Resolves once the client holds `count` messages. */
  receive: (count: number) => Promise<string[]>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function connect(): Promise<Connected> {
  const http_ = http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const upgraded = new Promise<{ server: WebSocket; stream: Duplex }>((resolve) => {
    http_.on('upgrade', (request, stream, head) =>
      wss.handleUpgrade(request, stream, head, (server) => resolve({ server, stream })),
    );
  });
  await new Promise<void>((resolve) => http_.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http_.address() as AddressInfo).port}/`);
  cleanups.push(() => {
    client.terminate();
    wss.close();
    http_.close();
  });
  const received: string[] = [];
  const waiters: (() => void)[] = [];
  client.on('message', (data, isBinary) => {
    expect(isBinary).toBe(false);
    // A Buffer: ws's default binaryType is 'nodebuffer'.
    received.push((data as Buffer).toString());
    for (const wake of waiters.splice(0)) wake();
  });
  const { server, stream } = await upgraded;
  await new Promise((resolve) => client.once('open', resolve));
  const receive = async (count: number) => {
    while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    return received;
  };
  return { server, stream, received, receive };
}

describe('socket output', () => {
  it('frames text of every header size so a ws client reads the same messages', async () => {
    const { stream, receive } = await connect();
    const write = createFrameWriter();
    // 7-bit, 16-bit and 64-bit payload lengths, their boundaries, an empty frame and multi-byte UTF-8.
    const texts = [
      '',
      'a',
      'x'.repeat(125),
      'y'.repeat(126),
      'z'.repeat(65_535),
      'w'.repeat(65_536),
      'héllo 👋 مرحبا',
      '{"type":"PING"}',
    ];
    for (const text of texts) write(stream, textFrame(text));
    expect(await receive(texts.length)).toEqual(texts);
  });

  it('holds the frames of one pass and writes them together once it is done, in order', async () => {
    const { stream, receive, received } = await connect();
    const write = createFrameWriter();
    write(stream, textFrame('one'));
    write(stream, textFrame('two'));
    write(stream, textFrame('three'));
    // Nothing has left yet: the stream is corked until the pass ends.
    expect(stream.writableCorked).toBe(1);
    expect(stream.writableLength).toBeGreaterThan(0);
    await Promise.resolve(); // a microtask is still the same pass
    expect(stream.writableCorked).toBe(1);
    expect(await receive(3)).toEqual(['one', 'two', 'three']);
    expect(stream.writableCorked).toBe(0);
    // The next pass corks again.
    write(stream, textFrame('four'));
    expect(stream.writableCorked).toBe(1);
    expect(await receive(4)).toEqual(['one', 'two', 'three', 'four']);
    expect(received).toHaveLength(4);
  });

  it('keeps the order of frames ws writes itself in the same pass', async () => {
    const { server, stream, receive } = await connect();
    const write = createFrameWriter();
    write(stream, textFrame('ours 1'));
    server.send('ws 1');
    write(stream, textFrame('ours 2'));
    server.send('ws 2');
    expect(await receive(4)).toEqual(['ours 1', 'ws 1', 'ours 2', 'ws 2']);
  });

  it('counts held frames in ws bufferedAmount, which the slow-socket limit reads', async () => {
    const { server, stream, receive } = await connect();
    const write = createFrameWriter();
    const frame = textFrame('p'.repeat(1_000));
    write(stream, frame);
    write(stream, frame);
    expect(server.bufferedAmount).toBe(2 * frame.length);
    await receive(2);
  });
});
