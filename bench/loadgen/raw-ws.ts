// A minimal WebSocket client on a raw TCP socket, cheap enough that the load
// generator is not the bottleneck: an HTTP/1.1 upgrade, an unmasked-frame
// parser that hands out (buffer, start, end) views without copying or
// decoding, and client frames masked with an all-zero key (RFC 6455 requires
// the mask bit; a zero key leaves the payload bytes as they are, so no XOR).
// Text payloads are never turned into strings here; protocol code scans them.

import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface RawWsHandlers {
  /** A complete text or binary message: bytes start..end of buf (valid only during the call). */
  onMessage(buf: Buffer, start: number, end: number): void;
  onClose?(reason: string): void;
}

const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;

export class RawWs {
  readonly socket: net.Socket;
  closed = false;
  #pending: Buffer | null = null;
  #handshaken = false;
  #fragments: Buffer[] | null = null;
  readonly #handlers: RawWsHandlers;
  readonly opened: Promise<void>;

  constructor(host: string, port: number, path: string, handlers: RawWsHandlers) {
    this.#handlers = handlers;
    this.socket = net.connect({ host, port, noDelay: true });
    let resolveOpen!: () => void;
    let rejectOpen!: (error: Error) => void;
    this.opened = new Promise((resolve, reject) => {
      resolveOpen = resolve;
      rejectOpen = reject;
    });
    const key = randomBytes(16).toString('base64');
    this.socket.once('connect', () => {
      this.socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.socket.on('data', (chunk: Buffer) => {
      if (this.#handshaken) {
        this.#frames(chunk);
        return;
      }
      const head = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
      const endOfHead = head.indexOf('\r\n\r\n');
      if (endOfHead < 0) {
        this.#pending = head;
        return;
      }
      this.#pending = null;
      const statusLine = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!statusLine.startsWith('HTTP/1.1 101')) {
        rejectOpen(new Error(`upgrade refused: ${head.toString('utf8', 0, Math.min(head.length, 300))}`));
        this.socket.destroy();
        return;
      }
      this.#handshaken = true;
      resolveOpen();
      if (endOfHead + 4 < head.length) this.#frames(head.subarray(endOfHead + 4));
    });
    this.socket.on('error', (error) => {
      if (!this.#handshaken) rejectOpen(error);
      this.#close(`error: ${error.message}`);
    });
    this.socket.on('close', () => {
      if (!this.#handshaken) rejectOpen(new Error('closed before the upgrade'));
      this.#close('tcp closed');
    });
  }

  #close(reason: string) {
    if (this.closed) return;
    this.closed = true;
    this.#handlers.onClose?.(reason);
  }

  /** Parses every complete frame in pending + chunk; keeps the incomplete tail. */
  #frames(chunk: Buffer) {
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    let at = 0;
    const length = buf.length;
    while (length - at >= 2) {
      const b0 = buf[at]!;
      const b1 = buf[at + 1]!;
      let payloadLength = b1 & 0x7f;
      let header = 2;
      if (payloadLength === 126) {
        if (length - at < 4) break;
        payloadLength = buf.readUInt16BE(at + 2);
        header = 4;
      } else if (payloadLength === 127) {
        if (length - at < 10) break;
        payloadLength = Number(buf.readBigUInt64BE(at + 2));
        header = 10;
      }
      if ((b1 & 0x80) !== 0) header += 4; // servers never mask; tolerate it anyway (payload left masked)
      const start = at + header;
      const end = start + payloadLength;
      if (end > length) break;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      if (opcode === OP_TEXT || opcode === OP_BINARY) {
        if (fin) this.#handlers.onMessage(buf, start, end);
        else this.#fragments = [Buffer.from(buf.subarray(start, end))];
      } else if (opcode === OP_CONT && this.#fragments !== null) {
        this.#fragments.push(Buffer.from(buf.subarray(start, end)));
        if (fin) {
          const whole = Buffer.concat(this.#fragments);
          this.#fragments = null;
          this.#handlers.onMessage(whole, 0, whole.length);
        }
      } else if (opcode === OP_PING) {
        this.#control(0x8a, buf.subarray(start, end));
      } else if (opcode === OP_CLOSE) {
        const code = payloadLength >= 2 ? buf.readUInt16BE(start) : 1005;
        const why = buf.toString('utf8', Math.min(start + 2, end), end);
        this.#close(`close ${code} ${why}`);
        this.socket.end();
        return;
      }
      at = end;
    }
    if (at < length) this.#pending = Buffer.from(buf.subarray(at));
  }

  #control(firstByte: number, payload: Buffer) {
    const frame = Buffer.alloc(6 + payload.length);
    frame[0] = firstByte;
    frame[1] = 0x80 | payload.length;
    payload.copy(frame, 6);
    this.socket.write(frame);
  }

  /** Sends one masked text frame (all-zero masking key). */
  sendText(text: string): void {
    if (this.closed) return;
    const payloadLength = Buffer.byteLength(text);
    const header = payloadLength < 126 ? 6 : payloadLength < 65536 ? 8 : 14;
    const frame = Buffer.allocUnsafe(header + payloadLength);
    frame[0] = 0x81;
    if (payloadLength < 126) {
      frame[1] = 0x80 | payloadLength;
    } else if (payloadLength < 65536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(payloadLength, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(payloadLength), 2);
    }
    frame.writeUInt32BE(0, header - 4);
    frame.write(text, header, 'utf8');
    this.socket.write(frame);
  }

  /** Drops the connection without a close handshake. */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/** True when bytes at buf[at..] equal `needle` (a short ASCII prefix). */
export function startsWithAt(buf: Buffer, at: number, needle: Buffer): boolean {
  if (at + needle.length > buf.length) return false;
  for (let i = 0; i < needle.length; i++) if (buf[at + i] !== needle[i]) return false;
  return true;
}

/**
 * The non-negative integer that follows `marker` between start and end
 * (e.g. `"client_msg_id":"` → 1234), or -1 when absent.
 */
export function intAfter(buf: Buffer, start: number, end: number, marker: Buffer): number {
  const at = buf.indexOf(marker, start);
  if (at < 0 || at >= end) return -1;
  let value = 0;
  let i = at + marker.length;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? -1 : value;
}
