// Minimal HTTP and WebSocket clients for end-to-end tests: real fetch, real ws.

import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { JsonObject, Session } from './wire.ts';

/** A response; the body is what the caller expects (`T`), a JSON object when it says nothing. */
export interface ApiResponse<T = JsonObject> {
  status: number;
  headers: Headers;
  body: T;
}

/** One request; the body is parsed as JSON when there is one. */
export async function request<T = JsonObject>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  const response = await fetchOnFreshSocketIfStale(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/**
 * fetch, sent once more when it went out on a kept-alive connection the
 * server had just closed as idle (undici: "other side closed", nothing of a
 * response read). The server never saw that request — it closes only idle
 * connections — so sending it again cannot repeat it. fetch reuses an idle
 * connection until just before the server's keep-alive timeout; on a machine
 * whose event loop lags by more than that margin (two cores, many suites) the
 * two ends race, as browsers do, which also retry in that case.
 */
async function fetchOnFreshSocketIfStale(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code !== 'UND_ERR_SOCKET' || cause.message !== 'other side closed') throw error;
    return fetch(url, init);
  }
}

export interface TestUser {
  id: string;
  username: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

let counter = 0;
/** Registers a fresh user with a unique name. */
export async function registerUser(baseUrl: string, prefix = 'user'): Promise<TestUser> {
  const suffix = `${Date.now().toString(36)}${(counter++).toString(36)}${randomUUID().slice(0, 4)}`;
  return registerNamedUser(baseUrl, `${prefix}_${suffix}`.slice(0, 32));
}

/** Registers a user under exactly this name (one a setting names, such as PARLEY_ADMINS). */
export async function registerNamedUser(baseUrl: string, username: string): Promise<TestUser> {
  const email = `${username}@example.com`;
  const password = 'correct horse battery staple';
  const response = await request<Session>(baseUrl, 'POST', '/api/v1/auth/register', { body: { username, email, password } });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return {
    id: response.body.user.id,
    username,
    email,
    password,
    token: response.body.access_token,
    refreshToken: response.body.refresh_token,
  };
}

/** A frame; `data` is what the caller expects (`D`), a JSON object when it says nothing. */
export interface Frame<D = JsonObject> {
  type: string;
  ref?: string;
  timestamp: number;
  data: D;
}

/** A WebSocket client that records every frame and lets a test wait for one. */
export class WsClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  closeCode: number | null = null;
  readonly #waiters: { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void; reject: (error: Error) => void }[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options: { token?: string } = {}) {
    this.socket = new WebSocket(options.token === undefined ? url : `${url}?token=${encodeURIComponent(options.token)}`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code) => {
        this.closeCode = code;
        resolve(code);
        // No frame comes any more: a waiter hears so now, not at its timeout.
        for (const waiter of this.#waiters.splice(0)) {
          waiter.reject(new Error(`socket closed (${code}) before a matching frame; got: ${this.#frameTypes()}`));
        }
      }),
    );
    this.socket.on('message', (raw) => {
      // A Buffer: ws's default binaryType is 'nodebuffer'.
      const frame = JSON.parse((raw as Buffer).toString()) as Frame;
      this.frames.push(frame);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const waiter = this.#waiters[i]!;
        if (waiter.match(frame)) {
          this.#waiters.splice(i, 1);
          waiter.resolve(frame);
        }
      }
    });
  }

  /** Opens a socket authenticated with ?token= and waits for AUTH_SUCCESS. */
  static async connect(wsUrl: string, token: string): Promise<WsClient> {
    const client = new WsClient(wsUrl, { token });
    await client.opened;
    await client.next((frame) => frame.type === 'AUTH_SUCCESS');
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame with a fresh ref and resolves with the reply carrying that ref (its data as the caller expects, `D`). */
  async call<D = JsonObject>(type: string, data?: unknown): Promise<Frame<D>> {
    const ref = randomUUID();
    const reply = this.next<D>((frame) => frame.ref === ref);
    this.send({ type, ref, timestamp: Date.now(), data });
    return reply;
  }

  /** The first frame (already received or future) that matches, within a bounded time; its data as the caller expects (`D`). */
  next<D = JsonObject>(match: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame<D>> {
    const seen = this.frames.find(match);
    if (seen !== undefined) return Promise.resolve(seen as Frame<D>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.findIndex((w) => w.resolve === done);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got: ${this.#frameTypes()}`));
      }, timeoutMs);
      const done = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame as Frame<D>);
      };
      const failed = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      if (this.closeCode !== null) {
        failed(new Error(`socket closed (${this.closeCode}) before a matching frame; got: ${this.#frameTypes()}`));
        return;
      }
      this.#waiters.push({ match, resolve: done, reject: failed });
    });
  }

  #frameTypes(): string {
    return this.frames.map((f) => f.type).join(',');
  }

  /** Waits until `count` frames match (e.g. N NEW_MESSAGE frames). */
  async waitForCount(match: (frame: Frame) => boolean, count: number, timeoutMs = 10_000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.filter(match).length < count) {
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} frames, got ${this.frames.filter(match).length}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.frames.filter(match);
  }

  close(): Promise<number> {
    this.socket.close();
    return this.closed;
  }
}

/** Opens a socket with ?token=; returns 'opened' or the rejection text ("handshake refused: 401"). */
export async function wsHandshake(wsUrl: string, token: string): Promise<string> {
  const client = new WsClient(wsUrl, { token });
  client.socket.on('error', () => undefined);
  try {
    await client.opened;
    return 'opened';
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.socket.terminate();
  }
}
